//! Several cameras in one process: a detector per camera or one shared by all of them
//! (`shared_detector`, `infer.detector_sharing`), one MQTT connection, and per camera its own pipeline (source, ring, inference and finishing
//! threads, tracker, teams, calibration, counters) with its own supervisor on a thread of its
//! own (health, throttle, remote changes and their probation, on the camera's topics).
//!
//! This loop speaks for the appliance: systemd (READY, WATCHDOG while every camera is alive,
//! STATUS), stop signals (passed to every camera), remote messages (routed to their camera by
//! topic) and reloads: a camera added to the file starts, one removed drains and stops, one whose
//! source changed restarts, the others take their new settings between frames, and the shared
//! detector its new model or thresholds, all without stopping the other cameras. A camera that
//! fails to start or whose input fails is reported and the others go on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rumqttc::QoS;

use super::RunOptions;
use super::detector_link::DetectorLink;
use super::face::{CameraFace, Face};
use super::pipeline::Pipeline;
use super::processor::detector_changed;
use super::shared_detector::{CallShape, DetectorChange, SharedDetector};
use super::shared_keypoints::SharedKeypoints;
use super::slots::{build_ring, gpu_frames_wanted_for, preprocesses_on_gpu};
use super::summary::RunSummary;
use super::supervisor::CameraLink;
use crate::config::diff::changes_needing_restart;
use crate::config::{self, Cameras, Config, remote};
use crate::control::Intent;
use crate::control::systemd::Notifier;
use crate::infer::{Detector, DetectorSharing, KeypointModel};
use crate::publish::http::HttpServer;
use crate::publish::{IncomingMessage, Publisher, Topics, status};

/// One running camera, as the appliance sees it.
struct RunningCamera {
    id: String,
    /// The configuration it runs (as last sent).
    cfg: Config,
    intents: Sender<Intent>,
    configs: SyncSender<Box<Config>>,
    remote: SyncSender<IncomingMessage>,
    alive: Arc<AtomicBool>,
    processed: Arc<crate::telemetry::PipelineStats>,
    /// Its place on the HTTP face, when the face is on.
    face: Option<Arc<CameraFace>>,
    thread: JoinHandle<Result<RunSummary>>,
    /// Asked to stop (removed, or restarting with a new source).
    stopping: bool,
    /// Which start this is (0: the first).
    attempt: u32,
}

/// Times a camera that fails before its first frame is started (a decoder that loses a start-up
/// race, a file not there yet); the waits double from [`FIRST_RETRY`].
const START_ATTEMPTS: u32 = 3;
const FIRST_RETRY: Duration = Duration::from_secs(2);

/// A camera to start again.
struct Retry {
    at: Instant,
    cfg: Config,
    attempt: u32,
}

/// The appliance's state.
struct Appliance {
    cameras: Vec<RunningCamera>,
    /// Cameras to start once their previous run (same id) has ended: a changed source.
    to_start: Vec<Config>,
    /// Cameras that failed before their first frame, started again at the given time.
    retries: Vec<Retry>,
    summaries: Vec<RunSummary>,
    /// Cameras that ended with an error.
    failed: usize,
    /// The detector all cameras share (`None`: one per camera, `infer.detector_sharing`).
    detector: Option<SharedDetector>,
    /// The pitch keypoint model the cameras share with the detector (`None`: one per camera).
    keypoints: Option<SharedKeypoints>,
    /// The first detector, loaded to decide; the first camera takes it when each has its own.
    spare: Option<Detector>,
    /// Whether the detector letterboxes on the GPU (ring memory follows it).
    gpu_pre: bool,
    publisher: Arc<Publisher>,
    /// The local HTTP face and its server, when `[http] listen` is set.
    face: Option<(Arc<Face>, HttpServer)>,
    /// The appliance-wide settings in use (the first camera's configuration).
    settings: Config,
    opts: RunOptions,
    stopping: bool,
}

/// Whether the cameras share one detector. `auto` shares it on a GPU among two or more cameras
/// (8 cameras of 1080p on an H100: every frame at the camera's rate, p99 latency 42-49 ms, 0.80
/// of the GPU memory of a detector each; docs/cameras.md) and not on a CPU, where side by side
/// is faster (2 cores: 0.79 of it shared).
fn shares_the_detector(sharing: DetectorSharing, on_gpu: bool, cameras: usize) -> bool {
    match sharing {
        DetectorSharing::Shared => true,
        DetectorSharing::PerCamera => false,
        DetectorSharing::Auto => on_gpu && cameras > 1,
    }
}

