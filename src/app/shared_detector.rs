//! One detector for several cameras. Each camera's inference thread hands its frame to a
//! mailbox and waits; the detection thread runs every frame waiting at that moment in one
//! batched model call (frames of one size per call), answers each mailbox and starts again. It
//! never waits for a camera that has no frame: a stalled or slow camera is simply not in the
//! batch, and while the GPU works on one batch the next one gathers (as nvstreammux batches
//! whatever is ready). No lock and no allocation per frame: mailboxes are fixed, their states
//! atomic, their buffers reused.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::mailbox::{Mailboxes, StoppedOnDrop};
use crate::config::{Config, MAX_CAMERAS};
use crate::frame::{Detection, YuvFrame};
use crate::infer::{DetectTiming, Detector, InferError};

/// The batch shape the shared detector holds on a GPU: the cameras it serves, at most `most`
/// frames a call (0 = no limit; `infer.shared_call_frames`).
#[derive(Clone, Copy, Debug)]
pub(super) struct CallShape {
    pub(super) most: usize,
}

impl CallShape {
    /// Frames per call for `cameras` served.
    pub(super) fn for_cameras(self, cameras: usize) -> usize {
        if self.most == 0 { cameras } else { cameras.min(self.most) }
    }
}

/// One camera's request and answer.
struct Work {
    /// The frame, valid while the camera waits (it holds the ring slot and blocks until answered).
    frame: Option<YuvFrame<'static>>,
    hint: Option<(f32, f32)>,
    dets: Vec<Detection>,
    result: Result<DetectTiming, InferError>,
}

/// A new model or new thresholds for the shared detector (`infer`, loaded beforehand).
pub(super) struct DetectorChange {
    /// A newly loaded detector, when the model changed.
    pub(super) loaded: Option<Detector>,
    /// The settings it takes.
    pub(super) config: Box<Config>,
}

/// The detection thread and the way into it.
pub(super) struct SharedDetector {
    shared: Arc<Mailboxes<Work>>,
    changes: SyncSender<DetectorChange>,
    thread: Option<JoinHandle<()>>,
}

