//! What the local HTTP face shows (`publish::http::Provider`): every camera's counters, read
//! lock-free from the atomics the frame path keeps, its last health message and configuration
//! (kept by its supervisor), and its live view. Cameras join when they start and leave when they
//! end; the face's own thread only reads.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use serde::Serialize;

use super::health::HealthSnapshot;
use crate::config::Config;
use crate::publish::annotate::LiveView;
use crate::publish::http::{HttpServer, Provider};
use crate::publish::{PublishStats, Publisher};
use crate::ring::FrameRing;
use crate::source::{SourceState, SourceStats};
use crate::telemetry::prometheus::{Exposition, Kind};
use crate::telemetry::{PipelineStats, STAGES};

/// One camera as the face sees it.
pub(super) struct CameraFace {
    id: String,
    pipeline: Arc<PipelineStats>,
    source: Arc<SourceStats>,
    ring: Arc<FrameRing>,
    live: Option<Arc<LiveView>>,
    /// The last health message, and the configuration as `config/state` shows it: written by the
    /// camera's supervisor, read by the face (neither is on the frame path).
    health: Mutex<Option<Arc<HealthSnapshot>>>,
    config_state: Mutex<String>,
}

impl CameraFace {
    /// A camera's face from its counters, ring and live view; `config_state` as on `config/state`.
    pub(super) fn new(
        id: &str,
        (pipeline, source, ring): (Arc<PipelineStats>, Arc<SourceStats>, Arc<FrameRing>),
        live: Option<Arc<LiveView>>,
        config_state: String,
    ) -> Self {
        CameraFace {
            id: id.to_string(),
            pipeline,
            source,
            ring,
            live,
            health: Mutex::new(None),
            config_state: Mutex::new(config_state),
        }
    }

    /// Keeps the newest health message.
    pub(super) fn set_health(&self, snap: HealthSnapshot) {
        if let Ok(mut h) = self.health.lock() {
            *h = Some(Arc::new(snap));
        }
    }

    /// Keeps the configuration now in use (as `config/state` shows it).
    pub(super) fn set_config_state(&self, state: String) {
        if let Ok(mut c) = self.config_state.lock() {
            *c = state;
        }
    }

    fn health(&self) -> Option<Arc<HealthSnapshot>> {
        self.health.lock().ok().and_then(|h| h.clone())
    }

    fn config_state(&self) -> String {
        self.config_state.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// Every camera of the appliance, for the face.
pub(super) struct Face {
    device: String,
    started: Instant,
    publish: Arc<PublishStats>,
    publisher: Arc<Publisher>,
    /// Whether several cameras run (health and config are then keyed by camera).
    several: bool,
    cameras: RwLock<Vec<Arc<CameraFace>>>,
}

impl Face {
    pub(super) fn new(device: &str, publisher: &Arc<Publisher>, several: bool) -> Self {
        Face {
            device: device.to_string(),
            started: Instant::now(),
            publish: Arc::clone(publisher.stats()),
            publisher: Arc::clone(publisher),
            several,
            cameras: RwLock::new(Vec::new()),
        }
    }

    /// The local HTTP face, when `[http] listen` is set: bound before any camera starts, so that
    /// an address in use stops the start with its reason instead of leaving the face silently off.
    pub(super) fn start(
        cfg: &Config,
        publisher: &Arc<Publisher>,
        several: bool,
    ) -> anyhow::Result<Option<(Arc<Face>, HttpServer)>> {
        let Some(options) = cfg.http_options().map_err(anyhow::Error::msg)? else { return Ok(None) };
        let face = Arc::new(Face::new(&cfg.device.id, publisher, several));
        let server = HttpServer::start(options, Arc::clone(&face) as Arc<dyn Provider>)?;
        Ok(Some((face, server)))
    }

    /// A camera starts: shown from now on (in place of an earlier run with its id); the returned
    /// handle is where its supervisor keeps its health and configuration, and how it leaves.
    pub(super) fn join(&self, camera: CameraFace) -> Arc<CameraFace> {
        let camera = Arc::new(camera);
        if let Ok(mut c) = self.cameras.write() {
            c.retain(|k| k.id != camera.id);
            c.push(Arc::clone(&camera));
            c.sort_by(|a, b| a.id.cmp(&b.id));
        }
        camera
    }

    /// A camera has ended (removed, restarted or failed).
    pub(super) fn leave(&self, camera: &Arc<CameraFace>) {
        if let Ok(mut c) = self.cameras.write() {
            c.retain(|k| !Arc::ptr_eq(k, camera));
        }
    }

    fn cameras(&self) -> Vec<Arc<CameraFace>> {
        self.cameras.read().map(|c| c.clone()).unwrap_or_default()
    }
}

/// One line of the status page.
#[derive(Serialize)]
struct CameraStatus<'a> {
    id: &'a str,
    state: &'static str,
    decoder: &'static str,
    fps_in: Option<f64>,
    fps_processed: Option<f64>,
    latency_p50_ms: Option<f64>,
    latency_p99_ms: Option<f64>,
    dropped: serde_json::Value,
    calibration: String,
    teams: Option<serde_json::Value>,
    live: bool,
}

impl Provider for Face {
    fn metrics(&self, out: &mut String) {
        let cameras = self.cameras();
        let healths: Vec<Option<Arc<HealthSnapshot>>> = cameras.iter().map(|c| c.health()).collect();
        write_metrics(
            out,
            &self.device,
            self.started,
            &cameras,
            &healths,
            &self.publish,
            self.publisher.tracks_dropped(),
        );
    }

