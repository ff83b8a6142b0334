//! Health snapshots: per-stage rates, latency percentiles, drops by reason, system readings,
//! throttle and source state. Published on `footrack/<device>/health` (schema in docs/mqtt.md).

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::control::nvml::GpuReading;
use crate::control::platform::Platform;
use crate::control::sensors::{Readings, Temperature};
use crate::control::throttle::{Throttle, ThrottleState};
use crate::publish::PublishStats;
use crate::publish::payload::SCHEMA_VERSION;
use crate::ring::FrameRing;
use crate::source::{SourceState, SourceStats};
use crate::telemetry::{LatencySnapshot, PipelineStats};

/// The health message.
#[derive(Clone, Debug, Serialize)]
pub struct HealthSnapshot {
    /// Payload schema version.
    pub schema: u32,
    /// Device id.
    pub device: String,
    /// When this was taken, ms since the Unix epoch.
    pub time_unix_ms: u64,
    /// Seconds since start.
    pub uptime_secs: f64,
    /// Seconds this snapshot's rates cover.
    pub interval_secs: f64,
    /// The video source.
    pub source: SourceHealth,
    /// Rates of the inference stage.
    pub infer: InferHealth,
    /// Inference time per frame (all tiles), ms.
    pub inference_ms: Percentiles,
    /// Capture-to-publish latency, ms.
    pub latency_ms: Percentiles,
    /// The frame ring.
    pub ring: RingHealth,
    /// Frames or messages lost, by reason, since start.
    pub drops_total: Drops,
    /// The machine.
    pub system: SystemHealth,
    /// The self-throttle.
    pub throttle: ThrottleHealth,
    /// The broker connection.
    pub mqtt: MqttHealth,
    /// Automatic pitch calibration (`pitch.auto_calibrate`); null when it is not running.
    pub calibration: Option<CalibrationHealth>,
    /// What the daemon runs on (a Jetson or not).
    pub platform: Platform,
    /// The two kit colours as learnt (or pinned), `#rrggbb`; null before they are known or with
    /// `track.teams` off.
    pub teams: Option<TeamColours>,
}

/// The kit colours of [`HealthSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct TeamColours {
    /// Kit A (the darker one).
    pub a: String,
    /// Kit B.
    pub b: String,
}

/// Automatic calibration part of [`HealthSnapshot`], since start.
#[derive(Clone, Debug, Serialize)]
pub struct CalibrationHealth {
    /// Share of frames with a trusted calibration (pitch positions in their messages).
    pub share_calibrated: f64,
    /// Frames seen by the calibration.
    pub frames: u64,
    /// Keypoint model runs, and the fits accepted of them.
    pub keypoint_runs: u64,
    /// Fits accepted.
    pub fits_accepted: u64,
    /// Camera cuts seen (scene changes).
    pub cuts: u64,
    /// Frames since the last accepted fit (null: none yet).
    pub frames_since_fit: Option<u64>,
    /// RMS error of the last accepted fit's keypoints on the pitch, metres.
    pub last_error_m: Option<f64>,
    /// How far the followed calibration had drifted when the last fit re-anchored it, metres.
    pub last_drift_m: Option<f64>,
}

impl CalibrationHealth {
    fn of(r: &crate::telemetry::CalibrationReading) -> Option<Self> {
        (r.frames > 0).then(|| CalibrationHealth {
            share_calibrated: r.calibrated as f64 / r.frames as f64,
            frames: r.frames,
            keypoint_runs: r.runs,
            fits_accepted: r.fits,
            cuts: r.cuts,
            frames_since_fit: r.frames_since_fit,
            last_error_m: r.last_error_m,
            last_drift_m: r.last_drift_m,
        })
    }
}

/// Source part of [`HealthSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct SourceHealth {
    /// Camera id.
    pub id: String,
    /// `starting`, `running`, `retrying` or `stopped`.
    pub state: &'static str,
    /// `software`, `nvdec` or `nvv4l2`.
    pub decoder: &'static str,
    /// Frames decoded per second.
    pub fps_in: f64,
    /// The stream's nominal rate.
    pub stream_fps: Option<f32>,
    /// Reconnects in the last hour.
    pub reconnects_last_hour: usize,
    /// Stalls in the last hour.
    pub stalls_last_hour: usize,
    /// Reconnects since start.
    pub reconnects_total: u64,
    /// `excellent`, `fair`, `poor` or `unusable` (as Frigate reports it).
    pub connection_quality: &'static str,
}

/// Inference part of [`HealthSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct InferHealth {
    /// Frames processed per second.
    pub fps_processed: f64,
    /// Frames skipped per second (rate limit and ring overflow).
    pub fps_skipped: f64,
    /// Tracks in the last frame.
    pub tracks: u64,
}

/// Percentiles in ms (`null` when nothing was measured).
#[derive(Clone, Debug, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