impl SharedDetector {
    /// Starts the detection thread with `detector`, its batch shape held for `cameras` frames
    /// at most `shape.most` a call (on a GPU; see `Detector::hold_batch_shape`); a call waits up
    /// to `gather` for every camera's frame once one has arrived.
    pub(super) fn start(
        detector: Detector,
        (cameras, shape): (usize, CallShape),
        gather: Duration,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Mailboxes::new(MAX_CAMERAS, || Work {
            frame: None,
            hint: None,
            dets: Vec::with_capacity(512),
            result: Ok(DetectTiming::default()),
        }));
        let (changes, changes_in) = sync_channel(4);
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new().name("detect".into()).spawn(move || {
                let _stopped = StoppedOnDrop(&*shared);
                detect_batches(&shared, detector, (cameras, shape, gather), &changes_in);
            })?
        };
        Ok(SharedDetector { shared, changes, thread: Some(thread) })
    }

    /// A mailbox for one camera; `None` when every one is taken.
    pub(super) fn client(&self) -> Option<DetectorClient> {
        let index = self.shared.take()?;
        Some(DetectorClient { shared: Arc::clone(&self.shared), index })
    }

    /// Hands a settings change to the detection thread (applied between batches); false when
    /// it cannot take it now.
    pub(super) fn change(&self, change: DetectorChange) -> bool {
        self.changes.try_send(change).is_ok()
    }

    /// Stops the detection thread once the cameras have stopped.
    pub(super) fn stop(mut self) {
        self.shared.ask_to_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One camera's way to the shared detector.
pub(super) struct DetectorClient {
    shared: Arc<Mailboxes<Work>>,
    index: usize,
}

impl DetectorClient {
    /// Detects on `frame` with the others waiting at the same time; `out` gets this frame's
    /// detections. Blocks until answered.
    pub(super) fn detect_with_hint(
        &mut self,
        frame: &YuvFrame<'_>,
        hint: Option<(f32, f32)>,
        out: &mut Vec<Detection>,
    ) -> Result<DetectTiming, InferError> {
        // SAFETY: this client holds its mailbox and `&mut self` keeps it to one thread. The
        // frame's borrow is extended for the detection thread, which reads it only until it
        // answers; `call` does not return before the answer (or the thread's end), and the
        // caller's borrow outlives the call.
        let frame = unsafe { std::mem::transmute::<YuvFrame<'_>, YuvFrame<'static>>(*frame) };
        let answered = unsafe {
            self.shared.call(
                self.index,
                |w| {
                    w.frame = Some(frame);
                    w.hint = hint;
                },
                |w| {
                    // Buffers change hands, not detections: `out` takes the answer, the mailbox
                    // `out`'s old one.
                    std::mem::swap(out, &mut w.dets);
                    std::mem::replace(&mut w.result, Ok(DetectTiming::default()))
                },
                |w| w.frame = None,
            )
        };
        answered.unwrap_or_else(|_| Err(InferError::Runtime("the shared detector has stopped".into())))
    }
}

impl Drop for DetectorClient {
    fn drop(&mut self) {
        self.shared.give_back(self.index);
    }
}

/// The detection thread: waits for submitted frames, claims them all, detects them in batches of
/// one frame size, answers; applies settings changes between batches.
fn detect_batches(
    shared: &Mailboxes<Work>,
    mut detector: Detector,
    (cameras, shape, gather): (usize, CallShape, Duration),
    changes: &Receiver<DetectorChange>,
) {
    let n = MAX_CAMERAS;
    let mut claimed: Vec<usize> = Vec::with_capacity(n);
    let mut group: Vec<usize> = Vec::with_capacity(n);
    let mut frames: Vec<YuvFrame<'static>> = Vec::with_capacity(n);
    let mut hints: Vec<Option<(f32, f32)>> = Vec::with_capacity(n);
    let mut outs: Vec<Vec<Detection>> = (0..n).map(|_| Vec::with_capacity(512)).collect();
    // The batch shape held: the most cameras served at once (it grows, never shrinks: a smaller
    // shape would be set up again as soon as the camera came back).
    let mut held = shape.for_cameras(cameras);
    if !detector.hold_batch_shape(held) && shape.most != 0 {
        tracing::info!(
            frames = shape.most,
            "infer.shared_call_frames has no effect here: the detector runs on the CPU, where a call takes every waiting frame (a change of batch costs nothing there)."
        );
    }
    loop {
        while let Ok(change) = changes.try_recv() {
            let new_model = change.loaded.is_some();
            super::processor::apply_to_detector(&mut detector, change.loaded, &change.config);
            if new_model {
                detector.hold_batch_shape(held);
            }
        }
        let serving = shared.serving();
        let wanted = shape.for_cameras(serving);
        if wanted > held {
            held = wanted;
            if detector.hold_batch_shape(held) {
                tracing::info!(frames = held, "The shared detector's calls keep a batch of this many frames.");
            }
        }
        if !shared.wait_for_requests(Duration::from_millis(50), 1) {
            if shared.stopping() {
                return;
            }
            continue;
        }
        if !gather.is_zero() {
            // The other cameras' frames of this period: until every camera served has one waiting,
            // or `gather` has passed (a stalled camera costs the others no more than that).
            let deadline = Instant::now() + gather;
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                if shared.wait_for_requests(left, serving) {
                    break;
                }
            }
        }
        shared.claim(&mut claimed);
        while !claimed.is_empty() {
            // One call per frame size: the first waiting frame's size, then the next.
            group.clear();
            let size = frame_of(shared, claimed[0]).map(|f| (f.width, f.height));
            claimed.retain(|&i| {
                let same = frame_of(shared, i).map(|f| (f.width, f.height)) == size;
                if same {
                    group.push(i);
                }
                !same
            });
            frames.clear();
            hints.clear();
            for &i in &group {
                // SAFETY: claimed: this thread owns the mailbox's contents until it answers.
                let work = unsafe { shared.work(i) };
                if let Some(f) = work.frame {
                    frames.push(f);
                    hints.push(work.hint);
                }
            }
            let result = if frames.len() == group.len() {
                let r = detector.detect_many_with_hints(&frames, &hints, &mut outs[..frames.len()]);
                if let Ok(t) = &r {
                    tracing::trace!(
                        frames = frames.len(),
                        pre_ms = t.pre_secs * 1e3,
                        infer_ms = t.infer_secs * 1e3,
                        "Shared batch."
                    );
                }
                r
            } else {
                Err(InferError::Run("a camera submitted no frame".into()))
            };
            frames.clear();
            for (k, &i) in group.iter().enumerate() {
                // SAFETY: claimed: this thread owns the contents until it answers below.
                let work = unsafe { shared.work(i) };
                match &result {
                    Ok(timing) => {
                        // The answer's buffer goes to the mailbox; the mailbox's is the next output.
                        std::mem::swap(&mut work.dets, &mut outs[k]);
                        work.result = Ok(*timing);
                    }
                    Err(e) => {
                        work.dets.clear();
                        work.result = Err(e.clone());
                    }
                }
                shared.answer(i);
            }
        }
    }
}

/// The frame waiting in mailbox `i` (claimed by the detection thread).
fn frame_of(shared: &Mailboxes<Work>, i: usize) -> Option<YuvFrame<'static>> {
    // SAFETY: called only on mailboxes this thread has claimed and not answered.
    unsafe { shared.work(i).frame }
}

#[cfg(test)]
mod tests {
    use super::CallShape;

    #[test]
    fn a_call_holds_every_camera_or_at_most_the_frames_asked() {
        assert_eq!(CallShape { most: 0 }.for_cameras(8), 8);
        assert_eq!(CallShape { most: 4 }.for_cameras(8), 4);
        assert_eq!(CallShape { most: 4 }.for_cameras(2), 2);
    }
}
