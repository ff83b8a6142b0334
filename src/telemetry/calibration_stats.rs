//! Counters of automatic calibration (`pitch.auto_calibrate`), written by the inference thread
//! each frame and read by health, lock-free.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// "None" in the optional counters.
const NONE: u64 = u64::MAX;

/// How calibration went since start.
#[derive(Debug)]
pub struct CalibrationStats {
    frames: AtomicU64,
    calibrated: AtomicU64,
    runs: AtomicU64,
    fits: AtomicU64,
    cuts: AtomicU64,
    frames_since_fit: AtomicU64,
    last_error_um: AtomicU64,
    last_drift_um: AtomicU64,
    drift_sum_um: AtomicU64,
    drifts: AtomicU64,
}

impl Default for CalibrationStats {
    fn default() -> Self {
        CalibrationStats {
            frames: AtomicU64::new(0),
            calibrated: AtomicU64::new(0),
            runs: AtomicU64::new(0),
            fits: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            frames_since_fit: AtomicU64::new(NONE),
            last_error_um: AtomicU64::new(NONE),
            last_drift_um: AtomicU64::new(NONE),
            drift_sum_um: AtomicU64::new(0),
            drifts: AtomicU64::new(0),
        }
    }
}

pub use crate::pitch::AutoCounts as CalibrationReading;

fn opt_um(v: Option<f64>) -> u64 {
    v.map_or(NONE, |m| (m * 1e6).round().clamp(0.0, (NONE - 1) as f64) as u64)
}

fn from_um(v: u64) -> Option<f64> {
    (v != NONE).then(|| v as f64 / 1e6)
}

impl CalibrationStats {
    /// Stores the latest counts.
    pub fn store(&self, r: &CalibrationReading) {
        self.frames.store(r.frames, Relaxed);
        self.calibrated.store(r.calibrated, Relaxed);
        self.runs.store(r.runs, Relaxed);
        self.fits.store(r.fits, Relaxed);
        self.cuts.store(r.cuts, Relaxed);
        self.frames_since_fit.store(r.frames_since_fit.unwrap_or(NONE), Relaxed);
        self.last_error_um.store(opt_um(r.last_error_m), Relaxed);
        self.last_drift_um.store(opt_um(r.last_drift_m), Relaxed);
        self.drift_sum_um.store(opt_um(Some(r.drift_sum_m)), Relaxed);
        self.drifts.store(r.drifts, Relaxed);
    }

    /// The latest counts.
    pub fn read(&self) -> CalibrationReading {
        let since = self.frames_since_fit.load(Relaxed);
        CalibrationReading {
            frames: self.frames.load(Relaxed),
            calibrated: self.calibrated.load(Relaxed),
            runs: self.runs.load(Relaxed),
            fits: self.fits.load(Relaxed),
            cuts: self.cuts.load(Relaxed),
            frames_since_fit: (since != NONE).then_some(since),
            last_error_m: from_um(self.last_error_um.load(Relaxed)),
            last_drift_m: from_um(self.last_drift_um.load(Relaxed)),
            drift_sum_m: from_um(self.drift_sum_um.load(Relaxed)).unwrap_or(0.0),
            drifts: self.drifts.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_comes_back_as_stored() {
        let s = CalibrationStats::default();
        assert_eq!(s.read().last_error_m, None);
        let r = CalibrationReading {
            frames: 10,
            calibrated: 8,
            runs: 2,
            fits: 1,
            cuts: 1,
            frames_since_fit: Some(3),
            last_error_m: Some(0.42),
            last_drift_m: None,
            drift_sum_m: 0.5,
            drifts: 1,
        };
        s.store(&r);
        assert_eq!(s.read(), r);
    }
}
