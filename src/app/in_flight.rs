//! Two frames in flight: the inference thread runs the model on frame N+1 while a finishing
//! thread reads frame N's pixels (the host copy of a GPU frame, team colours, calibration, the
//! annotated frame), tracks, maps and publishes it.
//!
//! Each frame travels in a [`Baton`]: its ring slot (held until its pixels are read), its
//! detections, its own host-copy buffer, and any settings change to apply first. The two batons
//! live in a [`SlotPool`]: the detector claims a free one, fills it, publishes it; the finisher
//! takes the oldest published one (so tracks stay in frame order), works, and releases it. No
//! lock and no allocation per frame: the pool's queues are lock-free and the batons are reused.
//! The ball's second look is aimed where the tracker expects the ball two frames on (the frame
//! being detected is one ahead of the last one tracked).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use super::detector_link::DetectorLink;
use super::host_pixels::HostPixels;
use super::processor::{FinisherModels, FrameFinisher, detect_into, prepare};
use super::worker::{Failures, Next, Worker, answer, frame_view};
use crate::config::Config;
use crate::frame::{Detection, FrameMeta};
use crate::infer::InferError;
use crate::pool::{Claim, SlotPool};
use crate::ring::ReadSlot;
use crate::telemetry::{PipelineStats, Stage};
use crate::wake::WakeCount;

/// How far ahead of the last tracked frame the frame being detected is.
const HINT_FRAMES_AHEAD: f32 = 2.0;

/// A settings change for the finisher: the keypoint model loaded for it, and the settings.
type Settings = Box<(FinisherModels, Config)>;

/// One frame on its way from the detector to the finisher.
struct Baton {
    /// The ring slot, held until the finisher has read its pixels (`None`: settings only).
    frame: Option<ReadSlot>,
    meta: FrameMeta,
    fps: f32,
    dets: Vec<Detection>,
    pixels: HostPixels,
    /// Applied by the finisher before this baton's frame.
    settings: Option<Settings>,
}

/// What the two threads share.
struct Handoff {
    batons: SlotPool<Baton, 2>,
    /// Notified when a baton is published or the detector side is done.
    ready: WakeCount,
    /// Notified when a baton is released.
    free: WakeCount,
    /// The detector side publishes nothing more.
    closed: AtomicBool,
    /// Where the ball is expected in the frame being detected: x and y as f32 bits, or [`NO_HINT`].
    ball_hint: AtomicU64,
}

const NO_HINT: u64 = u64::MAX;

impl Handoff {
    fn set_hint(&self, hint: Option<(f32, f32)>) {
        let bits = hint.map_or(NO_HINT, |(x, y)| (u64::from(x.to_bits()) << 32) | u64::from(y.to_bits()));
        self.ball_hint.store(bits, SeqCst);
    }

    fn hint(&self) -> Option<(f32, f32)> {
        let bits = self.ball_hint.load(SeqCst);
        (bits != NO_HINT).then(|| (f32::from_bits((bits >> 32) as u32), f32::from_bits(bits as u32)))
    }

    fn publish(&self, claim: Claim) {
        self.batons.publish(claim);
        self.ready.notify();
    }

    fn close(&self) {
        self.closed.store(true, SeqCst);
        self.ready.notify();
    }
}

/// Runs the worker with two frames in flight until input ends or the shutdown is aborted;
/// finishes the annotated video either way.
pub(super) fn run(worker: Worker) -> Result<(), InferError> {
    let Worker { ring, processor, stats, source, pixels, commands, shutdown } = worker;
    let mut config = processor.config().clone();
    let (mut detector, dets, mut finisher) = processor.into_parts();
    let mut spare_dets = Some(dets);
    let batons: Vec<Baton> = pixels
        .into_iter()
        .take(2)
        .map(|pixels| Baton {
            frame: None,
            meta: FrameMeta::default(),
            fps: 25.0,
            dets: spare_dets.take().unwrap_or_else(|| Vec::with_capacity(512)),
            pixels,
            settings: None,
        })
        .collect();
    let handoff = Handoff {
        batons: SlotPool::new(batons),
        ready: WakeCount::default(),
        free: WakeCount::default(),
        closed: AtomicBool::new(false),
        ball_hint: AtomicU64::new(NO_HINT),
    };
    // Named after the camera as its inference thread is (`infer-<id>` -> `finish-<id>`).
    let name = match std::thread::current().name().and_then(|n| n.strip_prefix("infer-")) {
        Some(id) => format!("finish-{id}"),
        None => "finish".to_owned(),
    };
    let result = std::thread::scope(|s| {
        let finishing = std::thread::Builder::new()
            .name(name)
            .spawn_scoped(s, || finish_frames(&handoff, &mut finisher, &stats))
            .map_err(|e| InferError::Run(format!("spawning the finishing thread: {e}")))?;
        let feed = Feed { ring: &ring, source: &source, finishing: &finishing };
        let detected = detect_frames(&handoff, &feed, &mut detector, &mut config, &stats, &commands, &shutdown);
        handoff.close();
        let finished = finishing.join();
        finished.map_err(|_| InferError::Run("the finishing thread panicked".into()))?;
        detected
    });
    finisher.finish_annotation();
    result
}

