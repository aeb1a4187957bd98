//! The command line: `nagare serve` and its flags. Every flag has a default and reads an
//! environment variable, so a deployment can be configured either way.

use std::fmt;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use nagare_consumers::ProjectionConfig;

use crate::topology::MAX_PARTITIONS;

pub(crate) mod bench;
pub(crate) use bench::BenchCommand;

/// Nagare (流れ): event-sourced services with CQRS on a partitioned event log.
#[derive(Debug, Parser)]
#[command(name = "nagare", version, about, long_about = None)]
pub(crate) struct Cli {
    /// How log lines are written to stderr: `text` for people, `json` for log collectors.
    /// The level filter comes from RUST_LOG (default `info`, without a line per HTTP request).
    #[arg(long, global = true, env = "NAGARE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run Nagare: the GraphQL gateway, the command processor and the projections, in one
    /// process (or the subset named by --roles).
    Serve(ServeArgs),
    /// Declare the log's topics (`ensure`) and show them with their watermarks (`describe`).
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Write a whole log (every topic, partition, offset, header and timestamp, and the
    /// processor's committed offsets) to a portable file.
    ///
    /// Each partition is read up to its end as found at the start, so the export is consistent
    /// per partition; for a consistent cut across partitions, stop the server (or keep it idle)
    /// while exporting. The file is written under a temporary name and renamed once complete.
    ///
    /// The topics exported are those whose names start with --topic-prefix; the committed
    /// offsets are those of the command processor's group, PREFIX + `command-processor`.
    Export(ExportArgs),
    /// Load a file written by `nagare export` into a log, at the same partitions and offsets.
    ///
    /// The whole file is verified before anything is written. Importing the same file again
    /// is harmless, and an interrupted import resumes: records the log already holds are
    /// compared with the file's and the import continues after them.
    ///
    /// Topics keep the names they have in the file. A source topic whose offsets have gaps
    /// (compaction) cannot keep its offsets and is refused, except the snapshots topic (named
    /// by --topic-prefix, PREFIX + `snapshots`): snapshots are derived from the events, so it is
    /// left out with a warning and the command processor rebuilds from the events.
    Import(ImportArgs),
    /// Measure Nagare against its targets: prints a table and one JSON line on stdout, and a
    /// progress line a second on stderr. Build with `--release` for meaningful figures.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `nagare topics …`. The declaration is `infra/kafka/topics.toml`, compiled into the binary.
#[derive(Debug, Subcommand)]
pub(crate) enum TopicsCommand {
    /// Create the declared topics that are missing and report how existing ones differ.
    ///
    /// Prints one line per topic: `created`, `exists` (as declared) or `drift` (what differs).
    /// Existing topics are never altered. Exits 0 when every topic is as declared, created, or
    /// drifts harmlessly; exits 1 when the commands, events and snapshots topics do not share
    /// one partition count, which the command processor cannot run with.
    Ensure(TopicsArgs),
    /// Show every declared topic, and any other topic with the prefix: partitions and cleanup
    /// (declared/actual), retention, records, watermarks, and drift from the declaration.
    ///
    /// A missing topic is shown as missing, not as an error.
    Describe(DescribeArgs),
}

/// The log a command works on.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// The event log: `embedded://PATH` or `kafka://HOST:PORT[,HOST:PORT...]`.
    #[arg(
        long,
        env = "NAGARE_LOG",
        default_value = "embedded://./nagare-data",
        value_name = "URL"
    )]
    pub(crate) log: String,

    /// Prefix of every topic name (`PREFIX` + `commands`, `events.product`, …), so several
    /// deployments can share one Kafka cluster. Letters, digits, `.`, `_` and `-`.
    #[arg(long, env = "NAGARE_TOPIC_PREFIX", default_value = "nagare.", value_name = "PREFIX",
          value_parser = parse_topic_prefix)]
    pub(crate) topic_prefix: String,
}

/// Flags of `nagare topics ensure|describe`.
#[derive(Debug, Args)]
pub(crate) struct TopicsArgs {
    #[command(flatten)]
    pub(crate) log: LogArgs,

