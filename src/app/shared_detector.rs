//! One detector for several cameras. Each camera's inference thread hands its frame to a
//! mailbox and waits; the detection thread runs every frame waiting at that moment in one
//! batched model call (frames of one size per call), answers each mailbox and starts again. It
//! never waits for a camera that has no frame: a stalled or slow camera is simply not in the
//! batch, and while the GPU works on one batch the next one gathers (as nvstreammux batches
//! whatever is ready). No lock and no allocation per frame: mailboxes are fixed, their states
//! atomic, their buffers reused.

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::SeqCst};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::{Config, MAX_CAMERAS};
use crate::frame::{Detection, YuvFrame};
use crate::infer::{DetectTiming, Detector, InferError};
use crate::wake::WakeCount;

/// Mailbox states: not handed out; held by a camera and empty; a frame waits; being detected;
/// answered.
const FREE: u8 = 0;
const IDLE: u8 = 1;
const SUBMITTED: u8 = 2;
const RUNNING: u8 = 3;
const DONE: u8 = 4;

/// One camera's request and answer. Whoever the state says owns the contents: the camera in
/// `IDLE` and `DONE`, the detection thread in `SUBMITTED` (to claim) and `RUNNING`.
struct Mailbox {
    state: AtomicU8,
    answered: WakeCount,
    work: UnsafeCell<Work>,
}

struct Work {
    /// The frame, valid while the camera waits (it holds the ring slot and blocks until `DONE`).
    frame: Option<YuvFrame<'static>>,
    hint: Option<(f32, f32)>,
    dets: Vec<Detection>,
    result: Result<DetectTiming, InferError>,
}

// SAFETY: `work` is only touched by the side the atomic `state` names (see `Mailbox`), with
// SeqCst stores and loads ordering the hand-overs.
unsafe impl Sync for Mailbox {}

/// What the cameras and the detection thread share.
struct Shared {
    mailboxes: Vec<Mailbox>,
    submitted: WakeCount,
    stopping: AtomicBool,
    stopped: AtomicBool,
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
    shared: Arc<Shared>,
    changes: SyncSender<DetectorChange>,
    thread: Option<JoinHandle<()>>,
}

impl SharedDetector {
    /// Starts the detection thread with `detector`, its batch shape held for `cameras` frames
    /// (on a GPU; see `Detector::hold_batch_shape`); a call waits up to `gather` for every
    /// camera's frame once one has arrived.
    pub(super) fn start(detector: Detector, cameras: usize, gather: Duration) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            mailboxes: (0..MAX_CAMERAS)
                .map(|_| Mailbox {
                    state: AtomicU8::new(FREE),
                    answered: WakeCount::default(),
                    work: UnsafeCell::new(Work {
                        frame: None,
                        hint: None,
                        dets: Vec::with_capacity(512),
                        result: Ok(DetectTiming::default()),
                    }),
                })
                .collect(),
            submitted: WakeCount::default(),
            stopping: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        });
        let (changes, changes_in) = sync_channel(4);
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new().name("detect".into()).spawn(move || {
                // Set however the thread ends (a panic included): no camera waits forever.
                let _stopped = StoppedOnDrop(&shared);
                detect_batches(&shared, detector, (cameras, gather), &changes_in);
            })?
        };
        Ok(SharedDetector { shared, changes, thread: Some(thread) })
    }

    /// A mailbox for one camera; `None` when every one is taken.
    pub(super) fn client(&self) -> Option<DetectorClient> {
        let index =
            self.shared.mailboxes.iter().position(|m| m.state.compare_exchange(FREE, IDLE, SeqCst, SeqCst).is_ok())?;
        Some(DetectorClient { shared: Arc::clone(&self.shared), index })
    }

    /// Hands a settings change to the detection thread (applied between batches); false when
    /// it cannot take it now.
    pub(super) fn change(&self, change: DetectorChange) -> bool {
        self.changes.try_send(change).is_ok()
    }

    /// Stops the detection thread once the cameras have stopped.
    pub(super) fn stop(mut self) {
        self.shared.stopping.store(true, SeqCst);
        self.shared.submitted.notify();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Marks the detection thread stopped and wakes every waiting camera when dropped.
struct StoppedOnDrop<'a>(&'a Shared);

impl Drop for StoppedOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stopped.store(true, SeqCst);
        for m in &self.0.mailboxes {
            m.answered.notify();
        }
    }
}