/// Where the detector side's frames come from, and the thread it hands them to.
struct Feed<'a, 'scope> {
    ring: &'a Arc<crate::ring::FrameRing>,
    source: &'a crate::source::SourceStats,
    finishing: &'a std::thread::ScopedJoinHandle<'scope, ()>,
}

impl Feed<'_, '_> {
    /// A free baton, waiting for the finisher to release one; `None` if the finisher is gone.
    fn claim_free(&self, handoff: &Handoff) -> Option<Claim> {
        loop {
            if let Some(c) = handoff.free.wait_for(Duration::from_millis(100), || handoff.batons.claim_free()) {
                return Some(c);
            }
            if self.finishing.is_finished() {
                return None;
            }
        }
    }
}

/// The inference thread's side: settings changes, then the next frame detected into a baton.
fn detect_frames(
    handoff: &Handoff,
    feed: &Feed<'_, '_>,
    detector: &mut DetectorLink,
    config: &mut Config,
    stats: &PipelineStats,
    commands: &std::sync::mpsc::Receiver<super::worker::WorkerCommand>,
    shutdown: &crate::shutdown::Shutdown,
) -> Result<(), InferError> {
    let mut failures = Failures::default();
    let mut held: Option<Claim> = None;
    let mut pending: Option<Settings> = None;
    let gone = || InferError::Run("the finishing thread stopped".into());
    loop {
        if shutdown.is_aborted() {
            return Ok(());
        }
        while let Ok(cmd) = commands.try_recv() {
            let cfg = *cmd.config;
            // Models load here; the detector changes now, the rest with the next baton.
            let outcome = prepare(config, &cfg, detector.owns_model()).map(|p| {
                detector.apply(p.detector, &cfg);
                pending = Some(Box::new((p.finisher, cfg.clone())));
                *config = cfg;
            });
            answer(cmd.reply, outcome);
        }
        let mut claim = match held.take() {
            Some(c) => c,
            None => feed.claim_free(handoff).ok_or_else(gone)?,
        };
        let fps = feed.source.fps().unwrap_or(25.0);
        let baton = handoff.batons.get_mut(&mut claim);
        baton.fps = fps;
        if let Some(s) = pending.take() {
            baton.settings = Some(s);
            baton.frame = None;
            handoff.publish(claim);
            continue;
        }
        let frame = match Worker::next_frame_of(feed.ring, feed.source) {
            Next::Frame(f) => f,
            Next::Idle => {
                held = Some(claim);
                continue;
            }
            Next::Done => return Ok(()),
        };
        let meta = frame.slot().meta;
        let Some(yuv) = frame_view(frame.slot()) else {
            held = Some(claim);
            continue;
        };
        // A frame in GPU memory is copied to the host while the detector works on it.
        baton.pixels.start(&yuv);
        let detected = detect_into(detector, stats, &yuv, handoff.hint(), &mut baton.dets);
        if !failures.count(detected.map(|_| ()), stats)? {
            held = Some(claim);
            continue;
        }
        baton.frame = Some(frame);
        baton.meta = meta;
        handoff.publish(claim);
    }
}

/// The finishing thread: the oldest published baton's settings, pixels, tracks and message, until
/// the detector side is done and every baton is finished.
fn finish_frames(handoff: &Handoff, finisher: &mut FrameFinisher, stats: &PipelineStats) {
    loop {
        let mut claim = match handoff.ready.wait_for(Duration::from_millis(100), || handoff.batons.claim_oldest_ready())
        {
            Some(c) => c,
            // Closed after its last publish: what is not ready now never will be.
            None if handoff.closed.load(SeqCst) => match handoff.batons.claim_oldest_ready() {
                Some(c) => c,
                None => return,
            },
            None => continue,
        };
        let baton = handoff.batons.get_mut(&mut claim);
        if let Some(settings) = baton.settings.take() {
            let (models, cfg) = *settings;
            finisher.apply(models, cfg, baton.fps);
        }
        if let Some(frame) = baton.frame.take() {
            let t = Instant::now();
            let host = frame_view(frame.slot()).and_then(|yuv| baton.pixels.frame(&yuv));
            let copied = Instant::now();
            finisher.read_pixels(host.as_ref(), &mut baton.dets);
            stats.add_stage_ns(Stage::HostCopy, (copied - t).as_nanos() as u64);
            stats.add_stage_ns(Stage::Pixels, copied.elapsed().as_nanos() as u64);
            // The slot goes back to the decoder as soon as the pixels are no longer needed.
            drop(frame);
            finisher.track_and_publish(&baton.dets, &baton.meta, baton.fps);
            handoff.set_hint(finisher.ball_hint(HINT_FRAMES_AHEAD));
        }
        handoff.batons.release(claim);
        handoff.free.notify();
    }
}
