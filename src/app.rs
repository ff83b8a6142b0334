//! Builds the stages from a [`Config`], runs them, turns intents into actions, and shuts down
//! in order: stop the source, let the inference thread drain the ring, publish `stopped`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use std::path::Path;

use rumqttc::QoS;

use crate::config::{self, Config};
use crate::control::Intent;
use crate::control::health::{HealthReporter, HealthSources};
use crate::control::remote;
use crate::control::sensors::{Readings, Sensors};
use crate::control::systemd::Notifier;
use crate::control::throttle::{Throttle, ThrottleInputs};
use crate::infer::{DetectorOptions, OnnxDetector};
use crate::publish::Publisher;
use crate::ring::{FrameRing, FrameSlot};
use crate::source::{self, SourceOptions};
use crate::telemetry::{PipelineStats, STAGES};
use crate::worker::{Worker, WorkerCommand};

/// Options of one run that are not part of the configuration.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop after this many decoded frames.
    pub max_frames: Option<u64>,
    /// The file to re-read on SIGHUP.
    pub config_path: Option<PathBuf>,
    /// Whether `FOOTRACKD_*` overrides apply on reload.
    pub with_env: bool,
}

/// What a run did, for the closing summary and `bench`.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
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
    /// Track messages dropped at the MQTT queue.
    pub dropped_publish: u64,
    /// Per-stage time, ms per processed frame, in pipeline order.
    pub stage_ms: Vec<(&'static str, f64)>,
    /// Capture-to-publish latency p50/p95/p99, ms.
    pub latency_ms: [Option<f64>; 3],
    /// Decoder used.
    pub decoder: &'static str,
    /// Processed frames per second after the first 10 frames (start-up and warm-up excluded).
    pub steady_fps: Option<f64>,
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
            self.decoded, self.processed, self.dropped_ring, self.skipped_rate, self.dropped_publish, self.fps(), self.wall_secs, self.decoder
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
        s
    }
}

