//! Logging set-up: journald when started by systemd, stderr otherwise; the level can be
//! changed at run time (SIGHUP or remote config) through a reload handle.

use std::sync::OnceLock;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{Registry, fmt, reload};

/// Where log lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// The systemd journal, with structured fields.
    Journald,
    /// Standard error, human-readable.
    Stderr,
}

static RELOAD: OnceLock<reload::Handle<Targets, Registry>> = OnceLock::new();

/// Parses a log filter: a level (`info`), targets with levels (`footrackd=debug,warn`), or both.
/// (`Targets` rather than `EnvFilter`: the same directives for what a daemon needs, without the
/// regex engine in the build.)
pub fn parse_filter(text: &str) -> Result<Targets, String> {
    text.parse::<Targets>().map_err(|e| e.to_string())
}

fn filter_for(level: &str) -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| parse_filter(&f).ok())
        .or_else(|| parse_filter(level).ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

/// Installs the global subscriber with `level` (a `tracing` filter string; `RUST_LOG` wins).
/// Uses journald when systemd started the process (`JOURNAL_STREAM` is set) and the journal
/// answers; stderr otherwise. Later calls do nothing.
pub fn init(level: &str) -> LogTarget {
    let (filter, handle) = reload::Layer::new(filter_for(level));
    let journald = std::env::var_os("JOURNAL_STREAM").is_some().then(tracing_journald::layer).and_then(Result::ok);
    let target = if journald.is_some() { LogTarget::Journald } else { LogTarget::Stderr };
    let fmt_layer = journald.is_none().then(|| fmt::layer().with_writer(std::io::stderr).with_target(false));
    let journald = journald.map(|l| l.with_syslog_identifier("footrackd".into()));
    if tracing_subscriber::registry().with(filter).with(journald).with(fmt_layer).try_init().is_ok() {
        let _ = RELOAD.set(handle);
    }
    target
}

/// Changes the log filter of a running daemon; returns false if logging was not initialised here.
pub fn set_level(level: &str) -> bool {
    RELOAD.get().is_some_and(|h| h.modify(|f| *f = filter_for(level)).is_ok())
}
