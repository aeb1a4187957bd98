//! The flags of `nagare bench`: one subcommand per scenario, with bounds that keep a typo from
//! tying the machine up.

use std::str::FromStr;

use clap::builder::TypedValueParser;
use clap::{Args, Subcommand};
use nagare_consumers::ProjectionConfig;

/// `nagare bench …`: one scenario per subcommand.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Raw batched durable appends through the log, on a fresh topic, against the storage
    /// engine's own batched durable write rate on the same disk.
    Append(BenchAppendArgs),
    /// Concurrent HTTP clients sending durable `addStock` mutations through /graphql to a
    /// fresh `nagare serve` (this binary, as a child process, on a temporary data directory;
    /// with --log, on that broker).
    ///
    /// Without --rate each client sends its next command once the last is answered
    /// (throughput); with --rate the commands are due at that total rate and latency counts
    /// from when each was due, so a stalled server cannot hide its delays.
    Commands(BenchCommandsArgs),
    /// The projections of `nagare serve` on a fresh read store, over a log pre-filled with a
    /// generated shop history, timed until every event is applied; beside them, reading and
    /// decoding the same events from the log alone.
    Project(BenchProjectArgs),
    /// A full rebuild of the read models from a long log (1,000,000 events by default): the
    /// projections from the first offset on an empty store, with the time and memory it takes.
    Replay(BenchReplayArgs),
    /// Read-your-write through a fresh `nagare serve`: open-loop `addStock` mutations, each
    /// timed from when it was due until a query shows it — first `EVENTUAL` (the client queries
    /// until the product has the receipt's version), then `STRONG` (the answer itself).
    E2e(BenchE2eArgs),
}

/// Where a benchmark keeps its temporary data.
#[derive(Debug, Args)]
pub(crate) struct ScratchArgs {
    /// Directory under which the benchmark makes (and removes) its temporary data; the
    /// default, the current directory, is on the disk `./nagare-data` would use.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub(crate) scratch_dir: std::path::PathBuf,
}

/// Flags of `nagare bench append`.
#[derive(Debug, Args)]
pub(crate) struct BenchAppendArgs {
    /// The log to append to (`embedded://PATH` or `kafka://HOST:PORT`); by default a fresh
    /// embedded log in a temporary directory.
    #[arg(long, value_name = "URL")]
    pub(crate) log: Option<String>,

    /// Bytes in each record's value.
    #[arg(long, default_value_t = 100, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(1..=1024 * 1024).map(|n| n as usize))]
    pub(crate) record_size: usize,

    /// Records per append (each append is one durable write).
    #[arg(long, default_value_t = 1000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000).map(|n| n as usize))]
    pub(crate) batch: usize,

    /// Concurrent appending tasks.
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1024).map(|n| n as usize))]
    pub(crate) writers: usize,

    /// Records in total, shared among the writers.
    #[arg(long, default_value_t = 2_000_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) records: u64,

    #[command(flatten)]
    pub(crate) scratch: ScratchArgs,
}

/// Flags of `nagare bench commands`.
#[derive(Debug, Args)]
pub(crate) struct BenchCommandsArgs {
    /// Concurrent HTTP clients (keep-alive connections).
    #[arg(long, default_value_t = 64, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=4096).map(|n| n as usize))]
    pub(crate) clients: usize,

    /// How long the load runs: a number with `ms`, `s` or `m`.
    #[arg(long, default_value = "10s", value_name = "TIME")]
    pub(crate) duration: BenchDuration,

    /// The server's log: by default the embedded log in its temporary data directory; a
    /// `kafka://` URL runs the server on that broker under a fresh topic prefix.
    #[arg(long, value_name = "URL")]
    pub(crate) log: Option<String>,

    /// Total commands per second, sent open loop; without it, closed loop at full speed.
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub(crate) rate: Option<f64>,

    #[command(flatten)]
    pub(crate) scratch: ScratchArgs,
}