/// Runs the daemon until input ends or a stop intent arrives.
pub fn run(cfg: Config, intents: Receiver<Intent>, opts: RunOptions) -> Result<RunSummary> {
    let mut notifier = Notifier::from_env();
    source::gst::init().context("GStreamer")?;

    let (publisher, remote) =
        Publisher::start(&cfg.publish, &cfg.device.id, cfg.control.remote_config).context("MQTT publisher")?;
    let publisher = Arc::new(publisher);
    publisher.try_publish(&publisher.topics().config_state, QoS::AtLeastOnce, true, remote::state_payload(cfg.raw()).as_bytes());

    let mut detector = OnnxDetector::new(DetectorOptions::from_config(&cfg)).context("detector")?;
    let ring = build_ring(&cfg, &mut detector);
    let pipeline_stats = Arc::new(PipelineStats::default());
    let source_stats = Arc::new(source::SourceStats::default());
    source_stats.set_max_fps(cfg.infer.max_fps);
    let abort = Arc::new(AtomicBool::new(false));
    let (cmd_tx, cmd_rx) = sync_channel::<WorkerCommand>(4);

    let worker = Worker {
        ring: Arc::clone(&ring),
        detector,
        publisher: Arc::clone(&publisher),
        stats: Arc::clone(&pipeline_stats),
        source: Arc::clone(&source_stats),
        commands: cmd_rx,
        abort: Arc::clone(&abort),
        config: cfg.clone(),
    };
    let worker_thread = std::thread::Builder::new().name("infer".into()).spawn(move || worker.run()).context("spawning the inference thread")?;

    let source = source::spawn(SourceOptions::from_config(&cfg, opts.max_frames), Arc::clone(&ring), worker_thread.thread().clone(), Arc::clone(&source_stats))
        .context("source")?;

    let sensors = Sensors::new(Path::new(&cfg.throttle.sysfs_root), Path::new(&cfg.throttle.procfs_root));
    let mut sup = Supervisor {
        throttle: Throttle::new(&cfg.throttle, 30.0),
        throttle_ceiling_known: false,
        health: HealthReporter::default(),
        readings: sensors.read(),
        sensors,
        last_health: Instant::now(),
        last_throttle: Instant::now(),
        last_status: Instant::now(),
        publisher: Arc::clone(&publisher),
        source_stats: Arc::clone(&source_stats),
        pipeline_stats: Arc::clone(&pipeline_stats),
        ring: Arc::clone(&ring),
        decoder: source.decoder().as_str(),
        cmd_tx,
        opts: opts.clone(),
        current: cfg,
    };

    let started = Instant::now();
    let mut first_frame_at: Option<Instant> = None;
    let mut steady_from: Option<(Instant, u64)> = None;
    let mut last_processed = 0u64;
    let mut last_progress = Instant::now();
    let mut stop_deadline: Option<Instant> = None;
    let deadline = Duration::from_secs_f32(sup.current.control.shutdown_deadline_secs);
    let watchdog_every = notifier.watchdog_period().map(|p| p / 2).unwrap_or(Duration::from_secs(5));
    let mut last_watchdog = Instant::now();

    loop {
        match intents.recv_timeout(Duration::from_millis(50)) {
            Ok(Intent::Stop) => {
                tracing::info!("Stopping: draining the pipeline.");
                notifier.stopping();
                source.request_stop();
                stop_deadline.get_or_insert(Instant::now() + deadline);
            }
            Ok(Intent::FastStop) => {
                tracing::info!("Stopping now.");
                notifier.stopping();
                source.request_stop();
                abort.store(true, Relaxed);
                stop_deadline.get_or_insert(Instant::now() + deadline.min(Duration::from_secs(1)));
            }
            Ok(Intent::Reload) => match reload(&opts) {
                Ok(new_cfg) => sup.apply(new_cfg, "SIGHUP"),
                Err(e) => tracing::error!(error = %format!("{e:#}"), "Reload refused; the running configuration stays."),
            },
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
        while let Ok(msg) = remote.try_recv() {
            sup.remote_config(&msg.payload);
        }

        let processed = pipeline_stats.processed.load(Relaxed);
        if steady_from.is_none() && processed >= 10 {
            steady_from = Some((Instant::now(), processed));
        }
        if processed > last_processed {
            last_processed = processed;
            last_progress = Instant::now();
            if first_frame_at.is_none() {
                first_frame_at = Some(Instant::now());
                tracing::info!(startup_ms = started.elapsed().as_millis() as u64, "First frame published end to end.");
                notifier.ready();
            }
        }
        // WATCHDOG only while frames make progress: a stalled pipeline gets restarted by systemd.
        if notifier.is_ready() && last_progress.elapsed() < watchdog_every * 2 && last_watchdog.elapsed() >= watchdog_every {
            notifier.watchdog();
            last_watchdog = Instant::now();
        }
        sup.tick(&notifier);
        if worker_thread.is_finished() {
            source.request_stop();
            break;
        }
        if let Some(d) = stop_deadline
            && Instant::now() > d
        {
            tracing::warn!("Shutdown deadline passed; abandoning frames still in flight.");
            abort.store(true, Relaxed);
            break;
        }
    }

    let worker_result = if worker_thread.is_finished() {
        worker_thread.join().map_err(|_| anyhow::anyhow!("inference thread panicked"))?
    } else {
        Ok(())
    };
    let source_decoder = source.decoder().as_str();
    let source_result = if source.is_finished() { source.join() } else { Ok(()) };
    publisher.stop(Duration::from_secs(2));

    let mut summary = summarize(&pipeline_stats, &source_stats, &ring, first_frame_at, source_decoder);
    summary.steady_fps = steady_from.and_then(|(at, n0)| {
        let (n, secs) = (summary.processed.saturating_sub(n0), at.elapsed().as_secs_f64());
        (n >= 10 && secs > 0.0).then(|| n as f64 / secs)
    });
    worker_result.context("inference")?;
    source_result.context("source")?;
    Ok(summary)
}

/// The control loop's state: health reporting, throttling, and applying new configurations.
struct Supervisor {
    throttle: Throttle,
    throttle_ceiling_known: bool,
    health: HealthReporter,
    sensors: Sensors,
    readings: Readings,
    last_health: Instant,
    last_throttle: Instant,
    last_status: Instant,
    publisher: Arc<Publisher>,
    source_stats: Arc<source::SourceStats>,
    pipeline_stats: Arc<PipelineStats>,
    ring: Arc<FrameRing>,
    decoder: &'static str,
    cmd_tx: std::sync::mpsc::SyncSender<WorkerCommand>,
    opts: RunOptions,
    current: Config,
}

impl Supervisor {
    /// Periodic work: throttle, health, systemd STATUS.
    fn tick(&mut self, notifier: &Notifier) {
        let cfg = &self.current;
        if !self.throttle_ceiling_known
            && let Some(fps) = self.source_stats.fps()
        {
            self.throttle.reconfigure(&cfg.throttle, fps);
            self.throttle_ceiling_known = true;
        }
        if self.last_throttle.elapsed() >= Duration::from_secs_f32(cfg.throttle.interval_secs) {
            self.last_throttle = Instant::now();
            self.readings = self.sensors.read();
            if cfg.throttle.enabled {
                let before = self.throttle.rate();
                let rate = self.throttle.update(ThrottleInputs { max_celsius: self.readings.max_celsius(), mem_available_mb: self.readings.mem_available_mb });
                if (rate - before).abs() > f32::EPSILON {
                    tracing::info!(from_fps = before, to_fps = rate, state = ?self.throttle.state(), max_celsius = ?self.readings.max_celsius(), mem_available_mb = ?self.readings.mem_available_mb, "Throttle changed the inference rate.");
                }
                self.apply_rate();
            }
        }
        if self.last_health.elapsed() >= Duration::from_secs_f32(cfg.control.health_interval_secs) {
            self.last_health = Instant::now();
            let snap = self.health.snapshot(&HealthSources {
                device: &cfg.device.id,
                source_id: &cfg.source.id,
                decoder: self.decoder,
                source: &self.source_stats,
                pipeline: &self.pipeline_stats,
                ring: &self.ring,
                publish: self.publisher.stats(),
                readings: &self.readings,
                throttle: &self.throttle,
                throttle_enabled: cfg.throttle.enabled,
            });
            if let Ok(json) = serde_json::to_string(&snap) {
                self.publisher.try_publish(&self.publisher.topics().health, QoS::AtMostOnce, false, json.as_bytes());
            }
            tracing::debug!(fps = snap.infer.fps_processed, "Health published.");
        }
        if self.last_status.elapsed() >= Duration::from_secs(2) {
            self.last_status = Instant::now();
            let lat = self.pipeline_stats.latency.snapshot().quantile_ms(0.5).unwrap_or(0.0);
            notifier.status(&format!(
                "{} frames processed, source {}, throttle {:.1} fps, latency p50 {:.0} ms",
                self.pipeline_stats.processed.load(Relaxed),
                self.source_stats.state().as_str(),
                self.throttle.rate(),
                lat
            ));
        }
    }

    /// Sets the ingress rate limit from the throttle and `infer.max_fps`.
    fn apply_rate(&self) {
        let cap = self.current.infer.max_fps;
        let throttled = self.current.throttle.enabled && self.throttle.rate() < self.throttle.ceiling() - 0.01;
        let rate = match (throttled, cap > 0.0) {
            (true, true) => self.throttle.rate().min(cap),
            (true, false) => self.throttle.rate(),
            (false, _) => cap,
        };
        self.source_stats.set_max_fps(rate);
    }

    /// A `config/set` message: check, persist, apply; or refuse with the reason on `config/error`.
    fn remote_config(&mut self, payload: &[u8]) {
        if !self.current.control.remote_config {
            return;
        }
        let result = remote::check(payload, &self.current).and_then(|(cfg, patch)| {
            if let Some(path) = &self.opts.config_path {
                remote::persist(&remote::overlay_path(path, self.current.raw()), &patch)?;
            }
            Ok(cfg)
        });
        match result {
            Ok(cfg) => self.apply(cfg, "MQTT config/set"),
            Err(e) => {
                tracing::warn!(error = %e, "Remote configuration refused; the running configuration stays.");
                let topic = self.publisher.topics().config_error.clone();
                self.publisher.try_publish(&topic, QoS::AtLeastOnce, false, e.to_payload().as_bytes());
            }
        }
    }

    /// The one path for every new configuration (SIGHUP or remote): applied between frames.
    fn apply(&mut self, new_cfg: Config, origin: &str) {
        for change in changes_needing_restart(&self.current, &new_cfg) {
            tracing::warn!(key = change, origin, "Changed, but only applied at restart.");
        }
        if self.cmd_tx.try_send(WorkerCommand::Apply(Box::new(new_cfg.clone()))).is_err() {
            tracing::warn!(origin, "Not applied: the inference thread is busy with earlier changes.");
            return;
        }
        self.throttle.reconfigure(&new_cfg.throttle, self.source_stats.fps().unwrap_or(30.0));
        if new_cfg.log.level != self.current.log.level {
            crate::telemetry::logging::set_level(&new_cfg.log.level);
        }
        self.current = new_cfg;
        self.apply_rate();
        let topic = self.publisher.topics().config_state.clone();
        self.publisher.try_publish(&topic, QoS::AtLeastOnce, true, remote::state_payload(self.current.raw()).as_bytes());
        tracing::info!(origin, "Configuration accepted.");
    }
}

/// The frame ring: page-locked, device-mapped slots when the GPU pre-processes and
/// `infer.gpu_input = "mapped"`, ordinary heap slots otherwise.
fn build_ring(cfg: &Config, detector: &mut OnnxDetector) -> Arc<FrameRing> {
    let mode = match cfg.infer.gpu_input {
        config::GpuInputMode::Mapped => crate::infer::GpuInput::Mapped,
        config::GpuInputMode::Copy => crate::infer::GpuInput::Copy,
    };
    detector.set_gpu_input(mode);
    #[cfg(feature = "cuda")]
    if detector.preprocess_device() == "gpu" && mode == crate::infer::GpuInput::Mapped {
        // Room for 4K frames: the slots cannot grow later.
        let bytes = FrameSlot::bytes_for(3840, 2160);
        let pinned: Result<Vec<_>, _> = crate::gpu::Gpu::try_new(0).and_then(|gpu| {
            (0..cfg.ring.slots).map(|_| crate::gpu::PinnedBuffer::new(&gpu, bytes).map(crate::ring::SlotBuffer::Pinned)).collect()
        });
        match pinned {
            Ok(buffers) => {
                tracing::info!(slots = cfg.ring.slots, mib_each = bytes >> 20, "Ring slots are page-locked and mapped into the GPU.");
                return FrameRing::with_buffers(buffers, cfg.ring.overflow);
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot allocate pinned ring slots; the GPU copies each frame instead.");
                detector.set_gpu_input(crate::infer::GpuInput::Copy);
            }
        }
    }
    FrameRing::new(cfg.ring.slots, FrameSlot::bytes_for(1920, 1080), cfg.ring.overflow)
}

fn reload(opts: &RunOptions) -> Result<Config> {
    let path = opts.config_path.as_ref().context("no configuration file to reload (started without -c)")?;
    Ok(config::load(path, opts.with_env, true)?)
}

/// Keys whose change takes effect only after a restart.
fn changes_needing_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    if old.source != new.source {
        out.push("source");
    }
    if old.publish != new.publish {
        out.push("publish");
    }
    if old.ring != new.ring {
        out.push("ring");
    }
    if old.infer.providers != new.infer.providers || old.infer.threads != new.infer.threads {
        out.push("infer.providers/threads");
    }
    if old.throttle.sysfs_root != new.throttle.sysfs_root || old.throttle.procfs_root != new.throttle.procfs_root {
        out.push("throttle.sysfs_root/procfs_root");
    }
    out
}

fn summarize(p: &PipelineStats, s: &source::SourceStats, ring: &FrameRing, first: Option<Instant>, decoder: &'static str) -> RunSummary {
    let processed = p.processed.load(Relaxed);
    let per = |ns: u64| if processed > 0 { ns as f64 / 1e6 / processed as f64 } else { 0.0 };
    let lat = p.latency.snapshot();
    RunSummary {
        wall_secs: first.map_or(0.0, |f| f.elapsed().as_secs_f64()),
        decoded: s.decoded.load(Relaxed),
        processed,
        dropped_ring: ring.stats().snapshot().dropped_oldest,
        skipped_rate: s.skipped_rate.load(Relaxed),
        dropped_publish: p.publish_dropped.load(Relaxed),
        stage_ms: STAGES.iter().map(|&st| (st.as_str(), per(p.stage_ns(st)))).collect(),
        latency_ms: [lat.quantile_ms(0.5), lat.quantile_ms(0.95), lat.quantile_ms(0.99)],
        decoder,
        steady_fps: None,
    }
}