    fn health(&self) -> Option<String> {
        let cameras = self.cameras();
        if !self.several {
            return cameras.first().and_then(|c| c.health()).and_then(|h| serde_json::to_string(&*h).ok());
        }
        let mut by_camera = serde_json::Map::new();
        for c in &cameras {
            by_camera.insert(c.id.clone(), c.health().and_then(|h| serde_json::to_value(&*h).ok()).unwrap_or_default());
        }
        (!cameras.is_empty()).then(|| serde_json::json!({"device": self.device, "cameras": by_camera}).to_string())
    }

    fn config(&self) -> String {
        let cameras = self.cameras();
        if !self.several {
            return cameras.first().map(|c| c.config_state()).unwrap_or_else(|| "{}".into());
        }
        let mut by_camera = serde_json::Map::new();
        for c in &cameras {
            let state = serde_json::from_str(&c.config_state()).unwrap_or_default();
            by_camera.insert(c.id.clone(), state);
        }
        serde_json::json!({"device": self.device, "cameras": by_camera}).to_string()
    }

    fn status(&self) -> String {
        let cameras = self.cameras();
        let rows: Vec<CameraStatus<'_>> = cameras.iter().map(|c| camera_status(c, c.health())).collect();
        serde_json::json!({"device": self.device, "uptime_secs": self.started.elapsed().as_secs_f64(), "cameras": rows})
            .to_string()
    }

    fn live(&self, camera: &str) -> Option<Arc<LiveView>> {
        self.cameras().into_iter().find(|c| c.id == camera).and_then(|c| c.live.clone())
    }
}

fn camera_status(c: &CameraFace, health: Option<Arc<HealthSnapshot>>) -> CameraStatus<'_> {
    let h = health.as_deref();
    let processed = c.pipeline.processed.load(Relaxed);
    let with_pitch = c.pipeline.frames_with_homography.load(Relaxed);
    let calibration = match (h.and_then(|h| h.calibration.as_ref()), processed) {
        (Some(auto), _) => format!(
            "automatic: {:.0} % of frames calibrated, {} fits, {} cuts",
            100.0 * auto.share_calibrated,
            auto.fits_accepted,
            auto.cuts
        ),
        (None, 0) => "no frames yet".into(),
        (None, n) if with_pitch == 0 => format!("none (0 of {n} frames on the pitch)"),
        (None, n) => format!("{:.0} % of frames on the pitch", 100.0 * with_pitch as f64 / n as f64),
    };
    let ring = c.ring.stats().snapshot();
    CameraStatus {
        id: &c.id,
        state: c.source.state().as_str(),
        decoder: h.map_or("", |h| h.source.decoder),
        fps_in: h.map(|h| h.source.fps_in),
        fps_processed: h.map(|h| h.infer.fps_processed),
        latency_p50_ms: h.and_then(|h| h.latency_ms.p50),
        latency_p99_ms: h.and_then(|h| h.latency_ms.p99),
        dropped: serde_json::json!({
            "ring_oldest": ring.dropped_oldest,
            "rate_limit": c.source.skipped_rate.load(Relaxed),
            "inference_failed": c.pipeline.failed.load(Relaxed),
        }),
        calibration,
        teams: c.pipeline.kits().map(|[a, b]| serde_json::json!({"a": a, "b": b})),
        live: c.live.is_some(),
    }
}

