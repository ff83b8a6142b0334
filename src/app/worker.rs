//! The inference thread: takes frames from the ring and runs each through detection and the
//! finishing work (pixel features, tracking, the pitch, the message).
//!
//! With one frame in flight both run here, one after the other; with two (`infer.frames_in_flight`,
//! the default) the finishing work runs on a thread of its own one frame behind (`in_flight`). It
//! owns the detector and the tracker (no locks on the frame path). Settings changes arrive on a
//! bounded control channel and are applied between frames. It exits when the source has stopped
//! and the ring is empty, or when the shutdown is aborted.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

use super::host_pixels::HostPixels;
use super::processor::{ApplyRefused, FrameProcessor};
use crate::config::Config;
use crate::infer::InferError;
use crate::infer::pre::YuvFrame;
use crate::ring::{FrameRing, FrameSlot, ReadSlot};
use crate::shutdown::Shutdown;
use crate::source::{SourceState, SourceStats};
use crate::telemetry::{PipelineStats, Stage};

/// A change applied between frames; the worker answers on `reply` once it is applied, or
/// refused with nothing changed.
#[derive(Debug)]
pub(super) struct WorkerCommand {
    /// New settings (already validated).
    pub(super) config: Box<Config>,
    /// Where the outcome goes (a channel of one: the worker never waits on it).
    pub(super) reply: SyncSender<Result<(), ApplyRefused>>,
}

/// Everything the inference thread needs.
pub(super) struct Worker {
    /// Frames in.
    pub(super) ring: Arc<FrameRing>,
    /// The per-frame work.
    pub(super) processor: FrameProcessor,
    /// Counters written here.
    pub(super) stats: Arc<PipelineStats>,
    /// Source state (to know when input has ended).
    pub(super) source: Arc<SourceStats>,
    /// Host pixels of frames kept in GPU memory, one per frame in flight.
    pub(super) pixels: Vec<HostPixels>,
    /// Settings changes.
    pub(super) commands: Receiver<WorkerCommand>,
    /// Stop now, without draining, when aborted.
    pub(super) shutdown: Shutdown,
}

/// What the ring gave.
pub(super) enum Next {
    /// A frame to work on.
    Frame(ReadSlot),
    /// Nothing yet (waited a little).
    Idle,
    /// Input has ended and every frame is taken.
    Done,
}

impl Worker {
    /// Runs until input ends or the shutdown is aborted; finishes the annotated video either way.
    pub(super) fn run(self) -> Result<(), InferError> {
        if self.pixels.len() >= 2 {
            return super::in_flight::run(self);
        }
        let mut this = self;
        let result = this.run_frames();
        this.processor.finish_annotation();
        result
    }

    /// The next frame from `ring` (fed by a source with `source`'s state). Live sources: the freshest frame (older ones are dropped
    /// and counted); offline files (`block`): every frame, in order. The ring's policy decides.
    pub(super) fn next_frame_of(ring: &Arc<FrameRing>, source: &SourceStats) -> Next {
        if let Some(frame) = ring.next_frame() {
            return Next::Frame(frame);
        }
        // State first, then depth: the source publishes its last frame before it says Stopped.
        if source.state() == SourceState::Stopped && ring.depth() == 0 {
            return Next::Done;
        }
        // Woken by the source after each frame; the deadline only bounds a missed wake-up.
        std::thread::park_timeout(Duration::from_millis(20));
        Next::Idle
    }

    fn run_frames(&mut self) -> Result<(), InferError> {
        let mut failures = Failures::default();
        loop {
            if self.shutdown.is_aborted() {
                return Ok(());
            }
            while let Ok(cmd) = self.commands.try_recv() {
                let outcome = self.processor.apply(*cmd.config, self.source.fps().unwrap_or(25.0));
                answer(cmd.reply, outcome);
            }
            let frame = match Self::next_frame_of(&self.ring, &self.source) {
                Next::Frame(f) => f,
                Next::Idle => continue,
                Next::Done => return Ok(()),
            };
            let slot = frame.slot();
            let meta = slot.meta;
            let Some(yuv) = frame_view(slot) else { continue };
            // A frame in GPU memory is copied to the host while the detector works on it.
            let pixels = &mut self.pixels[0];
            pixels.start(&yuv);
            let detected = self.processor.detect_objects(&yuv);
            if detected.is_ok() {
                let t = Instant::now();
                let host = pixels.frame(&yuv);
                let copied = Instant::now();
                self.processor.read_pixels(host.as_ref());
                self.stats.add_stage_ns(Stage::HostCopy, (copied - t).as_nanos() as u64);
                self.stats.add_stage_ns(Stage::Pixels, copied.elapsed().as_nanos() as u64);
            }
            // The slot goes back to the decoder as soon as the pixels are no longer needed.
            drop(frame);
            if failures.count(detected.map(|_| ()), &self.stats)? {
                self.processor.track_and_publish(&meta, self.source.fps().unwrap_or(25.0));
            }
        }
    }
}

/// Sends a settings change's outcome to the supervisor, logging a refusal.
pub(super) fn answer(reply: SyncSender<Result<(), ApplyRefused>>, outcome: Result<(), ApplyRefused>) {
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "New settings refused; the running ones stay.");
    }
    // The supervisor waits for this answer; a full or closed channel means it gave up.
    let _ = reply.try_send(outcome);
}

/// The frame in a ring slot as the detector reads it: in GPU memory, or on the host (with its
/// device mapping where it has one); `None` for a slot too small for its size.
pub(super) fn frame_view(slot: &FrameSlot) -> Option<YuvFrame<'_>> {
    let meta = &slot.meta;
    match slot.data.device_ptr() {
        Some(ptr) if slot.data.is_device_only() => {
            YuvFrame::on_device(ptr, meta.width, meta.height, slot.format, slot.layout)
        }
        device => YuvFrame::new(&slot.data, meta.width, meta.height, slot.format).map(|f| f.with_device(device)),
    }
}

/// Consecutive inference failures: a transient one skips the frame; more than 25 in a row, or a
/// lasting one, stop the thread.
#[derive(Debug, Default)]
pub(super) struct Failures(u32);

impl Failures {
    /// `Ok(true)`: the frame was detected; `Ok(false)`: skipped; `Err`: stop.
    pub(super) fn count(
        &mut self,
        detected: Result<(), InferError>,
        stats: &PipelineStats,
    ) -> Result<bool, InferError> {
        match detected {
            Ok(()) => {
                self.0 = 0;
                Ok(true)
            }
            Err(e) => {
                stats.failed.fetch_add(1, Relaxed);
                self.0 += 1;
                if !e.is_transient() || self.0 > 25 {
                    return Err(e);
                }
                tracing::warn!(error = %e, "Frame skipped: inference failed.");
                Ok(false)
            }
        }
    }
}