impl Percentiles {
    fn of(s: &LatencySnapshot) -> Self {
        Percentiles { p50: s.quantile_ms(0.5), p95: s.quantile_ms(0.95), p99: s.quantile_ms(0.99) }
    }
}

/// Ring part of [`HealthSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct RingHealth {
    /// Frames waiting now.
    pub depth: usize,
    /// Slots.
    pub slots: usize,
}

/// Drops by reason.
#[derive(Clone, Debug, Serialize)]
pub struct Drops {
    /// Oldest waiting frame overwritten (inference behind, `drop_oldest`).
    pub ring_oldest: u64,
    /// Skipped at ingress by the rate limit (throttle or `infer.max_fps`).
    pub rate_limit: u64,
    /// Track messages not queued because the MQTT queue was full (broker slow or down).
    pub publish_queue_full: u64,
    /// Frames whose inference failed.
    pub inference_failed: u64,
}

/// System part of [`HealthSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct SystemHealth {
    /// This process's CPU use over the interval, percent of one core.
    pub cpu_percent: Option<f64>,
    /// Resident memory, MiB.
    pub rss_mb: Option<f64>,
    /// Memory available to the system, MiB.
    pub mem_available_mb: Option<u64>,
    /// Memory used on the first GPU NVML reports, MiB (`null` without NVML).
    pub gpu_memory_mb: Option<f64>,
    /// Thermal zones, and each GPU's temperature through NVML (`GPU0 (NVML)`).
    pub temperatures: Vec<Temperature>,
    /// Every GPU through NVML: temperature, memory, utilisation, decoder utilisation.
    pub gpus: Vec<GpuReading>,
    /// `"ok"`, or why `gpus` is empty (no NVML library or driver, or turned off).
    pub nvml: String,
}

/// Throttle part of [`HealthSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct ThrottleHealth {
    /// Whether the throttle is on.
    pub enabled: bool,
    /// Why the rate is what it is.
    pub state: ThrottleState,
    /// Inference rate allowed now.
    pub rate_fps: f32,
    /// Rate when nothing is wrong.
    pub ceiling_fps: f32,
}

/// MQTT part of [`HealthSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct MqttHealth {
    /// Connected now.
    pub connected: bool,
    /// Connections since start.
    pub connects_total: u64,
    /// Whether the broker acknowledged the `config/set` subscription in this session.
    pub subscribed: bool,
    /// Track messages sent again after reconnects (repeats of frames already sent).
    pub replayed_total: u64,
    /// Track messages dropped from the spool since start (outage longer than its capacity).
    pub spool_dropped_total: u64,
}

/// Everything a snapshot reads.
pub(super) struct HealthSources<'a> {
    /// Device id.
    pub device: &'a str,
    /// Camera id.
    pub source_id: &'a str,
    /// Decoder family name.
    pub decoder: &'static str,
    /// Source counters.
    pub source: &'a SourceStats,
    /// Inference counters.
    pub pipeline: &'a PipelineStats,
    /// The ring.
    pub ring: &'a FrameRing,
    /// MQTT counters.
    pub publish: &'a PublishStats,
    /// Track messages dropped at the queue to the broker.
    pub tracks_dropped: u64,
    /// Sensor readings.
    pub readings: &'a Readings,
    /// The throttle.
    pub throttle: &'a Throttle,
    /// Whether the throttle is on.
    pub throttle_enabled: bool,
    /// The platform, detected at start.
    pub platform: &'a Platform,
}

/// Turns counters into per-interval rates.
#[derive(Debug)]
pub(super) struct HealthReporter {
    started: Instant,
    last_at: Instant,
    last_decoded: u64,
    last_processed: u64,
    last_skipped: u64,
    last_cpu_secs: Option<f64>,
    last_inference: Option<LatencySnapshot>,
    last_latency: Option<LatencySnapshot>,
    last_reconnects: u64,
    last_stalls: u64,
    reconnect_times: VecDeque<Instant>,
    stall_times: VecDeque<Instant>,
}

impl Default for HealthReporter {
    fn default() -> Self {
        let now = Instant::now();
        HealthReporter {
            started: now,
            last_at: now,
            last_decoded: 0,
            last_processed: 0,
            last_skipped: 0,
            last_cpu_secs: None,
            last_inference: None,
            last_latency: None,
            last_reconnects: 0,
            last_stalls: 0,
            reconnect_times: VecDeque::new(),
            stall_times: VecDeque::new(),
        }
    }
}

/// Frigate's connection quality words, from reconnects and stalls in the last hour.
pub(super) fn connection_quality(state: SourceState, events_last_hour: usize) -> &'static str {
    match (state, events_last_hour) {
        (SourceState::Retrying, _) => "unusable",
        (_, 0) => "excellent",
        (_, 1..=2) => "fair",
        (_, 3..=10) => "poor",
        _ => "unusable",
    }
}