/// One camera's way to the shared detector.
pub(super) struct DetectorClient {
    shared: Arc<Shared>,
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
        let m = &self.shared.mailboxes[self.index];
        if self.shared.stopped.load(SeqCst) {
            return Err(InferError::Runtime("the shared detector has stopped".into()));
        }
        {
            // SAFETY: the mailbox is IDLE: this camera owns its contents. The frame's borrow is
            // extended for the detection thread, which reads it only until it answers; this call
            // does not return before the answer, and the caller's borrow outlives the call.
            let work = unsafe { &mut *m.work.get() };
            work.frame = Some(unsafe { std::mem::transmute::<YuvFrame<'_>, YuvFrame<'static>>(*frame) });
            work.hint = hint;
        }
        m.state.store(SUBMITTED, SeqCst);
        self.shared.submitted.notify();
        loop {
            let done = m.answered.wait_for(Duration::from_millis(100), || (m.state.load(SeqCst) == DONE).then_some(()));
            if done.is_some() {
                break;
            }
            if self.shared.stopped.load(SeqCst) {
                // Claimed or not, the thread is gone and touches nothing any more.
                m.state.store(IDLE, SeqCst);
                // SAFETY: the detection thread has ended: nobody else reads the mailbox.
                unsafe { (*m.work.get()).frame = None };
                return Err(InferError::Runtime("the shared detector has stopped".into()));
            }
        }
        // SAFETY: DONE: the detection thread has handed the contents back.
        let work = unsafe { &mut *m.work.get() };
        work.frame = None;
        // Buffers change hands, not detections: `out` takes the answer, the mailbox `out`'s old one.
        std::mem::swap(out, &mut work.dets);
        let result = std::mem::replace(&mut work.result, Ok(DetectTiming::default()));
        m.state.store(IDLE, SeqCst);
        result
    }
}

impl Drop for DetectorClient {
    fn drop(&mut self) {
        self.shared.mailboxes[self.index].state.store(FREE, SeqCst);
    }
}

/// The detection thread: waits for submitted frames, claims them all, detects them in batches of
/// one frame size, answers; applies settings changes between batches.
fn detect_batches(
    shared: &Shared,
    mut detector: Detector,
    (cameras, gather): (usize, Duration),
    changes: &Receiver<DetectorChange>,
) {
    let n = shared.mailboxes.len();
    let mut claimed: Vec<usize> = Vec::with_capacity(n);
    let mut group: Vec<usize> = Vec::with_capacity(n);
    let mut frames: Vec<YuvFrame<'static>> = Vec::with_capacity(n);
    let mut hints: Vec<Option<(f32, f32)>> = Vec::with_capacity(n);
    let mut outs: Vec<Vec<Detection>> = (0..n).map(|_| Vec::with_capacity(512)).collect();
    // The batch shape held: the most cameras served at once (it grows, never shrinks: a smaller
    // shape would be set up again as soon as the camera came back).
    let mut held = cameras;
    detector.hold_batch_shape(held);
    loop {
        while let Ok(change) = changes.try_recv() {
            let new_model = change.loaded.is_some();
            super::processor::apply_to_detector(&mut detector, change.loaded, &change.config);
            if new_model {
                detector.hold_batch_shape(held);
            }
        }
        let serving = shared.mailboxes.iter().filter(|m| m.state.load(SeqCst) != FREE).count();
        if serving > held {
            held = serving;
            if detector.hold_batch_shape(held) {
                tracing::info!(frames = held, "The shared detector's calls keep a batch of this many frames.");
            }
        }
        let any = || shared.mailboxes.iter().any(|m| m.state.load(SeqCst) == SUBMITTED).then_some(());
        if shared.submitted.wait_for(Duration::from_millis(50), any).is_none() {
            if shared.stopping.load(SeqCst) {
                return;
            }
            continue;
        }
        if !gather.is_zero() {
            // The other cameras' frames of this period: until every camera served has one waiting,
            // or `gather` has passed (a stalled camera costs the others no more than that).
            let all = || {
                let waiting = shared.mailboxes.iter().filter(|m| m.state.load(SeqCst) == SUBMITTED).count();
                (waiting >= serving).then_some(())
            };
            let deadline = Instant::now() + gather;
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                if shared.submitted.wait_for(left, all).is_some() {
                    break;
                }
            }
        }
        claimed.clear();
        for (i, m) in shared.mailboxes.iter().enumerate() {
            if m.state.compare_exchange(SUBMITTED, RUNNING, SeqCst, SeqCst).is_ok() {
                claimed.push(i);
            }
        }
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
                // SAFETY: RUNNING: this thread owns the mailbox's contents.
                let work = unsafe { &*shared.mailboxes[i].work.get() };
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
                let m = &shared.mailboxes[i];
                // SAFETY: RUNNING: this thread owns the contents until DONE is stored below.
                let work = unsafe { &mut *m.work.get() };
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
                m.state.store(DONE, SeqCst);
                m.answered.notify();
            }
        }
    }
}

/// The frame waiting in mailbox `i` (claimed by the detection thread).
fn frame_of(shared: &Shared, i: usize) -> Option<YuvFrame<'static>> {
    // SAFETY: called only on mailboxes this thread holds in RUNNING.
    unsafe { (*shared.mailboxes[i].work.get()).frame }
}