/// Runs every camera of `cameras` until all have ended (input ended, or a stop).
pub(super) fn run(cameras: Cameras, intents: Receiver<Intent>, opts: RunOptions) -> Result<Vec<RunSummary>> {
    let first = cameras.first().clone();
    let mut notifier = Notifier::from_env();
    let (prefix, device) = (first.publish.topic_prefix.clone(), first.device.id.clone());
    let subscribe = first.control.remote_config.then(|| Topics::every_camera_config_set(&prefix, &device));
    let (publisher, remote_in) = Publisher::start_with(&first.publish, &device, subscribe).context("MQTT publisher")?;
    let publisher = Arc::new(publisher);
    let face = Face::start(&first, &publisher, true)?;
    let detector = Detector::new(first.detector_options()).context("detector")?;
    let gpu_pre = preprocesses_on_gpu(&detector);
    let shared = shares_the_detector(first.infer.detector_sharing, detector.provider().is_gpu(), cameras.len());
    let (detector, spare) = if shared {
        let mut detector = detector;
        let shape = CallShape { most: first.infer.shared_call_frames };
        warm_up(&mut detector, cameras.len(), shape);
        tracing::info!(
            cameras = cameras.len(),
            "Several cameras, one detector: frames ready together are detected in one batch."
        );
        let gather = std::time::Duration::from_secs_f32(first.infer.shared_gather_ms / 1e3);
        let shared =
            SharedDetector::start(detector, (cameras.len(), shape), gather).context("spawning the detection thread")?;
        (Some(shared), None)
    } else {
        tracing::info!(cameras = cameras.len(), sharing = ?first.infer.detector_sharing, "Several cameras, one detector each (infer.detector_sharing).");
        (None, Some(detector))
    };
    let keypoints = if detector.is_some() { shared_keypoints(&cameras)? } else { None };
    let mut appliance = Appliance {
        cameras: Vec::with_capacity(cameras.len()),
        to_start: Vec::new(),
        retries: Vec::new(),
        summaries: Vec::new(),
        failed: 0,
        detector,
        keypoints,
        spare,
        gpu_pre,
        publisher,
        face,
        settings: first,
        opts,
        stopping: false,
    };
    for cfg in cameras.into_vec() {
        appliance.start_camera(cfg);
    }
    if appliance.cameras.is_empty() {
        if let Some(d) = appliance.detector.take() {
            d.stop();
        }
        if let Some(k) = appliance.keypoints.take() {
            k.stop();
        }
        appliance.publisher.stop(Duration::from_secs(2));
        anyhow::bail!("no camera could be started (see the errors above)");
    }
    notifier.ready();
    tracing::info!("Ready: waiting for frames.");
    let watchdog_every = notifier.watchdog_period().map(|p| p / 2).unwrap_or(Duration::from_secs(5));
    let (mut last_watchdog, mut last_status) = (Instant::now(), Instant::now());
    loop {
        match intents.recv_timeout(Duration::from_millis(50)) {
            Ok(Intent::Reload) if !appliance.stopping => appliance.reload(),
            Ok(Intent::Reload) => {}
            Ok(intent @ (Intent::Stop | Intent::FastStop)) => {
                tracing::info!("Stopping every camera.");
                notifier.stopping();
                appliance.stopping = true;
                appliance.to_start.clear();
                appliance.retries.clear();
                for c in &appliance.cameras {
                    let _ = c.intents.send(intent);
                }
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
        while let Ok(msg) = remote_in.try_recv() {
            appliance.route_remote(msg, &prefix, &device);
        }
        appliance.reap();
        if appliance.cameras.is_empty() && appliance.to_start.is_empty() && appliance.retries.is_empty() {
            break;
        }
        let alive = appliance.cameras.iter().all(|c| c.stopping || c.alive.load(Relaxed));
        if notifier.is_ready() && alive && last_watchdog.elapsed() >= watchdog_every {
            notifier.watchdog();
            last_watchdog = Instant::now();
        }
        if last_status.elapsed() >= Duration::from_secs(2) {
            last_status = Instant::now();
            let processed: u64 = appliance.cameras.iter().map(|c| c.processed.processed.load(Relaxed)).sum();
            notifier.status(&format!("{} cameras, {processed} frames processed", appliance.cameras.len()));
        }
    }
    let Appliance { detector, keypoints, publisher, summaries, failed, face, .. } = appliance;
    if let Some(d) = detector {
        d.stop();
    }
    if let Some(k) = keypoints {
        k.stop();
    }
    if let Some((_, server)) = face {
        server.stop();
    }
    publisher.stop(Duration::from_secs(2));
    anyhow::ensure!(!summaries.is_empty() || failed == 0, "every camera failed (see the errors above)");
    Ok(summaries)
}

/// The pitch keypoint model for every camera that calibrates automatically with the model the
/// first such camera names (one session instead of one a camera, as the detector is shared);
/// `None` when no camera calibrates automatically. A model that does not load stops the start.
fn shared_keypoints(cameras: &Cameras) -> Result<Option<SharedKeypoints>> {
    let Some(cfg) = cameras.all().iter().find(|c| c.pitch.calibrates_automatically()) else { return Ok(None) };
    let opts = cfg.keypoint_options().context("pitch.keypoint_model")?;
    let model = KeypointModel::new(opts).context("pitch keypoint model (or set pitch.auto_calibrate = false)")?;
    let path = &cfg.pitch.keypoint_model;
    tracing::info!(model = %path, provider = model.provider().as_str(), "Several cameras, one pitch keypoint model: each camera's keypoint frames are run in turn.");
    Ok(Some(SharedKeypoints::start(model, path).context("spawning the keypoint thread")?))
}

/// Sets the shared detector up before live frames arrive, on a grey 1080p frame. On a GPU its
/// calls keep the batch shape `shape` gives `cameras`: the first call sets that shape up (about a
/// second), a second call shows the steady cost; on the CPU one call of every camera's frame
/// grows its buffers.
fn warm_up(detector: &mut Detector, cameras: usize, shape: CallShape) {
    let (w, h) = (1920, 1080);
    let data = vec![128u8; crate::frame::yuv420_bytes(w, h)];
    let Some(frame) = crate::frame::YuvFrame::new(&data, w, h, crate::frame::PixelFormat::I420) else { return };
    let held = detector.hold_batch_shape(shape.for_cameras(cameras));
    let frames = vec![frame; if held { 1 } else { cameras }];
    let mut outs: Vec<Vec<crate::frame::Detection>> = vec![Vec::new(); frames.len()];
    let mut call = |what: &str| -> Option<f64> {
        let started = Instant::now();
        match detector.detect_many(&frames, &mut outs) {
            Ok(_) => Some(started.elapsed().as_secs_f64() * 1e3),
            Err(e) => {
                tracing::warn!(error = %e, what, "Warm-up of the shared detector failed; its first live calls set it up instead.");
                None
            }
        }
    };
    let Some(first_ms) = call("first call") else { return };
    let Some(steady_ms) = call("second call") else { return };
    tracing::info!(
        cameras,
        batch_shape_held = held,
        first_ms = first_ms.round() as u64,
        steady_ms = format!("{steady_ms:.1}"),
        gpu_mib = crate::infer::gpu_memory_used_mb().map(|m| m.round() as u64),
        "Shared detector warmed up."
    );
}

impl Appliance {
    /// Starts one camera on the shared detector; a camera that cannot start is reported and the
    /// others go on.
    fn start_camera(&mut self, cfg: Config) {
        self.start_attempt(cfg, 0);
    }

    fn start_attempt(&mut self, cfg: Config, attempt: u32) {
        let id = cfg.source.id.clone();
        match self.spawn_camera(cfg.clone(), attempt) {
            Ok(c) => {
                // The GPU memory in use (whole card) as each camera joins: what a camera costs.
                let gpu_mib = crate::infer::gpu_memory_used_mb().map(|m| m.round() as u64);
                tracing::info!(camera = %id, gpu_mib, "Camera started.");
                self.cameras.push(c);
            }
            Err(e) => {
                tracing::error!(camera = %id, error = %format!("{e:#}"), "Camera not started; the others go on.");
                self.retry_or_fail(cfg, attempt);
            }
        }
    }

    /// Schedules another start of a camera that failed before its first frame, or counts it failed.
    fn retry_or_fail(&mut self, cfg: Config, attempt: u32) {
        if self.stopping || attempt + 1 >= START_ATTEMPTS {
            self.failed += 1;
            return;
        }
        let wait = FIRST_RETRY * 2u32.pow(attempt);
        tracing::warn!(camera = %cfg.source.id, wait_secs = wait.as_secs(), attempt = attempt + 2, of = START_ATTEMPTS, "The camera failed before its first frame; starting it again.");
        self.retries.push(Retry { at: Instant::now() + wait, cfg, attempt: attempt + 1 });
    }

    fn spawn_camera(&mut self, cfg: Config, attempt: u32) -> Result<RunningCamera> {
        let id = cfg.source.id.clone();
        let link = match &self.detector {
            Some(shared) => {
                DetectorLink::shared(shared.client().context("every mailbox of the shared detector is taken")?)
            }
            None => match self.spare.take() {
                Some(d) => d.into(),
                None => Detector::new(cfg.detector_options()).context("detector")?.into(),
            },
        };
        let topics = Topics::for_camera(&cfg.publish.topic_prefix, &cfg.device.id, &id);
        let ring = build_ring(&cfg, self.gpu_pre, gpu_frames_wanted_for(&cfg, self.gpu_pre));
        let keypoints = self
            .keypoints
            .as_ref()
            .filter(|_| cfg.pitch.calibrates_automatically())
            .and_then(|k| k.client(&cfg.pitch.keypoint_model));
        let links = (link, keypoints);
        let mut pipeline =
            Pipeline::start(cfg.clone(), links, ring, &self.publisher, topics.clone(), &self.opts, true)?;
        let camera_face = self.face.as_ref().map(|(f, _)| f.join(pipeline.face()));
        let supervisor_face = camera_face.clone();
        let (intents_tx, intents) = channel();
        let (configs_tx, configs) = sync_channel(2);
        let (remote_tx, remote_in) = sync_channel(16);
        let alive = Arc::new(AtomicBool::new(true));
        let link = CameraLink { id: id.clone(), configs, alive: Arc::clone(&alive) };
        let processed = Arc::clone(&pipeline.pipeline_stats);
        let publisher = Arc::clone(&self.publisher);
        let opts = self.opts.clone();
        let p = &publisher;
        p.try_publish(&topics.status, QoS::AtLeastOnce, true, status::ONLINE.as_bytes());
        p.try_publish(&topics.config_state, QoS::AtLeastOnce, true, remote::state_payload(cfg.raw()).as_bytes());
        let thread = std::thread::Builder::new()
            .name(format!("cam-{id}"))
            .spawn(move || {
                let mut supervisor = pipeline.supervisor(&publisher, opts, Some(link), supervisor_face)?;
                let progress = supervisor.run(&intents, &remote_in, &mut Notifier::disabled(), &pipeline.worker);
                drop(supervisor);
                publisher.try_publish(&pipeline.topics.status, QoS::AtLeastOnce, true, status::STOPPED.as_bytes());
                pipeline.finish(&progress, &publisher)
            })
            .context("spawning the camera's supervisor")?;
        Ok(RunningCamera {
            id,
            cfg,
            intents: intents_tx,
            configs: configs_tx,
            remote: remote_tx,
            alive,
            processed,
            face: camera_face,
            thread,
            stopping: false,
            attempt,
        })
    }

    /// Collects cameras that have ended, then starts those waiting for their previous run.
    fn reap(&mut self) {
        let mut k = 0;
        while k < self.cameras.len() {
            if !self.cameras[k].thread.is_finished() {
                k += 1;
                continue;
            }
            let c = self.cameras.swap_remove(k);
            if let (Some((face, _)), Some(camera)) = (&self.face, &c.face) {
                face.leave(camera);
            }
            match c.thread.join() {
                Ok(Ok(summary)) => {
                    tracing::info!(camera = %c.id, processed = summary.processed, "Camera stopped.");
                    self.summaries.push(summary);
                }
                Ok(Err(e)) => {
                    tracing::error!(camera = %c.id, error = %format!("{e:#}"), "Camera failed; the others go on.");
                    if c.processed.processed.load(Relaxed) == 0 && !c.stopping {
                        self.retry_or_fail(c.cfg, c.attempt);
                    } else {
                        self.failed += 1;
                    }
                }
                Err(_) => {
                    self.failed += 1;
                    tracing::error!(camera = %c.id, "Camera thread panicked; the others go on.");
                }
            }
        }
        let now = Instant::now();
        let (due, later): (Vec<Retry>, Vec<Retry>) =
            std::mem::take(&mut self.retries).into_iter().partition(|r| r.at <= now);
        self.retries = later;
        for r in due {
            if !self.stopping {
                self.start_attempt(r.cfg, r.attempt);
            }
        }
        let waiting = std::mem::take(&mut self.to_start);
        for cfg in waiting {
            if self.cameras.iter().any(|c| c.id == cfg.source.id) {
                self.to_start.push(cfg);
            } else {
                self.start_camera(cfg);
            }
        }
    }

    /// A `<device>/<camera>/config/set` message, to its camera's supervisor.
    fn route_remote(&self, msg: IncomingMessage, prefix: &str, device: &str) {
        let camera = Topics::camera_of(&msg.topic, prefix, device).map(str::to_string);
        match camera.and_then(|id| self.cameras.iter().find(|c| c.id == id && !c.stopping)) {
            Some(c) => {
                if c.remote.try_send(msg).is_err() {
                    tracing::warn!(camera = %c.id, "Remote config message dropped: the camera is still applying earlier ones.");
                }
            }
            None => tracing::warn!(topic = %msg.topic, "Remote config for no running camera; ignored."),
        }
    }

    /// SIGHUP: the file read again; cameras added, removed, restarted or changed; the shared
    /// detector changed. Refused as a whole (nothing changes) when the file is invalid or a new
    /// model does not load.
    fn reload(&mut self) {
        let Some(path) = self.opts.config_path.clone() else {
            tracing::error!("Reload refused: no configuration file to reload (started without -c).");
            return;
        };
        let new = match config::load_cameras(&path, self.opts.with_env) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "Reload refused; the running configuration stays.");
                return;
            }
        };
        let settings = new.first().clone();
        // A shared detector's new model is loaded here, once; cameras with their own load theirs.
        let loaded = match (self.detector.is_some() && detector_changed(&self.settings, &settings))
            .then(|| Detector::new(settings.detector_options()))
            .transpose()
        {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, model = %settings.model_path.display(), "Reload refused: the new model does not load; the running configuration stays.");
                return;
            }
        };
        for key in changes_needing_restart(&self.settings, &settings) {
            tracing::warn!(key, origin = "SIGHUP", "Changed, but only applied at restart.");
        }
        if settings.log.level != self.settings.log.level {
            crate::telemetry::logging::set_level(&settings.log.level);
        }
        if let Some(shared) = &self.detector
            && !shared.change(DetectorChange { loaded, config: Box::new(settings.clone()) })
        {
            tracing::warn!(
                "The shared detector is still taking earlier changes; its settings change with the next reload."
            );
        }
        self.settings = settings;
        for c in self.cameras.iter_mut().filter(|c| !c.stopping) {
            match new.get(&c.id) {
                None => {
                    tracing::info!(camera = %c.id, "Camera removed: draining and stopping it.");
                    c.stopping = true;
                    let _ = c.intents.send(Intent::Stop);
                }
                Some(cfg) if cfg.source != c.cfg.source => {
                    tracing::info!(camera = %c.id, "Camera source changed: restarting this camera.");
                    c.stopping = true;
                    let _ = c.intents.send(Intent::Stop);
                    self.to_start.push(cfg.clone());
                }
                Some(cfg) => {
                    if c.configs.try_send(Box::new(cfg.clone())).is_ok() {
                        c.cfg = cfg.clone();
                    } else {
                        tracing::warn!(camera = %c.id, "Camera still applying an earlier change; reload it again.");
                    }
                }
            }
        }
        // A camera waiting to be started again takes the file's new settings, or is dropped with it.
        self.retries.retain_mut(|r| match new.get(&r.cfg.source.id) {
            Some(cfg) => {
                r.cfg = cfg.clone();
                true
            }
            None => false,
        });
        for cfg in new.into_vec() {
            let running = self.cameras.iter().any(|c| c.id == cfg.source.id)
                || self.retries.iter().any(|r| r.cfg.source.id == cfg.source.id);
            if !running && !self.to_start.iter().any(|s| s.source.id == cfg.source.id) {
                tracing::info!(camera = %cfg.source.id, "Camera added.");
                self.start_camera(cfg);
            }
        }
        tracing::info!(cameras = self.cameras.iter().filter(|c| !c.stopping).count(), "Reloaded.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_shares_the_detector_on_a_gpu_among_several_cameras_only() {
        use DetectorSharing::*;
        for (sharing, gpu, cameras, want) in [
            (Auto, true, 8, true),
            (Auto, true, 1, false),
            (Auto, false, 8, false),
            (Shared, false, 2, true),
            (PerCamera, true, 8, false),
        ] {
            assert_eq!(shares_the_detector(sharing, gpu, cameras), want, "{sharing:?} gpu {gpu} cameras {cameras}");
        }
    }
}
