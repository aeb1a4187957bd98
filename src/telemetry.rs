//! Structured logs on stderr (stdout is kept for the one line that announces the address).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Levels without RUST_LOG: Nagare at `info`; the storage engine's routine housekeeping
/// (flushes, compactions) and the HTTP server's line per request only when something is wrong.
/// A line per request (and per command, at debug) is for when one is looking for it: at
/// thousands of requests a second the lines cost CPU the requests need (BENCHMARKS.md).
const DEFAULT_FILTER: &str = "info,fjall=warn,lsm_tree=warn,poem::middleware::tracing_mw=warn";

/// Installs the global subscriber. RUST_LOG chooses the levels; an invalid RUST_LOG falls back
/// to the default rather than stopping the process.
pub(crate) fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // A subscriber may already be installed (never in the binary, possibly in tests);
    // keeping the existing one is the right outcome then.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
