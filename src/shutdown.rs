//! One shutdown signal for every thread: a token that can be polled on the frame path (an
//! atomic load) or waited on with a deadline (a condition variable) everywhere else.
//!
//! Two levels: [`Shutdown::drain`] asks inputs to stop while frames in flight finish (SIGTERM),
//! [`Shutdown::abort`] asks everything to stop now (SIGINT, or the drain deadline passed).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const DRAIN: u8 = 1;
const ABORT: u8 = 2;

#[derive(Debug, Default)]
struct Inner {
    level: AtomicU8,
    lock: Mutex<()>,
    changed: Condvar,
}

/// A cloneable shutdown token.
#[derive(Clone, Debug, Default)]
pub struct Shutdown(Arc<Inner>);

impl Shutdown {
    /// A token that has not been triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks inputs to stop; work in flight finishes.
    pub fn drain(&self) {
        self.raise(DRAIN);
    }

    /// Asks everything to stop now.
    pub fn abort(&self) {
        self.raise(ABORT);
    }

    fn raise(&self, level: u8) {
        // The lock orders the store against a waiter's check-then-wait, so no wake-up is lost.
        let _guard = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.0.level.fetch_max(level, Ordering::SeqCst);
        self.0.changed.notify_all();
    }

    /// Whether any stop (drain or abort) was asked for.
    pub fn is_triggered(&self) -> bool {
        self.0.level.load(Ordering::Acquire) >= DRAIN
    }

    /// Whether an immediate stop was asked for.
    pub fn is_aborted(&self) -> bool {
        self.0.level.load(Ordering::Acquire) >= ABORT
    }

    /// Blocks until a stop is asked for or `timeout` passes; returns whether a stop was asked for.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = self.0.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.is_triggered() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = match self.0.changed.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_thread_wakes_when_another_triggers_and_levels_only_rise() {
        let s = Shutdown::new();
        assert!(!s.wait_timeout(Duration::from_millis(5)));
        let t = {
            let s = s.clone();
            std::thread::spawn(move || s.wait_timeout(Duration::from_secs(10)))
        };
        std::thread::sleep(Duration::from_millis(20));
        s.drain();
        assert!(t.join().unwrap());
        assert!(s.is_triggered() && !s.is_aborted());
        s.abort();
        s.drain();
        assert!(s.is_aborted(), "a later drain does not lower an abort");
    }
}