/// Flags of `nagare bench project`.
#[derive(Debug, Args)]
pub(crate) struct BenchProjectArgs {
    /// The log to fill (`embedded://PATH` or `kafka://HOST:PORT`); by default a fresh embedded
    /// log in a temporary directory. Topics get a fresh prefix on every run.
    #[arg(long, value_name = "URL")]
    pub(crate) log: Option<String>,

    /// Events in the generated history.
    #[arg(long, default_value_t = 200_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub(crate) events: u64,

    #[command(flatten)]
    pub(crate) projections: BenchProjectionArgs,

    #[command(flatten)]
    pub(crate) scratch: ScratchArgs,
}

/// Flags of `nagare bench replay`.
#[derive(Debug, Args)]
pub(crate) struct BenchReplayArgs {
    /// The log to fill (`embedded://PATH` or `kafka://HOST:PORT`); by default a fresh embedded
    /// log in a temporary directory. Topics get a fresh prefix on every run.
    #[arg(long, value_name = "URL")]
    pub(crate) log: Option<String>,

    /// Events in the log to rebuild from.
    #[arg(long, default_value_t = 1_000_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub(crate) events: u64,

    #[command(flatten)]
    pub(crate) projections: BenchProjectionArgs,

    #[command(flatten)]
    pub(crate) scratch: ScratchArgs,
}

/// How `project` and `replay` run the projections: as `nagare serve` does, unless told.
#[derive(Debug, Args)]
pub(crate) struct BenchProjectionArgs {
    /// Memory each projection may use for the rows it recently read and wrote, in MiB, as
    /// `nagare serve --row-cache-mib`.
    #[arg(long, default_value_t = ProjectionConfig::DEFAULT_ROW_CACHE_BYTES >> 20,
          value_name = "MIB", value_parser = clap::value_parser!(u64).range(0..=1 << 20))]
    pub(crate) row_cache_mib: u64,

    /// Members of each projection's consumer group (1–64), as `nagare serve
    /// --projection-workers`; without it, serve's default on this log.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) projection_workers: Option<u16>,
}

/// Flags of `nagare bench e2e`.
#[derive(Debug, Args)]
pub(crate) struct BenchE2eArgs {
    /// Mutations per second, sent open loop.
    #[arg(long, default_value_t = 1000.0, value_name = "R", value_parser = parse_rate)]
    pub(crate) rate: f64,

    /// How long each phase (EVENTUAL, then STRONG) runs: a number with `ms`, `s` or `m`.
    #[arg(long, default_value = "10s", value_name = "TIME")]
    pub(crate) duration: BenchDuration,

    /// The server's log: by default the embedded log in its temporary data directory; a
    /// `kafka://` URL runs the server on that broker under a fresh topic prefix.
    #[arg(long, value_name = "URL")]
    pub(crate) log: Option<String>,

    #[command(flatten)]
    pub(crate) scratch: ScratchArgs,
}

/// Longest benchmark run accepted, so a typo cannot tie the machine up for days.
const MAX_BENCH_SECONDS: u64 = 3600;

/// A run length such as `10s`, `500ms` or `2m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BenchDuration(pub(crate) std::time::Duration);

impl FromStr for BenchDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (number, millis_per_unit) = if let Some(n) = text.strip_suffix("ms") {
            (n, 1)
        } else if let Some(n) = text.strip_suffix('s') {
            (n, 1000)
        } else if let Some(n) = text.strip_suffix('m') {
            (n, 60_000)
        } else {
            return Err(format!("`{text}` needs a unit: `ms`, `s` or `m` (as in `10s`)"));
        };
        let number: u64 = number
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a whole number and unit"))?;
        let millis = number.saturating_mul(millis_per_unit);
        if millis == 0 || millis > MAX_BENCH_SECONDS * 1000 {
            return Err(format!("must be between 1ms and {MAX_BENCH_SECONDS}s, not `{text}`"));
        }
        Ok(BenchDuration(std::time::Duration::from_millis(millis)))
    }
}