/// Every family, each camera's sample under it (the text format wants a family's samples together).
fn write_metrics(
    out: &mut String,
    device: &str,
    started: Instant,
    cameras: &[Arc<CameraFace>],
    healths: &[Option<Arc<HealthSnapshot>>],
    publish: &PublishStats,
    spool_dropped: u64,
) {
    let mut e = Exposition::new(out);
    e.single(
        "footrackd_info",
        Kind::Gauge,
        "The daemon: version and device id.",
        &[("version", env!("CARGO_PKG_VERSION")), ("device", device)],
        1.0,
    );
    e.single("footrackd_uptime_seconds", Kind::Gauge, "Seconds since start.", &[], started.elapsed().as_secs_f64());
    e.single("footrackd_cameras", Kind::Gauge, "Cameras running.", &[], cameras.len() as f64);
    let per_camera =
        |e: &mut Exposition<'_>, name: &str, kind: Kind, help: &str, value: &dyn Fn(&CameraFace) -> f64| {
            e.family(name, kind, help);
            for c in cameras {
                e.sample(name, &[("camera", &c.id)], value(c));
            }
        };
    per_camera(&mut e, "footrackd_frames_decoded_total", Kind::Counter, "Frames the decoder delivered.", &|c| {
        c.source.decoded.load(Relaxed) as f64
    });
    per_camera(
        &mut e,
        "footrackd_frames_processed_total",
        Kind::Counter,
        "Frames detected, tracked and published.",
        &|c| c.pipeline.processed.load(Relaxed) as f64,
    );
    e.family("footrackd_frames_dropped_total", Kind::Counter, "Frames not processed, by reason.");
    for c in cameras {
        let ring = c.ring.stats().snapshot();
        for (reason, n) in [
            ("ring_oldest", ring.dropped_oldest),
            ("rate_limit", c.source.skipped_rate.load(Relaxed)),
            ("inference_failed", c.pipeline.failed.load(Relaxed)),
        ] {
            e.sample("footrackd_frames_dropped_total", &[("camera", &c.id), ("reason", reason)], n as f64);
        }
    }
    e.family("footrackd_frames_per_second", Kind::Gauge, "Frame rate over the last health interval, by stage.");
    for (c, h) in cameras.iter().zip(healths) {
        if let Some(h) = h {
            e.sample("footrackd_frames_per_second", &[("camera", &c.id), ("stage", "decoded")], h.source.fps_in);
            e.sample(
                "footrackd_frames_per_second",
                &[("camera", &c.id), ("stage", "processed")],
                h.infer.fps_processed,
            );
        }
    }
    per_camera(
        &mut e,
        "footrackd_stream_frames_per_second",
        Kind::Gauge,
        "The stream's nominal frame rate (0: unknown).",
        &|c| c.source.fps().unwrap_or(0.0) as f64,
    );
    e.family(
        "footrackd_capture_to_publish_latency_seconds",
        Kind::Histogram,
        "Time from a frame's capture to its track message being queued.",
    );
    for c in cameras {
        e.histogram(
            "footrackd_capture_to_publish_latency_seconds",
            &[("camera", &c.id)],
            &c.pipeline.latency.snapshot(),
        );
    }
    e.family("footrackd_inference_duration_seconds", Kind::Histogram, "Model time per frame, every region.");
    for c in cameras {
        e.histogram("footrackd_inference_duration_seconds", &[("camera", &c.id)], &c.pipeline.inference.snapshot());
    }
    e.family("footrackd_stage_seconds_total", Kind::Counter, "Time spent per frame stage.");
    for c in cameras {
        for st in STAGES {
            let secs = c.pipeline.stage_ns(st) as f64 / 1e9;
            e.sample("footrackd_stage_seconds_total", &[("camera", &c.id), ("stage", st.as_str())], secs);
        }
    }
    per_camera(&mut e, "footrackd_detections_total", Kind::Counter, "Detections over all processed frames.", &|c| {
        c.pipeline.detections.load(Relaxed) as f64
    });
    per_camera(&mut e, "footrackd_tracks", Kind::Gauge, "Tracks in the last published frame.", &|c| {
        c.pipeline.last_tracks.load(Relaxed) as f64
    });
    per_camera(
        &mut e,
        "footrackd_frames_with_team_total",
        Kind::Counter,
        "Frames whose message gave a track a team.",
        &|c| c.pipeline.frames_with_team.load(Relaxed) as f64,
    );
    per_camera(
        &mut e,
        "footrackd_frames_with_pitch_total",
        Kind::Counter,
        "Frames whose message carried pitch positions (a trusted calibration).",
        &|c| c.pipeline.frames_with_homography.load(Relaxed) as f64,
    );
    per_camera(
        &mut e,
        "footrackd_calibration_fits_total",
        Kind::Counter,
        "Automatic calibration: keypoint fits accepted.",
        &|c| c.pipeline.calibration.read().fits as f64,
    );
    per_camera(
        &mut e,
        "footrackd_calibration_cuts_total",
        Kind::Counter,
        "Automatic calibration: camera cuts seen.",
        &|c| c.pipeline.calibration.read().cuts as f64,
    );
    e.family("footrackd_calibration_error_meters", Kind::Gauge, "RMS error of the last accepted fit on the pitch.");
    for c in cameras {
        if let Some(m) = c.pipeline.calibration.read().last_error_m {
            e.sample("footrackd_calibration_error_meters", &[("camera", &c.id)], m);
        }
    }
    e.family("footrackd_source_state", Kind::Gauge, "The source's state (1 for the current one).");
    for c in cameras {
        let now = c.source.state();
        for s in [SourceState::Starting, SourceState::Running, SourceState::Retrying, SourceState::Stopped] {
            let v = if s == now { 1.0 } else { 0.0 };
            e.sample("footrackd_source_state", &[("camera", &c.id), ("state", s.as_str())], v);
        }
    }
    per_camera(&mut e, "footrackd_source_reconnects_total", Kind::Counter, "Reconnects after a loss or stall.", &|c| {
        c.source.reconnects.load(Relaxed) as f64
    });
    per_camera(&mut e, "footrackd_source_stalls_total", Kind::Counter, "Stalls detected.", &|c| {
        c.source.stalls.load(Relaxed) as f64
    });
    per_camera(&mut e, "footrackd_ring_frames", Kind::Gauge, "Frames waiting in the ring.", &|c| c.ring.depth() as f64);
    e.family("footrackd_live_pictures_total", Kind::Counter, "Live view: annotated pictures made.");
    for c in cameras.iter().filter(|c| c.live.is_some()) {
        let made = c.live.as_ref().map_or(0, |l| l.counts().0);
        e.sample("footrackd_live_pictures_total", &[("camera", &c.id)], made as f64);
    }
    e.family(
        "footrackd_live_pictures_skipped_total",
        Kind::Counter,
        "Live view: pictures viewers skipped (slower than they came).",
    );
    for c in cameras.iter().filter(|c| c.live.is_some()) {
        let skipped = c.live.as_ref().map_or(0, |l| l.counts().1);
        e.sample("footrackd_live_pictures_skipped_total", &[("camera", &c.id)], skipped as f64);
    }
    e.family("footrackd_live_viewers", Kind::Gauge, "Live view: MJPEG viewers now.");
    for c in cameras.iter().filter(|c| c.live.is_some()) {
        let viewers = c.live.as_ref().map_or(0, |l| l.viewers());
        e.sample("footrackd_live_viewers", &[("camera", &c.id)], viewers as f64);
    }
    write_throttle(&mut e, cameras, healths);
    e.single(
        "footrackd_mqtt_connected",
        Kind::Gauge,
        "Whether the broker connection is up.",
        &[],
        bool_f(publish.connected.load(Relaxed)),
    );
    e.single(
        "footrackd_mqtt_connects_total",
        Kind::Counter,
        "Broker connections made.",
        &[],
        publish.connects.load(Relaxed) as f64,
    );
    e.single(
        "footrackd_mqtt_replayed_messages_total",
        Kind::Counter,
        "Track messages sent again after a reconnect.",
        &[],
        publish.replayed.load(Relaxed) as f64,
    );
    e.family("footrackd_mqtt_dropped_messages_total", Kind::Counter, "Messages never sent, by reason.");
    e.sample("footrackd_mqtt_dropped_messages_total", &[("reason", "spool_full")], spool_dropped as f64);
    e.sample(
        "footrackd_mqtt_dropped_messages_total",
        &[("reason", "queue_full")],
        publish.dropped_queue_full.load(Relaxed) as f64,
    );
    write_system(&mut e, healths.iter().flatten().next().map(|h| &h.system));
}

