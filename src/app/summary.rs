//! What a run did: counts, per-stage time, latency, for the closing summary and `bench`.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crate::ring::FrameRing;
use crate::source::SourceStats;
use crate::telemetry::{PipelineStats, STAGES};

/// What a run did, for the closing summary and `bench`.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// The camera (`source.id`).
    pub camera: String,
    /// Wall time from first frame to the end, seconds.
    pub wall_secs: f64,
    /// Frames decoded.
    pub decoded: u64,
    /// Frames processed end to end.
    pub processed: u64,
    /// Frames dropped by the ring (drop_oldest).
    pub dropped_ring: u64,
    /// Frames skipped by the ingress rate limit.
    pub skipped_rate: u64,
    /// Track messages dropped at the MQTT queue (the oldest waiting, to make room).
    pub dropped_publish: u64,
    /// Per-stage time, ms per processed frame, in pipeline order.
    pub stage_ms: Vec<(&'static str, f64)>,
    /// Capture-to-publish latency p50/p95/p99, ms, every frame.
    pub latency_ms: [Option<f64>; 3],
    /// The same after the first 10 frames (warm-up excluded).
    pub steady_latency_ms: [Option<f64>; 3],
    /// Latency of the first 10 frames (start-up, model warm-up): p50 and max, ms.
    pub warmup_latency_ms: [Option<f64>; 2],
    /// Decoder used.
    pub decoder: &'static str,
    /// Detections per processed frame, on average.
    pub mean_detections: f64,
    /// Processed frames per second after the first 10 frames (start-up and warm-up excluded).
    pub steady_fps: Option<f64>,
    /// Frames whose message gave at least one track a team.
    pub frames_with_team: u64,
    /// Frames whose message carried a homography (pitch positions).
    pub frames_with_homography: u64,
}

impl RunSummary {
    /// Processed frames per second of wall time.
    pub fn fps(&self) -> f64 {
        if self.wall_secs > 0.0 { self.processed as f64 / self.wall_secs } else { 0.0 }
    }

    /// Human-readable lines.
    pub fn render(&self) -> String {
        let mut s = format!(
            "frames: decoded {} processed {} dropped_ring {} skipped_rate {} dropped_publish {}\nthroughput: {:.2} fps processed over {:.1} s (decoder {})\n",
            self.decoded,
            self.processed,
            self.dropped_ring,
            self.skipped_rate,
            self.dropped_publish,
            self.fps(),
            self.wall_secs,
            self.decoder
        );
        let total: f64 = self.stage_ms.iter().map(|(_, ms)| ms).sum();
        s.push_str("per frame:");
        for (name, ms) in &self.stage_ms {
            let share = if total > 0.0 { 100.0 * ms / total } else { 0.0 };
            s.push_str(&format!(" {name} {ms:.2} ms ({share:.0}%)"));
        }
        let f = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.0}"));
        s.push_str(&format!(
            "\nlatency capture->publish ms: p50 {} p95 {} p99 {}",
            f(self.latency_ms[0]),
            f(self.latency_ms[1]),
            f(self.latency_ms[2])
        ));
        if let Some(fps) = self.steady_fps {
            s.push_str(&format!(
                "\nafter the first 10 frames: {fps:.2} fps, latency ms p50 {} p95 {} p99 {}",
                f(self.steady_latency_ms[0]),
                f(self.steady_latency_ms[1]),
                f(self.steady_latency_ms[2])
            ));
        }
        s.push_str(&format!(
            "\ngame state: teams in {} of {} messages, pitch positions in {}",
            self.frames_with_team, self.processed, self.frames_with_homography
        ));
        s
    }
}

/// The summary of a run from its counters, with what happened after the warm-up (the first 10
/// frames: latency, frame rate and per-stage means) taken apart using `progress`.
pub(super) fn summarize_with_warmup(
    p: &PipelineStats,
    s: &SourceStats,
    ring: &FrameRing,
    progress: &super::supervisor::Progress,
    decoder: &'static str,
) -> RunSummary {
    let mut summary = summarize(p, s, ring, progress.first_frame_at, decoder);
    if let Some(w) = &progress.warmup_latency {
        let steady = p.latency.snapshot().since(w);
        summary.steady_latency_ms = [steady.quantile_ms(0.5), steady.quantile_ms(0.95), steady.quantile_ms(0.99)];
        summary.warmup_latency_ms = [w.quantile_ms(0.5), w.quantile_ms(1.0)];
    }
    if let Some((at, n0)) = progress.steady_from {
        let (n, secs) = (summary.processed.saturating_sub(n0), at.elapsed().as_secs_f64());
        if n >= 10 && secs > 0.0 {
            summary.steady_fps = Some(n as f64 / secs);
            // Per-stage means after warm-up (the first calls' set-up would otherwise swell them).
            if let Some(base) = progress.warmup_stage_ns {
                for (i, &st) in STAGES.iter().enumerate() {
                    summary.stage_ms[i] = (st.as_str(), p.stage_ns(st).saturating_sub(base[i]) as f64 / 1e6 / n as f64);
                }
            }
        }
    }
    summary
}

fn summarize(
    p: &PipelineStats,
    s: &SourceStats,
    ring: &FrameRing,
    first: Option<Instant>,
    decoder: &'static str,
) -> RunSummary {
    let processed = p.processed.load(Relaxed);
    let per = |ns: u64| if processed > 0 { ns as f64 / 1e6 / processed as f64 } else { 0.0 };
    let lat = p.latency.snapshot();
    RunSummary {
        camera: String::new(),
        wall_secs: first.map_or(0.0, |f| f.elapsed().as_secs_f64()),
        decoded: s.decoded.load(Relaxed),
        processed,
        dropped_ring: ring.stats().snapshot().dropped_oldest,
        skipped_rate: s.skipped_rate.load(Relaxed),
        dropped_publish: 0,
        stage_ms: STAGES.iter().map(|&st| (st.as_str(), per(p.stage_ns(st)))).collect(),
        latency_ms: [lat.quantile_ms(0.5), lat.quantile_ms(0.95), lat.quantile_ms(0.99)],
        steady_latency_ms: [None; 3],
        warmup_latency_ms: [None; 2],
        decoder,
        mean_detections: p.detections.load(Relaxed) as f64 / processed.max(1) as f64,
        frames_with_team: p.frames_with_team.load(Relaxed),
        frames_with_homography: p.frames_with_homography.load(Relaxed),
        steady_fps: None,
    }
}