/// Highest open-loop rate accepted, in commands per second.
const MAX_BENCH_RATE: f64 = 10_000_000.0;

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.trim().parse().map_err(|_| format!("`{text}` is not a number"))?;
    if !(rate.is_finite() && rate > 0.0 && rate <= MAX_BENCH_RATE) {
        return Err(format!("must be above 0 and at most {MAX_BENCH_RATE}, not `{text}`"));
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    #[test]
    fn bench_scenarios_take_their_flags_and_defaults() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter()).map(|cli| cli.command);
        let Ok(Command::Bench(BenchCommand::Append(append))) =
            parse(&["nagare", "bench", "append"])
        else {
            panic!("`bench append` did not parse")
        };
        assert_eq!((append.record_size, append.batch, append.writers), (100, 1000, 4));
        assert_eq!((append.records, append.log.as_deref()), (2_000_000, None));
        let Ok(Command::Bench(BenchCommand::Commands(commands))) =
            parse(&["nagare", "bench", "commands", "--duration", "500ms", "--rate", "10000"])
        else {
            panic!("`bench commands` did not parse")
        };
        assert_eq!(commands.clients, 64);
        assert_eq!(commands.duration.0, std::time::Duration::from_millis(500));
        assert_eq!(commands.rate, Some(10_000.0));
        for bad in [
            &["nagare", "bench", "append", "--record-size", "0"][..],
            &["nagare", "bench", "append", "--batch", "100001"],
            &["nagare", "bench", "commands", "--clients", "0"],
            &["nagare", "bench", "commands", "--rate", "-1"],
            &["nagare", "bench", "commands", "--duration", "10"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn bench_durations_need_a_unit_and_a_sane_length() {
        let seconds = |text: &str| text.parse::<BenchDuration>().map(|d| d.0.as_millis());
        assert_eq!(seconds("10s"), Ok(10_000));
        assert_eq!(seconds("250ms"), Ok(250));
        assert_eq!(seconds(" 2m "), Ok(120_000));
        for bad in ["10", "0s", "1h", "s", "-1s", "61m", "1.5s"] {
            assert!(seconds(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn projection_scenarios_default_to_their_sizes() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter()).map(|cli| cli.command);
        let Ok(Command::Bench(BenchCommand::Project(project))) =
            parse(&["nagare", "bench", "project"])
        else {
            panic!("`bench project` did not parse")
        };
        assert_eq!((project.events, project.log.as_deref()), (200_000, None));
        let Ok(Command::Bench(BenchCommand::Replay(replay))) =
            parse(&["nagare", "bench", "replay", "--log", "kafka://127.0.0.1:9092"])
        else {
            panic!("`bench replay` did not parse")
        };
        assert_eq!(replay.events, 1_000_000);
        assert_eq!(replay.log.as_deref(), Some("kafka://127.0.0.1:9092"));
        assert!(parse(&["nagare", "bench", "replay", "--events", "0"]).is_err());
        let projections = &replay.projections;
        assert_eq!((projections.row_cache_mib, projections.projection_workers), (128, None));
        let Ok(Command::Bench(BenchCommand::Replay(tuned))) = parse(&[
            "nagare",
            "bench",
            "replay",
            "--row-cache-mib",
            "128",
            "--projection-workers",
            "2",
        ]) else {
            panic!("`bench replay` with projection flags did not parse")
        };
        let projections = &tuned.projections;
        assert_eq!((projections.row_cache_mib, projections.projection_workers), (128, Some(2)));
        assert!(parse(&["nagare", "bench", "project", "--projection-workers", "0"]).is_err());
        let Ok(Command::Bench(BenchCommand::E2e(e2e))) = parse(&["nagare", "bench", "e2e"]) else {
            panic!("`bench e2e` did not parse")
        };
        assert_eq!((e2e.rate, e2e.duration.0.as_secs()), (1000.0, 10));
    }
}
