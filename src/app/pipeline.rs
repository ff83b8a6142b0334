//! One camera's pipeline: its source thread, ring, inference thread (and finishing thread),
//! counters and shutdown token; started from its configuration and a detector (its own, or its
//! mailbox at the shared one), supervised, then joined into its run summary.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{Context, Result};

use super::RunOptions;
use super::detector_link::DetectorLink;
use super::face::CameraFace;
use super::health::HealthReporter;
use super::host_pixels::HostPixels;
use super::processor::FrameProcessor;
use super::shared_keypoints::{KeypointClient, KeypointLink};
use super::summary::{RunSummary, summarize_with_warmup};
use super::supervisor::{CameraLink, Progress, Supervisor};
use super::worker::{Worker, WorkerCommand};
use crate::config::Config;
use crate::control::sensors::Sensors;
use crate::control::throttle::Throttle;
use crate::infer::{BallCheck, InferError, KeypointModel, RoleClassifier};
use crate::publish::annotate::{Annotator, LiveOptions, LiveView, SnapshotOptions};
use crate::publish::{Publisher, Topics};
use crate::ring::FrameRing;
use crate::shutdown::Shutdown;
use crate::source::{self, SourceHandle, SourceStats};
use crate::telemetry::PipelineStats;

/// One camera's running threads and what they share.
pub(super) struct Pipeline {
    /// The configuration it started with.
    pub(super) cfg: Config,
    pub(super) ring: Arc<FrameRing>,
    pub(super) pipeline_stats: Arc<PipelineStats>,
    pub(super) source_stats: Arc<SourceStats>,
    pub(super) shutdown: Shutdown,
    pub(super) worker: JoinHandle<Result<(), InferError>>,
    pub(super) source: SourceHandle,
    pub(super) topics: Topics,
    /// The live annotated picture for the HTTP face (`None`: the face is off).
    pub(super) live: Option<Arc<LiveView>>,
    cmd_tx: Option<SyncSender<WorkerCommand>>,
}

impl Pipeline {
    /// Starts the camera of `cfg`: the inference thread on `detector`, then the source feeding
    /// `ring` (`gpu_frames`: its slots are GPU memory). `per_camera`: one of several cameras
    /// (its snapshot and annotated video files are named with its id).
    pub(super) fn start(
        cfg: Config,
        (detector, shared_keypoints): (DetectorLink, Option<KeypointClient>),
        (ring, gpu_frames): (Arc<FrameRing>, bool),
        publisher: &Arc<Publisher>,
        topics: Topics,
        opts: &RunOptions,
        per_camera: bool,
    ) -> Result<Self> {
        let pixels = host_pixels(&cfg, opts, gpu_frames);
        let live = cfg.http.enabled().then(|| Arc::new(LiveView::new(cfg.http.mjpeg_max_fps)));
        let keypoints = keypoint_model(&cfg, shared_keypoints)?;
        let roles = role_model(&cfg)?;
        let ball_check = ball_check(&cfg)?;
        let pipeline_stats = Arc::new(PipelineStats::default());
        let source_stats = Arc::new(SourceStats::default());
        source_stats.set_max_fps(cfg.infer.max_fps);
        let shutdown = Shutdown::new();
        let (cmd_tx, cmd_rx) = sync_channel::<WorkerCommand>(4);
        let worker = Worker {
            ring: Arc::clone(&ring),
            processor: FrameProcessor::new(detector, cfg.clone(), Arc::clone(publisher), Arc::clone(&pipeline_stats))
                .with_tracks_topic(&topics.tracks)
                .with_annotator(annotator(&cfg, opts, (publisher, &topics), per_camera, live.clone())?)
                .with_keypoints(keypoints)
                .with_roles(roles)
                .with_ball_check(ball_check),
            pixels,
            stats: Arc::clone(&pipeline_stats),
            source: Arc::clone(&source_stats),
            commands: cmd_rx,
            shutdown: shutdown.clone(),
        };
        let name = if per_camera { format!("infer-{}", cfg.source.id) } else { "infer".into() };
        let worker = std::thread::Builder::new()
            .name(name)
            .spawn(move || worker.run())
            .context("spawning the inference thread")?;
        let mut source_opts = cfg.source_options(opts.max_frames);
        source_opts.gpu_frames = gpu_frames;
        let source = match source::spawn(
            source_opts,
            Arc::clone(&ring),
            worker.thread().clone(),
            Arc::clone(&source_stats),
            shutdown.clone(),
        ) {
            Ok(s) => s,
            Err(e) => {
                // The inference thread drains nothing and ends.
                shutdown.abort();
                let _ = worker.join();
                return Err(e).context("source");
            }
        };
        Ok(Pipeline {
            cfg,
            ring,
            pipeline_stats,
            source_stats,
            shutdown,
            worker,
            source,
            topics,
            live,
            cmd_tx: Some(cmd_tx),
        })
    }