impl HealthReporter {
    /// Takes a snapshot; rates cover the time since the previous one.
    pub(super) fn snapshot(&mut self, s: &HealthSources<'_>) -> HealthSnapshot {
        let now = Instant::now();
        let dt = now.duration_since(self.last_at).as_secs_f64().max(1e-3);
        let decoded = s.source.decoded.load(Relaxed);
        let processed = s.pipeline.processed.load(Relaxed);
        let ring = s.ring.stats().snapshot();
        let rate_limited = s.source.skipped_rate.load(Relaxed);
        let skipped = ring.dropped_oldest + rate_limited;
        let reconnects = s.source.reconnects.load(Relaxed);
        let stalls = s.source.stalls.load(Relaxed);
        for _ in self.last_reconnects..reconnects {
            self.reconnect_times.push_back(now);
        }
        for _ in self.last_stalls..stalls {
            self.stall_times.push_back(now);
        }
        let hour = Duration::from_secs(3600);
        for q in [&mut self.reconnect_times, &mut self.stall_times] {
            while q.front().is_some_and(|t| now.duration_since(*t) > hour) {
                q.pop_front();
            }
        }
        let inference = s.pipeline.inference.snapshot();
        let latency = s.pipeline.latency.snapshot();
        let inf_window = self.last_inference.as_ref().map_or(inference.clone(), |p| inference.since(p));
        let lat_window = self.last_latency.as_ref().map_or(latency.clone(), |p| latency.since(p));
        let cpu_percent = match (s.readings.cpu_secs, self.last_cpu_secs) {
            (Some(now_s), Some(prev)) => Some(100.0 * (now_s - prev) / dt),
            _ => None,
        };
        let state = s.source.state();
        let snap = HealthSnapshot {
            schema: SCHEMA_VERSION,
            device: s.device.to_string(),
            time_unix_ms: crate::frame::unix_ns() / 1_000_000,
            uptime_secs: now.duration_since(self.started).as_secs_f64(),
            interval_secs: dt,
            source: SourceHealth {
                id: s.source_id.to_string(),
                state: state.as_str(),
                decoder: s.decoder,
                fps_in: (decoded - self.last_decoded.min(decoded)) as f64 / dt,
                stream_fps: s.source.fps(),
                reconnects_last_hour: self.reconnect_times.len(),
                stalls_last_hour: self.stall_times.len(),
                reconnects_total: reconnects,
                connection_quality: connection_quality(state, self.reconnect_times.len() + self.stall_times.len()),
            },
            infer: InferHealth {
                fps_processed: (processed - self.last_processed.min(processed)) as f64 / dt,
                fps_skipped: (skipped - self.last_skipped.min(skipped)) as f64 / dt,
                tracks: s.pipeline.last_tracks.load(Relaxed),
            },
            inference_ms: Percentiles::of(&inf_window),
            latency_ms: Percentiles::of(&lat_window),
            ring: RingHealth { depth: s.ring.depth(), slots: s.ring.capacity() },
            drops_total: Drops {
                ring_oldest: ring.dropped_oldest,
                rate_limit: rate_limited,
                publish_queue_full: s.publish.dropped_queue_full.load(Relaxed) + s.tracks_dropped,
                inference_failed: s.pipeline.failed.load(Relaxed),
            },
            system: SystemHealth {
                cpu_percent,
                rss_mb: s.readings.rss_mb,
                mem_available_mb: s.readings.mem_available_mb,
                gpu_memory_mb: s.readings.gpus.first().and_then(|g| g.memory_used_mb),
                temperatures: s.readings.temperatures.clone(),
                gpus: s.readings.gpus.clone(),
                nvml: s.readings.nvml.clone(),
            },
            throttle: ThrottleHealth {
                enabled: s.throttle_enabled,
                state: s.throttle.state(),
                rate_fps: s.throttle.rate(),
                ceiling_fps: s.throttle.ceiling(),
            },
            mqtt: MqttHealth {
                connected: s.publish.connected.load(Relaxed),
                connects_total: s.publish.connects.load(Relaxed),
                replayed_total: s.publish.replayed.load(Relaxed),
                spool_dropped_total: s.tracks_dropped,
                subscribed: s.publish.subscribed.load(Relaxed),
            },
            calibration: CalibrationHealth::of(&s.pipeline.calibration.read()),
            platform: s.platform.clone(),
            teams: s.pipeline.kits().map(|[a, b]| TeamColours { a, b }),
        };
        self.last_at = now;
        self.last_decoded = decoded;
        self.last_processed = processed;
        self.last_skipped = skipped;
        self.last_cpu_secs = s.readings.cpu_secs;
        self.last_inference = Some(inference);
        self.last_latency = Some(latency);
        self.last_reconnects = reconnects;
        self.last_stalls = stalls;
        snap
    }
}