fn write_throttle(e: &mut Exposition<'_>, cameras: &[Arc<CameraFace>], healths: &[Option<Arc<HealthSnapshot>>]) {
    e.family("footrackd_throttle_rate_frames_per_second", Kind::Gauge, "Inference rate the throttle allows now.");
    for (c, h) in cameras.iter().zip(healths) {
        if let Some(h) = h {
            e.sample("footrackd_throttle_rate_frames_per_second", &[("camera", &c.id)], h.throttle.rate_fps as f64);
        }
    }
    e.family("footrackd_throttle_active", Kind::Gauge, "1 while the throttle holds the rate below its ceiling.");
    for (c, h) in cameras.iter().zip(healths) {
        if let Some(h) = h {
            let active = h.throttle.enabled && h.throttle.rate_fps < h.throttle.ceiling_fps - 0.01;
            e.sample("footrackd_throttle_active", &[("camera", &c.id)], bool_f(active));
        }
    }
}

fn write_system(e: &mut Exposition<'_>, system: Option<&super::health::SystemHealth>) {
    let Some(s) = system else { return };
    const MIB: f64 = 1024.0 * 1024.0;
    if let Some(rss) = s.rss_mb {
        e.single("footrackd_resident_memory_bytes", Kind::Gauge, "This process's resident memory.", &[], rss * MIB);
    }
    if let Some(avail) = s.mem_available_mb {
        e.single(
            "footrackd_memory_available_bytes",
            Kind::Gauge,
            "Memory available to the system.",
            &[],
            avail as f64 * MIB,
        );
    }
    if let Some(cpu) = s.cpu_percent {
        e.single(
            "footrackd_cpu_usage_ratio",
            Kind::Gauge,
            "CPU use over the last health interval (1 = one core).",
            &[],
            cpu / 100.0,
        );
    }
    e.family("footrackd_temperature_celsius", Kind::Gauge, "Temperatures: thermal zones and GPUs.");
    for t in &s.temperatures {
        e.sample("footrackd_temperature_celsius", &[("sensor", &t.zone)], t.celsius as f64);
    }
    e.family("footrackd_gpu_memory_used_bytes", Kind::Gauge, "GPU memory in use (all processes), through NVML.");
    for g in &s.gpus {
        if let Some(mb) = g.memory_used_mb {
            e.sample("footrackd_gpu_memory_used_bytes", &[("gpu", &g.index.to_string())], mb * MIB);
        }
    }
    e.family("footrackd_gpu_utilization_ratio", Kind::Gauge, "GPU busy share over NVML's last sample period.");
    for g in &s.gpus {
        if let Some(p) = g.utilization_percent {
            e.sample("footrackd_gpu_utilization_ratio", &[("gpu", &g.index.to_string())], p as f64 / 100.0);
        }
    }
}

fn bool_f(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}