    /// This camera as the HTTP face shows it.
    pub(super) fn face(&self) -> CameraFace {
        CameraFace::new(
            &self.cfg.source.id,
            (Arc::clone(&self.pipeline_stats), Arc::clone(&self.source_stats), Arc::clone(&self.ring)),
            self.live.clone(),
            crate::config::remote::state_payload(self.cfg.raw()),
        )
    }

    /// The control loop for this camera (`camera`: one of several).
    pub(super) fn supervisor(
        &mut self,
        publisher: &Arc<Publisher>,
        opts: RunOptions,
        camera: Option<CameraLink>,
        face: Option<Arc<CameraFace>>,
    ) -> Result<Supervisor> {
        let cfg = &self.cfg;
        let cmd_tx = self.cmd_tx.take().context("the supervisor of this camera was already made")?;
        let sensors = Sensors::new(Path::new(&cfg.throttle.sysfs_root), Path::new(&cfg.throttle.procfs_root))
            .with_nvml(&cfg.throttle.nvml_library);
        Ok(Supervisor {
            throttle: Throttle::new(&cfg.throttle, 30.0),
            throttle_ceiling_known: false,
            health: HealthReporter::default(),
            readings: sensors.read(),
            sensors,
            last_health: Instant::now(),
            last_throttle: Instant::now(),
            last_status: Instant::now(),
            publisher: Arc::clone(publisher),
            source_stats: Arc::clone(&self.source_stats),
            pipeline_stats: Arc::clone(&self.pipeline_stats),
            ring: Arc::clone(&self.ring),
            decoder: self.source.decoder().as_str(),
            cmd_tx,
            opts,
            current: cfg.clone(),
            shutdown: self.shutdown.clone(),
            rate: Default::default(),
            pending: None,
            probation: None,
            platform: crate::control::platform::detect(Path::new(&cfg.throttle.procfs_root), Path::new("/")),
            topics: self.topics.clone(),
            camera,
            face,
        })
    }

    /// Joins the threads (once the supervisor has returned) and sums up the run.
    pub(super) fn finish(self, progress: &Progress, publisher: &Publisher) -> Result<RunSummary> {
        let worker_result = if self.worker.is_finished() {
            self.worker.join().map_err(|_| anyhow::anyhow!("inference thread panicked"))?
        } else {
            Ok(())
        };
        let decoder = self.source.decoder().as_str();
        let source_result = if self.source.is_finished() { self.source.join() } else { Ok(()) };
        let mut summary =
            summarize_with_warmup(&self.pipeline_stats, &self.source_stats, &self.ring, progress, decoder);
        summary.camera = self.cfg.source.id.clone();
        summary.dropped_publish = publisher.tracks_dropped();
        worker_result.context("inference")?;
        source_result.context("source")?;
        Ok(summary)
    }
}

/// `path` with `-<camera>` before its extension: each camera of several writes its own file.
pub(super) fn camera_file(path: &Path, camera: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{camera}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{camera}"),
    };
    path.with_file_name(name)
}

/// Host pixels for the features that read them, one per frame in flight. With frames kept in GPU
/// memory each frame is copied to the host; where that copy cannot be had, the features that need
/// it are named once, at start, never silently off.
fn host_pixels(cfg: &Config, opts: &RunOptions, gpu_frames: bool) -> Vec<HostPixels> {
    let in_flight = cfg.infer.frames_in_flight.max(1);
    let copies: Result<Vec<HostPixels>, String> = (0..in_flight).map(|_| HostPixels::for_frames(gpu_frames)).collect();
    match copies {
        Ok(p) => {
            if gpu_frames {
                tracing::info!(
                    buffers = in_flight,
                    "Frames stay in GPU memory; each is also copied to page-locked host memory for the pixel features."
                );
            }
            p
        }
        Err(e) => {
            let mut off = Vec::new();
            if cfg.track.teams {
                off.push("track.teams");
            }
            if !cfg.infer.role_model.is_empty() {
                off.push("infer.role_model");
            }
            if !cfg.infer.ball_check_model.is_empty() {
                off.push("infer.ball_check_model");
            }
            if cfg.pitch.follow_camera || cfg.pitch.calibrates_automatically() {
                off.push(if cfg.pitch.follow_camera { "pitch.follow_camera" } else { "pitch.auto_calibrate" });
            }
            if opts.annotate.is_some() {
                off.push("--annotate");
            }
            if cfg.publish.snapshot_every_secs > 0.0 {
                off.push("publish.snapshot_every_secs");
            }
            if cfg.http.enabled() {
                off.push("the HTTP face's live view (http.listen)");
            }
            if !off.is_empty() {
                tracing::warn!(
                    error = %e,
                    features = %off.join(", "),
                    "Decoded frames stay in GPU memory and cannot be copied to the host: these features read host pixels and are off; set source.gpu_frames = false to keep them."
                );
            }
            (0..in_flight).map(|_| HostPixels::host_frames_only()).collect()
        }
    }
}

