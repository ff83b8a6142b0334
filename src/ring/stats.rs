//! Lock-free counters of the ring, read by health reporting.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters updated by both ends of the ring.
#[derive(Debug, Default)]
pub struct RingStats {
    pushed: AtomicU64,
    taken: AtomicU64,
    dropped_oldest: AtomicU64,
}

/// A copy of the ring's counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingCounters {
    /// Frames written into the ring.
    pub pushed: u64,
    /// Frames taken by the consumer.
    pub taken: u64,
    /// Frames overwritten before the consumer took them.
    pub dropped_oldest: u64,
}

impl RingStats {
    pub(super) fn record_pushed(&self) {
        self.pushed.fetch_add(1, Relaxed);
    }
    pub(super) fn record_taken(&self) {
        self.taken.fetch_add(1, Relaxed);
    }
    pub(super) fn record_dropped_oldest(&self) {
        self.dropped_oldest.fetch_add(1, Relaxed);
    }

    /// Frames waiting (pushed minus taken minus dropped).
    pub fn depth(&self) -> usize {
        let c = self.snapshot();
        c.pushed.saturating_sub(c.taken + c.dropped_oldest) as usize
    }

    /// The counters now.
    pub fn snapshot(&self) -> RingCounters {
        RingCounters {
            pushed: self.pushed.load(Relaxed),
            taken: self.taken.load(Relaxed),
            dropped_oldest: self.dropped_oldest.load(Relaxed),
        }
    }
}
