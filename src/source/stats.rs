//! Source state and counters, shared with health reporting.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::Relaxed};

/// What the source is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SourceState {
    /// Building the pipeline or waiting for the first frame.
    Starting = 0,
    /// Frames are arriving.
    Running = 1,
    /// Lost; waiting to reconnect.
    Retrying = 2,
    /// Finished (end of file, or stopped).
    Stopped = 3,
}

impl SourceState {
    /// Name in health and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Starting => "starting",
            SourceState::Running => "running",
            SourceState::Retrying => "retrying",
            SourceState::Stopped => "stopped",
        }
    }
}

/// Counters updated by the decode thread.
#[derive(Debug, Default)]
pub struct SourceStats {
    state: AtomicU8,
    /// Frames delivered by the decoder.
    pub decoded: AtomicU64,
    /// Frames skipped at ingress by the rate limit.
    pub skipped_rate: AtomicU64,
    /// Reconnects after loss or stall.
    pub reconnects: AtomicU64,
    /// Stalls detected.
    pub stalls: AtomicU64,
    /// Frame rate of the stream, milli-fps (0 = unknown).
    pub fps_milli: AtomicU64,
    /// Monotonic ns of the last decoded frame.
    pub last_frame_mono_ns: AtomicU64,
    /// Shortest interval between frames let in, ns (0 = no limit). Set by the throttle.
    pub min_interval_ns: AtomicU64,
}

impl SourceStats {
    /// Current state.
    pub fn state(&self) -> SourceState {
        match self.state.load(Relaxed) {
            0 => SourceState::Starting,
            1 => SourceState::Running,
            2 => SourceState::Retrying,
            _ => SourceState::Stopped,
        }
    }

    /// Sets the state.
    pub fn set_state(&self, s: SourceState) {
        self.state.store(s as u8, Relaxed);
    }

    /// Stream frame rate, if known.
    pub fn fps(&self) -> Option<f32> {
        let m = self.fps_milli.load(Relaxed);
        (m > 0).then(|| m as f32 / 1000.0)
    }

    /// Limits ingress to `fps` (0 = no limit).
    pub fn set_max_fps(&self, fps: f32) {
        let ns = if fps > 0.0 { (1e9 / fps as f64) as u64 } else { 0 };
        self.min_interval_ns.store(ns, Relaxed);
    }
}