/// The pitch keypoint model, when it calibrates (`pitch.auto_calibrate` without a hand
/// calibration): the `shared` one when given, else one of the camera's own. A model that does not
/// load stops the start: it is never silently off.
fn keypoint_model(cfg: &Config, shared: Option<KeypointClient>) -> Result<Option<KeypointLink>> {
    if !cfg.pitch.calibrates_automatically() {
        if cfg.pitch.auto_calibrate {
            tracing::info!(
                "pitch.auto_calibrate: a hand calibration is given and wins; the keypoint model does not run."
            );
        }
        return Ok(None);
    }
    let model = match shared {
        Some(client) => {
            tracing::info!(model = %cfg.pitch.keypoint_model, every_frames = cfg.pitch.keypoint_every_frames, "Pitch calibrated automatically from its keypoints (the keypoint model all cameras share).");
            KeypointLink::Shared(client)
        }
        None => {
            let opts = cfg.keypoint_options().context("pitch.keypoint_model")?;
            let model =
                KeypointModel::new(opts).context("pitch keypoint model (or set pitch.auto_calibrate = false)")?;
            tracing::info!(model = %cfg.pitch.keypoint_model, provider = model.provider().as_str(), every_frames = cfg.pitch.keypoint_every_frames, "Pitch calibrated automatically from its keypoints.");
            KeypointLink::Own(Box::new(model))
        }
    };
    if cfg.track.pitch_association == crate::track::PitchAssociation::Hand {
        tracing::info!(
            "Tracking stays in the image with the automatic calibration (track.pitch_association = \"hand\": its fits measured too unsteady to track on; \"always\" tracks on them too). Pitch positions are published either way."
        );
    }
    Ok(Some(model))
}

/// The role model, when `infer.role_model` names one. A model that does not load stops the
/// start: it is never silently off.
fn role_model(cfg: &Config) -> Result<Option<RoleClassifier>> {
    let Some(opts) = cfg.role_options() else {
        tracing::info!("infer.role_model is empty: the detector's roles stand.");
        return Ok(None);
    };
    let model = RoleClassifier::new(opts).context("infer.role_model (or set infer.role_model = \"\")")?;
    tracing::info!(model = %cfg.infer.role_model, "Roles decided by the role model on each person's crop (CPU).");
    Ok(Some(model))
}

/// The ball check, when `infer.ball_check_model` names one. A model that does not load stops the
/// start: it is never silently off.
fn ball_check(cfg: &Config) -> Result<Option<BallCheck>> {
    let Some(opts) = cfg.ball_check_options() else {
        tracing::info!("infer.ball_check_model is empty: the detector's ball scores stand.");
        return Ok(None);
    };
    let model = BallCheck::new(opts).context("infer.ball_check_model (or set infer.ball_check_model = \"\")")?;
    tracing::info!(model = %cfg.infer.ball_check_model, "Ball candidates checked on their window of the frame (CPU).");
    Ok(Some(model))
}

/// The annotation thread, when a video, snapshots or the HTTP face's live view are asked for.
fn annotator(
    cfg: &Config,
    opts: &RunOptions,
    (publisher, topics): (&Arc<Publisher>, &Topics),
    per_camera: bool,
    live: Option<Arc<LiveView>>,
) -> Result<Option<Annotator>> {
    let p = &cfg.publish;
    let own = |path: PathBuf| if per_camera { camera_file(&path, &cfg.source.id) } else { path };
    let snapshots = (p.snapshot_every_secs > 0.0).then(|| SnapshotOptions {
        every_secs: p.snapshot_every_secs,
        path: (!p.snapshot_path.is_empty()).then(|| own(p.snapshot_path.clone().into())),
        publisher: Arc::clone(publisher),
        topic: topics.snapshot.clone(),
    });
    let video = opts.annotate.clone().map(own);
    let live = live.map(|view| LiveOptions { view, jpeg_quality: cfg.http.jpeg_quality });
    if video.is_none() && snapshots.is_none() && live.is_none() {
        return Ok(None);
    }
    Annotator::start(video, snapshots, live).map(Some).context("annotated video")
}

#[cfg(test)]
mod tests {
    use super::camera_file;
    use std::path::Path;

    #[test]
    fn each_camera_writes_its_own_file() {
        assert_eq!(camera_file(Path::new("/var/lib/f/snap.jpg"), "left"), Path::new("/var/lib/f/snap-left.jpg"));
        assert_eq!(camera_file(Path::new("out"), "b"), Path::new("out-b"));
    }
}