    /// Partitions the commands, events and snapshots topics should have (they share one
    /// count), instead of the count declared in infra/kafka/topics.toml. Existing topics are
    /// compared with it and keep their own; `ensure` creates a missing one with it, or with
    /// the count its existing siblings share. Replies and dead letters keep their declared
    /// counts.
    #[arg(long, env = "NAGARE_PARTITIONS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PARTITIONS)))]
    pub(crate) partitions: Option<u32>,
}

/// Flags of `nagare topics describe`.
#[derive(Debug, Args)]
pub(crate) struct DescribeArgs {
    #[command(flatten)]
    pub(crate) topics: TopicsArgs,

    /// Print one JSON document instead of the table, for scripts.
    #[arg(long)]
    pub(crate) json: bool,

    /// List every partition's low and high watermark and record count under its topic, instead
    /// of the compact `low..high` list (which shows the first 16 partitions).
    #[arg(long)]
    pub(crate) partitions_detail: bool,
}

/// Flags of `nagare export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    // `--topic-prefix` chooses the topics and the processor's group: see `Command::Export`.
    #[command(flatten)]
    pub(crate) log: LogArgs,

    /// The file to write; it must not exist yet.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: std::path::PathBuf,
}

/// Flags of `nagare import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    // `--topic-prefix` names the snapshots topic: see `Command::Import`.
    #[command(flatten)]
    pub(crate) log: LogArgs,

    /// A file written by `nagare export`.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) input: std::path::PathBuf,
}

/// Flags of `nagare serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address the HTTP server (GraphQL, health) listens on. Port 0 picks a free port; the
    /// chosen address is printed on stdout as `nagare listening on http://ADDR`.
    #[arg(long, env = "NAGARE_LISTEN", default_value = "0.0.0.0:4000", value_name = "ADDR")]
    pub(crate) listen: String,

    /// Where a process without the gateway role (a command processor, say) serves
    /// `/health/live` and `/health/ready`, so an orchestrator can probe it; none by default.
    /// Port 0 picks a free port; the start-up line names it (`nagare running ROLES, health on
    /// http://ADDR`). A gateway serves both on --listen.
    #[arg(long, env = "NAGARE_HEALTH_LISTEN", value_name = "ADDR")]
    pub(crate) health_listen: Option<String>,

    /// The event log, the source of truth. `embedded://PATH` keeps it on local disk.
    #[arg(
        long,
        env = "NAGARE_LOG",
        default_value = "embedded://./nagare-data",
        value_name = "URL"
    )]
    pub(crate) log: String,

    /// Prefix of every topic name (`PREFIX` + `commands`, `events.product`, …), so several
    /// deployments can share one Kafka cluster. Letters, digits, `.`, `_` and `-`.
    #[arg(long, env = "NAGARE_TOPIC_PREFIX", default_value = "nagare.", value_name = "PREFIX",
          value_parser = parse_topic_prefix)]
    pub(crate) topic_prefix: String,

    /// The read-model store the queries are served from. `embedded://PATH` keeps it on local
    /// disk; it may share the log's directory.
    #[arg(
        long,
        env = "NAGARE_STORE",
        default_value = "embedded://./nagare-data",
        value_name = "URL"
    )]
    pub(crate) store: String,

    /// Comma-separated roles this process runs: `gateway` serves HTTP, `commands` runs the
    /// command processor, `projections` keeps the read models up to date. Each role scales out
    /// by running more processes on the same log. With the embedded store every process that
    /// serves queries keeps its own full replica of the read models, so `gateway` there also
    /// starts `projections`; with a shared store a gateway may run without them.
    #[arg(
        long,
        env = "NAGARE_ROLES",
        value_enum,
        value_delimiter = ',',
        default_value = "gateway,commands,projections",
        value_name = "LIST"
    )]
    pub(crate) roles: Vec<Role>,

    /// Snapshot the aggregates of a command partition once N events (N ≥ 1) have been written
    /// in it since its last snapshot, or `never`. Snapshots only shorten rebuilds after a
    /// restart (at most N events per partition are replayed); the state is the same either
    /// way. Each snapshot writes every changed aggregate with its receipts (up to 1,000), and
    /// the embedded log keeps every snapshot (it does not compact yet), so a small N costs
    /// throughput and disk on hot aggregates, and restart time too (BENCHMARKS.md).
    #[arg(long, env = "NAGARE_SNAPSHOT_EVERY", default_value = "10000", value_name = "N|never")]
    pub(crate) snapshot_every: SnapshotInterval,

    /// Memory each projection may use to keep the rows it recently read and wrote, in MiB, so
    /// that the next event of an entity does not read the store again (0 turns it off). It
    /// fills only as rows are touched; a catalog of 200,000 products needs about 128 (shared
    /// out among the projection's members).
    #[arg(long, env = "NAGARE_ROW_CACHE_MIB", default_value_t = ProjectionConfig::DEFAULT_ROW_CACHE_BYTES >> 20,
          value_name = "MIB", value_parser = clap::value_parser!(u64).range(0..=1 << 20))]
    pub(crate) row_cache_mib: u64,

    /// Members of each projection's consumer group this process runs (1–64); each applies the
    /// events of its share of the partitions, so the projections use more than one core.
    /// Without it: 4 on the embedded log, 1 on Kafka (where each member is a broker client and
    /// a projection scales out by processes).
    #[arg(long, env = "NAGARE_PROJECTION_WORKERS", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) projection_workers: Option<u16>,

    /// Partitions of the commands, events and snapshots topics when they are created (they
    /// share one count); without it, the count declared in infra/kafka/topics.toml (8).
    /// Existing topics keep their count; a difference is reported at start-up.
    #[arg(long, env = "NAGARE_PARTITIONS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PARTITIONS)))]
    pub(crate) partitions: Option<u32>,

    /// Bearer token the operator API under /admin will require. Reserved: this release serves
    /// no /admin routes yet.
    #[arg(long, env = "NAGARE_ADMIN_TOKEN", hide_env_values = true, value_name = "T")]
    pub(crate) admin_token: Option<String>,
}

