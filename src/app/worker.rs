//! The inference thread: takes frames from the ring, detects, tracks and publishes.
//!
//! It owns the detector and the tracker (no locks on the frame path). Settings changes arrive on
//! a bounded control channel and are applied between frames. It exits when the source has
//! stopped and the ring is empty, or when told to stop at once.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::frame::{Detection, monotonic_ns, unix_ns};
use crate::infer::pre::YuvFrame;
use crate::infer::{Detector, InferError};
use crate::pitch::PitchMapper;
use crate::publish::Publisher;
use crate::publish::payload::{TrackMessageHeader, encode_tracks};
use crate::ring::{FrameRing, OverflowPolicy};
use crate::shutdown::Shutdown;
use crate::source::{SourceState, SourceStats};
use crate::telemetry::{PipelineStats, Stage};
use crate::track::Tracker;

/// A change applied between frames.
#[derive(Debug)]
pub(super) enum WorkerCommand {
    /// New settings (already validated).
    Apply(Box<Config>),
}

/// Everything the inference thread needs.
pub(super) struct Worker {
    /// Frames in.
    pub(super) ring: Arc<FrameRing>,
    /// The detector, loaded.
    pub(super) detector: Detector,
    /// Tracks out.
    pub(super) publisher: Arc<Publisher>,
    /// Counters written here.
    pub(super) stats: Arc<PipelineStats>,
    /// Source state (to know when input has ended).
    pub(super) source: Arc<SourceStats>,
    /// Settings changes.
    pub(super) commands: Receiver<WorkerCommand>,
    /// Stop now, without draining, when aborted.
    pub(super) shutdown: Shutdown,
    /// Current settings.
    pub(super) config: Config,
}

impl Worker {
    /// Runs until input ends or the shutdown is aborted.
    pub(super) fn run(mut self) -> Result<(), InferError> {
        let mut dets: Vec<Detection> = Vec::with_capacity(512);
        let mut payload = String::with_capacity(16 * 1024);
        let mut tracker: Option<Tracker> = None;
        let mut pitch = PitchMapper::new(self.config.pitch.homography());
        let mut last_number: Option<u64> = None;
        let mut consecutive_failures = 0u32;
        let device = self.config.device.id.clone();
        let mut source_id = self.config.source.id.clone();
        loop {
            if self.shutdown.is_aborted() {
                return Ok(());
            }
            while let Ok(WorkerCommand::Apply(cfg)) = self.commands.try_recv() {
                self.apply(*cfg, tracker.as_mut());
                source_id = self.config.source.id.clone();
                pitch.set_homography(self.config.pitch.homography());
            }
            // Live sources: always the freshest frame (older ones are dropped and counted).
            // Offline files (`block`): every frame, in order.
            let next = match self.ring.policy() {
                OverflowPolicy::DropOldest => self.ring.take_latest(),
                OverflowPolicy::Block => self.ring.take(),
            };
            let Some(frame) = next else {
                // State first, then depth: the source publishes its last frame before it says Stopped.
                if self.source.state() == SourceState::Stopped && self.ring.depth() == 0 {
                    return Ok(());
                }
                std::thread::park_timeout(Duration::from_millis(20));
                continue;
            };
            let slot = frame.slot();
            let meta = slot.meta;
            let Some(yuv) = YuvFrame::new(&slot.data, meta.width, meta.height, slot.format) else { continue };
            let yuv = yuv.with_device(slot.data.device_ptr());

            let detected = self.detector.detect(&yuv, &mut dets);
            drop(frame);
            let timing = match detected {
                Ok(t) => {
                    consecutive_failures = 0;
                    t
                }
                Err(e) => {
                    self.stats.failed.fetch_add(1, Relaxed);
                    consecutive_failures += 1;
                    if !e.is_transient() || consecutive_failures > 25 {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, "Frame skipped: inference failed.");
                    continue;
                }
            };
            self.stats.add_stage_ns(Stage::Pre, (timing.pre_secs * 1e9) as u64);
            self.stats.add_stage_ns(Stage::Infer, (timing.infer_secs * 1e9) as u64);
            self.stats.add_stage_ns(Stage::Post, (timing.post_secs * 1e9) as u64);
            self.stats.inference.record_ns((timing.infer_secs * 1e9) as u64);

            let t_track = Instant::now();
            let fps = self.source.fps().unwrap_or(25.0);
            let tracker = tracker.get_or_insert_with(|| Tracker::new(self.config.tracker_options(fps)));
            let dt = last_number.map_or(1.0, |n| meta.number.saturating_sub(n).max(1) as f32);
            last_number = Some(meta.number);
            let tracks = tracker.step(dt, &dets);
            let t_publish = Instant::now();
            self.stats.add_stage_ns(Stage::Track, (t_publish - t_track).as_nanos() as u64);

            let stream_secs = meta.pts_ns.map_or(meta.number as f64 / fps as f64, |p| p as f64 / 1e9);
            let pitch_pos = pitch.map(tracks, stream_secs);
            let header = TrackMessageHeader { device: &device, source: &source_id, publish_unix_ns: unix_ns() };
            encode_tracks(&mut payload, header, &meta, tracks, pitch_pos);
            if !self.publisher.publish_tracks(payload.as_bytes()) {
                self.stats.publish_dropped.fetch_add(1, Relaxed);
            }
            self.stats.last_tracks.store(tracks.len() as u64, Relaxed);
            self.stats.add_stage_ns(Stage::Publish, t_publish.elapsed().as_nanos() as u64);
            self.stats.latency.record_ns(monotonic_ns().saturating_sub(meta.capture_mono_ns));
            self.stats.processed.fetch_add(1, Relaxed);
        }
    }

    fn apply(&mut self, cfg: Config, tracker: Option<&mut Tracker>) {
        if cfg.model_path != self.config.model_path {
            match Detector::new(cfg.detector_options()) {
                Ok(d) => {
                    self.detector = d;
                    tracing::info!(model = %cfg.model_path.display(), "Model switched between frames.");
                }
                Err(e) => {
                    tracing::error!(error = %e, "New model failed to load; keeping the old one.");
                    return;
                }
            }
        }
        let i = &cfg.infer;
        self.detector.set_options(i.score_threshold, i.nms_iou_threshold, i.tiles());
        if let Some(t) = tracker {
            t.set_options(cfg.tracker_options(self.source.fps().unwrap_or(25.0)));
        }
        self.config = cfg;
        tracing::info!("Settings applied between frames.");
    }
}
