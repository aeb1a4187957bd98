//! Retention as people write it in the topic declaration (`forever`, `30d`, `12h`) and as the
//! log keeps it (milliseconds, `None` for forever).

/// Milliseconds per unit, largest first so that formatting picks the largest exact unit.
const UNITS: [(&str, i64); 4] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)];

/// Parses `forever` or a whole number with a unit (`d`, `h`, `m`, `s`) into milliseconds;
/// `None` means forever. The error says what is accepted.
pub(crate) fn parse_retention(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text == "forever" {
        return Ok(None);
    }
    let accepted = "`forever` or a whole number of days, hours, minutes or seconds (`30d`, `12h`, \
                    `90m`, `45s`)";
    let Some((number, per_unit)) = UNITS
        .iter()
        .find_map(|(unit, per_unit)| text.strip_suffix(unit).map(|number| (number, *per_unit)))
    else {
        return Err(format!("`{}` is not {accepted}", shorten(text)));
    };
    let count: i64 =
        number.parse().map_err(|_| format!("`{}` is not {accepted}", shorten(text)))?;
    if count < 1 {
        return Err(format!("`{text}` keeps nothing; it must be at least 1s, or `forever`"));
    }
    count.checked_mul(per_unit).map(Some).ok_or_else(|| {
        format!("`{text}` is longer than the log can hold ({} ms at most)", i64::MAX)
    })
}

/// The shortest exact form of a retention: `forever`, `30d`, `12h`, …, or `1500ms`.
/// A negative retention is how Kafka writes "forever" (`retention.ms=-1`).
pub(crate) fn format_retention(retention_ms: Option<i64>) -> String {
    let Some(ms) = retention_ms.filter(|ms| *ms >= 0) else {
        return "forever".to_owned();
    };
    UNITS
        .iter()
        .find(|(_, per_unit)| ms > 0 && ms % per_unit == 0)
        .map_or_else(|| format!("{ms}ms"), |(unit, per_unit)| format!("{}{unit}", ms / per_unit))
}

/// The same retention in the one form drift is judged on: Kafka's `-1` is forever.
pub(crate) fn normalized(retention_ms: Option<i64>) -> Option<i64> {
    retention_ms.filter(|ms| *ms >= 0)
}

/// Echoing a huge value back in an error helps nobody.
fn shorten(text: &str) -> String {
    const KEPT: usize = 40;
    if text.chars().count() <= KEPT {
        return text.to_owned();
    }
    let kept: String = text.chars().take(KEPT).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forever_and_every_unit_parse() {
        assert_eq!(parse_retention("forever"), Ok(None));
        assert_eq!(parse_retention("1d"), Ok(Some(86_400_000)));
        assert_eq!(parse_retention(" 30d "), Ok(Some(30 * 86_400_000)));
        assert_eq!(parse_retention("12h"), Ok(Some(12 * 3_600_000)));
        assert_eq!(parse_retention("90m"), Ok(Some(90 * 60_000)));
        assert_eq!(parse_retention("45s"), Ok(Some(45_000)));
    }

    #[test]
    fn nonsense_zero_and_overflow_are_refused_with_the_accepted_forms() {
        for bad in ["", "d", "30", "30 days", "1.5d", "-1d", "30w", "never", "1e3s"] {
            let message = parse_retention(bad).unwrap_err();
            assert!(message.contains("forever"), "{bad:?}: {message}");
        }
        assert!(parse_retention("0s").unwrap_err().contains("at least 1s"));
        let huge = format!("{}d", i64::MAX / 1000);
        assert!(parse_retention(&huge).unwrap_err().contains("at most"));
        let long = "9".repeat(500);
        assert!(parse_retention(&long).unwrap_err().len() < 200);
    }

    #[test]
    fn formatting_picks_the_largest_exact_unit() {
        assert_eq!(format_retention(None), "forever");
        assert_eq!(format_retention(Some(-1)), "forever");
        assert_eq!(format_retention(Some(86_400_000)), "1d");
        assert_eq!(format_retention(Some(36 * 3_600_000)), "36h");
        assert_eq!(format_retention(Some(604_800_000)), "7d");
        assert_eq!(format_retention(Some(1_500)), "1500ms");
        assert_eq!(format_retention(Some(0)), "0ms");
    }

    #[test]
    fn formatting_and_parsing_round_trip() {
        for text in ["1d", "30d", "36h", "90m", "45s", "forever"] {
            assert_eq!(parse_retention(text).map(format_retention).as_deref(), Ok(text));
        }
    }

    #[test]
    fn kafkas_minus_one_is_forever() {
        assert_eq!(normalized(Some(-1)), None);
        assert_eq!(normalized(None), None);
        assert_eq!(normalized(Some(5)), Some(5));
    }
}
