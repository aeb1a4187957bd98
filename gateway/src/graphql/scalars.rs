//! Custom scalars. Yen amounts and log offsets can exceed 32 bits, so they are their own
//! scalars serialised as JSON integers rather than GraphQL's 32-bit `Int`.

use async_graphql::{InputValueError, InputValueResult, Number, Scalar, ScalarType, Value};

/// An amount of Japanese yen: a whole number, 0 or more, as a JSON integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Yen(pub i64);

/// What a Yen input must look like, for error messages.
pub(crate) const YEN_RULE: &str = "a whole number of yen from 0 to 9223372036854775807, written as a JSON integer (no fraction, no quotes)";

impl Yen {
    fn from_value(value: &Value) -> Result<Yen, String> {
        let Value::Number(number) = value else {
            return Err(format!("expected {YEN_RULE}, got {value}"));
        };
        if let Some(amount) = number.as_i64() {
            return if amount < 0 {
                Err(format!("an amount cannot be negative (got {amount}); expected {YEN_RULE}"))
            } else {
                Ok(Yen(amount))
            };
        }
        if number.is_u64() {
            return Err(format!("{number} is too large; expected {YEN_RULE}"));
        }
        Err(format!("yen have no fractions (got {number}); expected {YEN_RULE}"))
    }
}

#[Scalar(name = "Yen")]
impl ScalarType for Yen {
    fn parse(value: Value) -> InputValueResult<Self> {
        Yen::from_value(&value).map_err(InputValueError::custom)
    }

    /// Checked during validation too, so the error names the argument path (`input.price`).
    fn is_valid(value: &Value) -> bool {
        Yen::from_value(value).is_ok()
    }

    fn to_value(&self) -> Value {
        Value::Number(Number::from(self.0))
    }
}

/// A position in a log partition: 0 or more, as a JSON integer (64 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset(pub u64);

#[Scalar(name = "Offset")]
impl ScalarType for Offset {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n.as_u64().map(Offset).ok_or_else(|| {
                InputValueError::custom(format!("an offset is a whole number, 0 or more (got {n})"))
            }),
            other => Err(InputValueError::expected_type(other.clone())),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::Number(n) if n.is_u64())
    }

    fn to_value(&self) -> Value {
        Value::Number(Number::from(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(json: &str) -> Value {
        Value::from_json(serde_json::from_str(json).expect("json")).expect("value")
    }

    #[test]
    fn yen_accepts_whole_non_negative_amounts_up_to_i64_max() {
        assert_eq!(Yen::parse(number("0")).ok(), Some(Yen(0)));
        assert_eq!(Yen::parse(number("1500")).ok(), Some(Yen(1500)));
        assert_eq!(Yen::parse(number("9223372036854775807")).ok(), Some(Yen(i64::MAX)));
    }

    #[test]
    fn yen_rejects_negative_fractional_out_of_range_and_strings() {
        for bad in ["-1", "12.5", "1.0e3", "9223372036854775808", "\"100\"", "null", "true"] {
            let value = number(bad);
            assert!(Yen::parse(value.clone()).is_err(), "{bad} must be rejected");
            assert!(!Yen::is_valid(&value), "{bad} must fail validation");
        }
    }

    #[test]
    fn yen_errors_say_what_was_wrong() {
        let message = |json: &str| Yen::from_value(&number(json)).err().unwrap_or_default();
        assert!(message("-5").contains("cannot be negative"));
        assert!(message("12.5").contains("no fractions"));
        assert!(message("9223372036854775808").contains("too large"));
    }

    #[test]
    fn yen_and_offset_serialise_as_json_integers() {
        assert_eq!(Yen(i64::MAX).to_value().into_json().ok(), Some(serde_json::json!(i64::MAX)));
        assert_eq!(Offset(u64::MAX).to_value().into_json().ok(), Some(serde_json::json!(u64::MAX)));
    }

    #[test]
    fn offset_rejects_negative_and_fractional_values() {
        assert!(Offset::parse(number("-1")).is_err());
        assert!(Offset::parse(number("1.5")).is_err());
        assert_eq!(Offset::parse(number("7")).ok(), Some(Offset(7)));
    }
}
