//! Wiring and lifecycle of one run: build the stages from a [`Config`], start their threads,
//! hand control to the [`Supervisor`], and shut down in order: stop the source, let the
//! inference thread drain the ring, publish `stopped`.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rumqttc::QoS;

use super::RunOptions;
use super::health::HealthReporter;
use super::host_pixels::HostPixels;
use super::processor::FrameProcessor;
use super::slots::{build_ring, gpu_frames_wanted};
use super::summary::{RunSummary, summarize_with_warmup};
use super::supervisor::Supervisor;
use super::worker::{Worker, WorkerCommand};
use crate::config::{Config, remote};
use crate::control::Intent;
use crate::control::sensors::Sensors;
use crate::control::systemd::Notifier;
use crate::control::throttle::Throttle;
use crate::infer::{Detector, KeypointModel};
use crate::publish::Publisher;
use crate::publish::annotate::{Annotator, SnapshotOptions};
use crate::shutdown::Shutdown;
use crate::source::{self, SourceStats};
use crate::telemetry::PipelineStats;

/// Runs the daemon until input ends or a stop intent arrives.
pub fn run(cfg: Config, intents: Receiver<Intent>, opts: RunOptions) -> Result<RunSummary> {
    let mut notifier = Notifier::from_env();
    source::init().context("GStreamer")?;

    let (publisher, remote_in) =
        Publisher::start(&cfg.publish, &cfg.device.id, cfg.control.remote_config).context("MQTT publisher")?;
    let publisher = Arc::new(publisher);
    publisher.try_publish(
        &publisher.topics().config_state,
        QoS::AtLeastOnce,
        true,
        remote::state_payload(cfg.raw()).as_bytes(),
    );

    let mut detector = Detector::new(cfg.detector_options()).context("detector")?;
    let wanted = gpu_frames_wanted(&cfg, &detector);
    let (ring, gpu_frames) = build_ring(&cfg, &mut detector, wanted);
    let pixels = host_pixels(&cfg, &opts, gpu_frames);
    let keypoints = keypoint_model(&cfg)?;
    let pipeline_stats = Arc::new(PipelineStats::default());
    let source_stats = Arc::new(SourceStats::default());
    source_stats.set_max_fps(cfg.infer.max_fps);
    let shutdown = Shutdown::new();
    let (cmd_tx, cmd_rx) = sync_channel::<WorkerCommand>(4);

    let worker = Worker {
        ring: Arc::clone(&ring),
        processor: FrameProcessor::new(detector, cfg.clone(), Arc::clone(&publisher), Arc::clone(&pipeline_stats))
            .with_annotator(annotator(&cfg, &opts, &publisher)?)
            .with_keypoints(keypoints),
        pixels,
        stats: Arc::clone(&pipeline_stats),
        source: Arc::clone(&source_stats),
        commands: cmd_rx,
        shutdown: shutdown.clone(),
    };
    let worker_thread = std::thread::Builder::new()
        .name("infer".into())
        .spawn(move || worker.run())
        .context("spawning the inference thread")?;

    let mut source_opts = cfg.source_options(opts.max_frames);
    source_opts.gpu_frames = gpu_frames;
    let source = source::spawn(
        source_opts,
        Arc::clone(&ring),
        worker_thread.thread().clone(),
        Arc::clone(&source_stats),
        shutdown.clone(),
    )
    .context("source")?;

    let sensors = Sensors::new(Path::new(&cfg.throttle.sysfs_root), Path::new(&cfg.throttle.procfs_root))
        .with_nvml(&cfg.throttle.nvml_library);
    let cfg_platform_procfs = cfg.throttle.procfs_root.clone();
    let mut supervisor = Supervisor {
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
        opts,
        current: cfg,
        shutdown,
        rate: Default::default(),
        pending: None,
        probation: None,
        platform: crate::control::platform::detect(Path::new(&cfg_platform_procfs), Path::new("/")),
    };
    let progress = supervisor.run(&intents, &remote_in, &mut notifier, &worker_thread);

    let worker_result = if worker_thread.is_finished() {
        worker_thread.join().map_err(|_| anyhow::anyhow!("inference thread panicked"))?
    } else {
        Ok(())
    };
    let source_decoder = source.decoder().as_str();
    let source_result = if source.is_finished() { source.join() } else { Ok(()) };
    publisher.stop(Duration::from_secs(2));

    let mut summary = summarize_with_warmup(&pipeline_stats, &source_stats, &ring, &progress, source_decoder);
    summary.dropped_publish = publisher.tracks_dropped();
    worker_result.context("inference")?;
    source_result.context("source")?;
    Ok(summary)
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
            if cfg.pitch.follow_camera || cfg.pitch.calibrates_automatically() {
                off.push(if cfg.pitch.follow_camera { "pitch.follow_camera" } else { "pitch.auto_calibrate" });
            }
            if opts.annotate.is_some() {
                off.push("--annotate");
            }
            if cfg.publish.snapshot_every_secs > 0.0 {
                off.push("publish.snapshot_every_secs");
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
/// calibration). A model that does not load stops the start: it is never silently off.
fn keypoint_model(cfg: &Config) -> Result<Option<KeypointModel>> {
    if !cfg.pitch.calibrates_automatically() {
        if cfg.pitch.auto_calibrate {
            tracing::info!(
                "pitch.auto_calibrate: a hand calibration is given and wins; the keypoint model does not run."
            );
        }
        return Ok(None);
    }
    let opts = cfg.keypoint_options().context("pitch.keypoint_model")?;
    let model = KeypointModel::new(opts).context("pitch keypoint model (or set pitch.auto_calibrate = false)")?;
    tracing::info!(model = %cfg.pitch.keypoint_model, provider = model.provider().as_str(), every_frames = cfg.pitch.keypoint_every_frames, "Pitch calibrated automatically from its keypoints.");
    Ok(Some(model))
}

/// The annotation thread, when a video or snapshots are asked for.
fn annotator(cfg: &Config, opts: &RunOptions, publisher: &Arc<Publisher>) -> Result<Option<Annotator>> {
    let p = &cfg.publish;
    let snapshots = (p.snapshot_every_secs > 0.0).then(|| SnapshotOptions {
        every_secs: p.snapshot_every_secs,
        path: (!p.snapshot_path.is_empty()).then(|| p.snapshot_path.clone().into()),
        publisher: Arc::clone(publisher),
        topic: publisher.topics().snapshot.clone(),
    });
    if opts.annotate.is_none() && snapshots.is_none() {
        return Ok(None);
    }
    Annotator::start(opts.annotate.clone(), snapshots).map(Some).context("annotated video")
}
