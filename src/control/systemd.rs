//! systemd notification (`Type=notify`): READY once every thread runs (a camera offline at boot is
//! waited for, not a failed start), WATCHDOG while frames make progress or the source is retrying,
//! STATUS with frame progress and rates, STOPPING on shutdown.
//! Every call is a no-op when `NOTIFY_SOCKET` is unset.

use std::time::Duration;

use sd_notify::NotifyState;

/// Talks to the service manager.
#[derive(Debug)]
pub struct Notifier {
    enabled: bool,
    ready_sent: bool,
    watchdog: Option<Duration>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::from_env()
    }
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC`.
    pub fn from_env() -> Self {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some();
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&u| u > 0)
            .map(Duration::from_micros);
        Notifier { enabled, ready_sent: false, watchdog }
    }

    /// A notifier that says nothing (one camera of several: the appliance speaks for them).
    pub fn disabled() -> Self {
        Notifier { enabled: false, ready_sent: false, watchdog: None }
    }

    /// The watchdog period systemd expects, if any.
    pub fn watchdog_period(&self) -> Option<Duration> {
        self.watchdog
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if self.enabled
            && let Err(e) = sd_notify::notify(states)
        {
            tracing::debug!(error = %e, "sd_notify failed.");
        }
    }

    /// READY=1, once.
    pub fn ready(&mut self) {
        if !self.ready_sent {
            self.ready_sent = true;
            self.send(&[NotifyState::Ready]);
        }
    }

    /// Whether READY was sent.
    pub fn is_ready(&self) -> bool {
        self.ready_sent
    }

    /// WATCHDOG=1 (call only when the pipeline made progress).
    pub fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    /// STATUS=...
    pub fn status(&self, text: &str) {
        self.send(&[NotifyState::Status(text)]);
    }

    /// STOPPING=1
    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping]);
    }
}
