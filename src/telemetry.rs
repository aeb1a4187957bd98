//! Structured logs on stderr (stdout is kept for the one line that announces the address).

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. RUST_LOG chooses the levels; without it Nagare logs at
/// `info`. An invalid RUST_LOG falls back to `info` rather than stopping the process.
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A subscriber may already be installed (never in the binary, possibly in tests);
    // keeping the existing one is the right outcome then.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
