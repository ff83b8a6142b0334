//! Logging set-up: journald when started by systemd, stderr otherwise.

use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

/// Where log lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// The systemd journal, with structured fields.
    Journald,
    /// Standard error, human-readable.
    Stderr,
}

/// Installs the global subscriber with `filter` (a `tracing` filter string). `RUST_LOG`
/// overrides it. Uses journald when systemd started the process (`JOURNAL_STREAM` is set)
/// and the journal answers; stderr otherwise. Safe to call more than once (later calls do nothing).
pub fn init(filter: &str) -> LogTarget {
    let filter = std::env::var("RUST_LOG").ok().and_then(|f| EnvFilter::try_new(f).ok()).or_else(|| EnvFilter::try_new(filter).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(layer) = tracing_journald::layer()
    {
        let ok = tracing_subscriber::registry().with(filter).with(layer.with_syslog_identifier("footrackd".into())).try_init().is_ok();
        if ok {
            return LogTarget::Journald;
        }
        return LogTarget::Stderr;
    }
    let _ = tracing_subscriber::registry().with(filter).with(fmt::layer().with_writer(std::io::stderr).with_target(false)).try_init();
    LogTarget::Stderr
}
