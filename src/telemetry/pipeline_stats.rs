//! Counters of the inference thread's per-frame work, shared lock-free with health reporting.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::calibration_stats::CalibrationStats;
use super::latency::LatencyHistogram;

/// The per-frame stages timed by the inference thread, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Letterbox and colour conversion.
    Pre = 0,
    /// Model runs.
    Infer = 1,
    /// Output decoding and NMS.
    Post = 2,
    /// The wait for a GPU frame's host copy (none for frames already on the host).
    HostCopy = 6,
    /// The features that read pixels: team colours, camera following, pitch keypoints, the
    /// annotated frame.
    Pixels = 5,
    /// Tracker step.
    Track = 3,
    /// Payload encoding and queueing.
    Publish = 4,
}

/// All stages, for iteration.
pub const STAGES: [Stage; 7] =
    [Stage::Pre, Stage::Infer, Stage::Post, Stage::HostCopy, Stage::Pixels, Stage::Track, Stage::Publish];

impl Stage {
    /// Name in health and bench output.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Pre => "pre_process",
            Stage::Infer => "inference",
            Stage::Post => "post_process",
            Stage::HostCopy => "host_copy",
            Stage::Pixels => "pixels",
            Stage::Track => "track",
            Stage::Publish => "publish",
        }
    }
}

/// Counters of the inference thread.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Frames fully processed (detected, tracked and published or dropped at publish).
    pub processed: AtomicU64,
    /// Frames whose detection failed.
    pub failed: AtomicU64,
    /// Total time per stage, ns.
    stage_ns: [AtomicU64; 7],
    /// Capture-to-publish latency.
    pub latency: LatencyHistogram,
    /// Inference time per frame (all regions).
    pub inference: LatencyHistogram,
    /// Tracks in the last published frame.
    pub last_tracks: AtomicU64,
    /// Detections over all processed frames (their mean checks that two paths see the same).
    pub detections: AtomicU64,
    /// Frames whose message gave at least one track a team.
    pub frames_with_team: AtomicU64,
    /// Frames whose message carried a homography (pitch positions).
    pub frames_with_homography: AtomicU64,
    /// Automatic calibration.
    pub calibration: CalibrationStats,
    /// The two kit colours as last learnt, packed (see [`PipelineStats::set_kits`]; 0: not known).
    kits: AtomicU64,
}

impl PipelineStats {
    /// Adds time to a stage.
    pub fn add_stage_ns(&self, stage: Stage, ns: u64) {
        self.stage_ns[stage as usize].fetch_add(ns, Relaxed);
    }

    /// Keeps the kit colours (RGB 0-255, A then B) for health and the HTTP face: one store.
    pub fn set_kits(&self, kits: Option<[[f32; 3]; 2]>) {
        let pack = |c: [f32; 3]| c.iter().fold(0u64, |acc, v| acc << 8 | v.round().clamp(0.0, 255.0) as u64);
        self.kits.store(kits.map_or(0, |[a, b]| 1 << 48 | pack(a) << 24 | pack(b)), Relaxed);
    }

    /// The kit colours as `#rrggbb` (A, B), once known.
    pub fn kits(&self) -> Option<[String; 2]> {
        let k = self.kits.load(Relaxed);
        let hex = |c: u64| format!("#{:06x}", c & 0xff_ffff);
        (k >> 48 == 1).then(|| [hex(k >> 24), hex(k)])
    }

    /// Total time of a stage so far, ns.
    pub fn stage_ns(&self, stage: Stage) -> u64 {
        self.stage_ns[stage as usize].load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::PipelineStats;

    #[test]
    fn kit_colours_come_back_as_hex() {
        let s = PipelineStats::default();
        assert_eq!(s.kits(), None);
        s.set_kits(Some([[255.0, 0.4, 16.0], [0.0, 128.2, 300.0]]));
        assert_eq!(s.kits(), Some(["#ff0010".to_string(), "#0080ff".to_string()]));
        s.set_kits(None);
        assert_eq!(s.kits(), None);
    }
}