/// Longest topic prefix accepted: Kafka topic names are at most 249 characters and the longest
/// suffix Nagare appends (`events.category`) needs room.
const MAX_TOPIC_PREFIX: usize = 200;

fn parse_topic_prefix(text: &str) -> Result<String, String> {
    if text.chars().count() > MAX_TOPIC_PREFIX {
        return Err(format!("must be at most {MAX_TOPIC_PREFIX} characters"));
    }
    if let Some(bad) =
        text.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{bad}` is not allowed in a topic name (letters, digits, `.`, `_`, `-`)"
        ));
    }
    Ok(text.to_owned())
}

/// Format of the log lines on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// A part of Nagare a process can run. The order here is the shutdown order: the gateway stops
/// taking requests first, then the processor finishes its batch, then the projections flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub(crate) enum Role {
    Gateway,
    Commands,
    Projections,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Gateway => "gateway",
            Role::Commands => "commands",
            Role::Projections => "projections",
        })
    }
}

/// How often the command processor snapshots the aggregates of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SnapshotInterval {
    Every(u64),
    Never,
}

impl SnapshotInterval {
    /// The processor's form: `None` means never.
    pub(crate) fn as_option(self) -> Option<u64> {
        match self {
            SnapshotInterval::Every(n) => Some(n),
            SnapshotInterval::Never => None,
        }
    }
}

impl FromStr for SnapshotInterval {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("never") {
            return Ok(SnapshotInterval::Never);
        }
        match text.parse::<u64>() {
            Ok(0) => Err("must be at least 1 (use `never` to turn snapshots off)".to_owned()),
            Ok(n) => Ok(SnapshotInterval::Every(n)),
            Err(_) => Err(format!("`{text}` is neither a positive whole number nor `never`")),
        }
    }
}

impl fmt::Display for SnapshotInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotInterval::Every(n) => write!(f, "{n}"),
            SnapshotInterval::Never => f.write_str("never"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["nagare", "serve"].iter().chain(args.iter());
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Serve(serve) => serve,
            other => panic!("parsed as {other:?}"),
        })
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_those_of_the_api_contract() {
        let args = serve(&[]).unwrap();
        assert_eq!(args.listen, "0.0.0.0:4000");
        assert_eq!(args.log, "embedded://./nagare-data");
        assert_eq!(args.store, "embedded://./nagare-data");
        assert_eq!(args.roles, vec![Role::Gateway, Role::Commands, Role::Projections]);
        assert_eq!(args.snapshot_every, SnapshotInterval::Every(10_000));
        assert_eq!(args.row_cache_mib, 128);
        assert_eq!(args.projection_workers, None, "the log's default applies");
        assert_eq!(args.partitions, None, "the declared count applies");
        assert_eq!(args.admin_token, None);
        assert_eq!(args.topic_prefix, "nagare.");
    }

    #[test]
    fn topic_prefixes_are_legal_topic_names() {
        assert_eq!(serve(&["--topic-prefix", "shop-1."]).unwrap().topic_prefix, "shop-1.");
        assert_eq!(serve(&["--topic-prefix", ""]).unwrap().topic_prefix, "");
        for bad in ["a b", "a/b", "ä.", &"x".repeat(201)] {
            let message = serve(&["--topic-prefix", bad]).unwrap_err().to_string();
            assert!(message.contains("--topic-prefix"), "{message}");
        }
    }

    #[test]
    fn explicit_flags_are_taken() {
        let args = serve(&[
            "--listen",
            "127.0.0.1:0",
            "--log",
            "embedded:///tmp/a",
            "--store",
            "embedded:///tmp/b",
            "--roles",
            "gateway,projections",
            "--snapshot-every",
            "never",
            "--partitions",
            "4",
            "--projection-workers",
            "2",
            "--admin-token",
            "secret",
        ])
        .unwrap();
        assert_eq!(args.listen, "127.0.0.1:0");
        assert_eq!(args.log, "embedded:///tmp/a");
        assert_eq!(args.store, "embedded:///tmp/b");
        assert_eq!(args.roles, vec![Role::Gateway, Role::Projections]);
        assert_eq!(args.snapshot_every, SnapshotInterval::Never);
        assert_eq!(args.partitions, Some(4));
        assert_eq!(args.projection_workers, Some(2));
        assert_eq!(args.admin_token.as_deref(), Some("secret"));
    }

    #[test]
    fn projection_workers_are_between_1_and_64() {
        for bad in ["0", "65", "many"] {
            let message = serve(&["--projection-workers", bad]).unwrap_err().to_string();
            assert!(message.contains("--projection-workers"), "{message}");
        }
    }

    #[test]
    fn an_unknown_role_is_rejected_and_the_known_ones_are_listed() {
        let message = serve(&["--roles", "gateway,sagas"]).unwrap_err().to_string();
        assert!(message.contains("sagas"), "{message}");
        for known in ["gateway", "commands", "projections"] {
            assert!(message.contains(known), "{message}");
        }
    }

    #[test]
    fn snapshot_interval_accepts_positive_numbers_and_never() {
        assert_eq!("1".parse(), Ok(SnapshotInterval::Every(1)));
        assert_eq!(" 250 ".parse(), Ok(SnapshotInterval::Every(250)));
        assert_eq!("NEVER".parse(), Ok(SnapshotInterval::Never));
        assert_eq!(SnapshotInterval::Never.as_option(), None);
        assert_eq!(SnapshotInterval::Every(3).as_option(), Some(3));
    }

    #[test]
    fn snapshot_interval_rejects_zero_negatives_and_words() {
        for bad in ["0", "-1", "often", "", "1.5"] {
            assert!(bad.parse::<SnapshotInterval>().is_err(), "{bad:?} was accepted");
        }
        assert!(serve(&["--snapshot-every", "0"]).is_err());
    }

    #[test]
    fn partitions_must_be_in_range() {
        assert!(serve(&["--partitions", "0"]).is_err());
        assert!(serve(&["--partitions", "eight"]).is_err());
        assert!(serve(&["--partitions", "1025"]).is_err());
    }

    #[test]
    fn help_explains_every_flag() {
        let mut command = Cli::command();
        // Building propagates the global flags (--log-format) into the subcommand.
        command.build();
        let help = command
            .find_subcommand_mut("serve")
            .map(|serve| serve.render_long_help().to_string())
            .unwrap_or_default();
        for flag in [
            "--listen",
            "--log ",
            "--store",
            "--roles",
            "--snapshot-every",
            "--partitions",
            "--admin-token",
            "--log-format",
            "NAGARE_LISTEN",
            "NAGARE_LOG",
            "NAGARE_STORE",
            "NAGARE_ROLES",
            "NAGARE_ADMIN_TOKEN",
        ] {
            assert!(help.contains(flag), "`{flag}` is missing from:\n{help}");
        }
    }

    fn topics(args: &[&str]) -> Result<TopicsCommand, clap::Error> {
        let argv = ["nagare", "topics"].iter().chain(args.iter());
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Topics(topics) => topics,
            other => panic!("parsed as {other:?}"),
        })
    }

    #[test]
    fn topics_commands_take_the_log_and_an_optional_partition_count() {
        let Ok(TopicsCommand::Ensure(ensure)) = topics(&["ensure"]) else {
            panic!("`topics ensure` did not parse")
        };
        assert_eq!(ensure.log.log, "embedded://./nagare-data");
        assert_eq!(ensure.log.topic_prefix, "nagare.");
        assert_eq!(ensure.partitions, None);
        let Ok(TopicsCommand::Ensure(ensure)) =
            topics(&["ensure", "--log", "kafka://k:9092", "--partitions", "12"])
        else {
            panic!("`topics ensure` with flags did not parse")
        };
        assert_eq!((ensure.log.log.as_str(), ensure.partitions), ("kafka://k:9092", Some(12)));
        for bad in ["0", "1025", "many"] {
            assert!(topics(&["ensure", "--partitions", bad]).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn describe_takes_json_and_partition_detail() {
        let Ok(TopicsCommand::Describe(describe)) = topics(&["describe"]) else {
            panic!("`topics describe` did not parse")
        };
        assert!(!describe.json && !describe.partitions_detail);
        let Ok(TopicsCommand::Describe(describe)) =
            topics(&["describe", "--json", "--partitions-detail", "--partitions", "2"])
        else {
            panic!("`topics describe` with flags did not parse")
        };
        assert!(describe.json && describe.partitions_detail);
        assert_eq!(describe.topics.partitions, Some(2));
        assert!(topics(&["ensure", "--json"]).is_err(), "ensure has no JSON output");
    }

    #[test]
    fn topics_help_explains_every_flag() {
        let mut command = Cli::command();
        command.build();
        let Some(group) = command.find_subcommand_mut("topics") else {
            panic!("no topics subcommand")
        };
        let ensure = group
            .find_subcommand_mut("ensure")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        let describe = group
            .find_subcommand_mut("describe")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        for (help, flags) in [
            (&ensure, &["--log ", "--topic-prefix", "--partitions", "NAGARE_LOG", "exits 1"][..]),
            (
                &describe,
                &["--log ", "--topic-prefix", "--partitions ", "--json", "--partitions-detail"],
            ),
        ] {
            for flag in flags {
                assert!(help.contains(flag), "`{flag}` is missing from:\n{help}");
            }
        }
    }

    #[test]
    fn export_and_import_take_a_log_and_a_file() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter()).map(|cli| cli.command);
        let Ok(Command::Export(export)) =
            parse(&["nagare", "export", "--log", "kafka://k:9092", "--output", "all.nagare"])
        else {
            panic!("`export` did not parse")
        };
        assert_eq!(export.log.log, "kafka://k:9092");
        assert_eq!(export.output, std::path::PathBuf::from("all.nagare"));
        let Ok(Command::Import(import)) = parse(&["nagare", "import", "-i", "all.nagare"]) else {
            panic!("`import` did not parse")
        };
        assert_eq!(import.log.log, "embedded://./nagare-data");
        assert_eq!(import.input, std::path::PathBuf::from("all.nagare"));
        assert!(parse(&["nagare", "export"]).is_err(), "--output is required");
        assert!(parse(&["nagare", "import"]).is_err(), "--input is required");
    }

    #[test]
    fn export_help_asks_for_an_idle_server() {
        let mut command = Cli::command();
        command.build();
        let help = command
            .find_subcommand_mut("export")
            .map(|export| export.render_long_help().to_string())
            .unwrap_or_default();
        assert!(help.contains("stop the server (or keep it idle)"), "{help}");
    }
}
