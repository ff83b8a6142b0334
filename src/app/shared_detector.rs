//! One detector for several cameras. Each camera's inference thread hands its frame to a
//! mailbox and waits; the detection thread runs every frame waiting at that moment in one
//! batched model call (frames of one size per call), answers each mailbox and starts again. It
//! never waits for a camera that has no frame: a stalled or slow camera is simply not in the
//! batch, and while the GPU works on one batch the next one gathers (as nvstreammux batches
//! whatever is ready). On a GPU the ball finder runs in a thread of its own: the detection thread
//! passes each answered batch on to it and gathers the next, so the finder's time overlaps the
//! detector's next call instead of following it. No lock and no allocation per frame: mailboxes
//! are fixed, their states atomic, their buffers reused.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::mailbox::{Mailboxes, StoppedOnDrop};
use crate::config::{Config, MAX_CAMERAS};
use crate::frame::{Detection, YuvFrame};
use crate::infer::{DetectTiming, Detector, FinderPass, InferError};

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
    /// The lowest score the ball finder keeps (the detector's threshold when it answered).
    min_score: f32,
}

/// The ball finder handed to its thread: a new one with a new model, `None` when it is off.
type FinderChange = Option<FinderPass>;

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
    pub(super) fn start(detector: Detector, cameras: (usize, CallShape), gather: Duration) -> std::io::Result<Self> {
        // On the CPU the finder's own thread would share the detector's cores: one after the other.
        let finder_apart = detector.provider().is_gpu();
        Self::start_with(detector, cameras, gather, finder_apart)
    }

    /// [`SharedDetector::start`], the ball finder in a thread of its own when `finder_apart`.
    fn start_with(
        mut detector: Detector,
        (cameras, shape): (usize, CallShape),
        gather: Duration,
        finder_apart: bool,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Mailboxes::new(MAX_CAMERAS, || Work {
            frame: None,
            hint: None,
            dets: Vec::with_capacity(512),
            result: Ok(DetectTiming::default()),
            min_score: 0.0,
        }));
        let (changes, changes_in) = sync_channel(4);
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new().name("detect".into()).spawn(move || {
                // Marks the service stopped once both threads have ended (the scope joins them).
                let _stopped = StoppedOnDrop(&*shared);
                let batching = (cameras, shape, gather);
                if !finder_apart {
                    detect_batches(&shared, detector, batching, &changes_in, None);
                    return;
                }
                let (finders, finders_in) = sync_channel::<FinderChange>(2);
                std::thread::scope(|scope| {
                    let finding =
                        std::thread::Builder::new().name("ball-finder".into()).spawn_scoped(scope, || find_balls(&shared, finders_in));
                    match finding {
                        Ok(_) => {
                            let _ = finders.send(detector.take_finder());
                            detect_batches(&shared, detector, batching, &changes_in, Some(&finders));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "No thread for the ball finder: it runs after the detector, in its thread.");
                            detect_batches(&shared, detector, batching, &changes_in, None);
                        }
                    }
                });
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
/// one frame size, answers (or, with `finders`, passes them on to the ball finder's thread, which
/// answers); applies settings changes between batches.
fn detect_batches(
    shared: &Mailboxes<Work>,
    mut detector: Detector,
    (cameras, shape, gather): (usize, CallShape, Duration),
    changes: &Receiver<DetectorChange>,
    finders: Option<&SyncSender<FinderChange>>,
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
    // Whether the finder's thread has a finder (else this thread answers at once).
    let mut finding = finders.is_some();
    loop {
        while let Ok(change) = changes.try_recv() {
            let new_model = change.loaded.is_some();
            super::processor::apply_to_detector(&mut detector, change.loaded, &change.config);
            if new_model {
                detector.hold_batch_shape(held);
                if let Some(finders) = finders {
                    // The new model's finder (or none) replaces the old one between batches.
                    let pass = detector.take_finder();
                    finding = pass.is_some();
                    if finders.send(pass).is_err() {
                        finding = false;
                    }
                }
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
            take_group(shared, &mut claimed, &mut group);
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
            let min_score = detector.score_threshold();
            for (k, &i) in group.iter().enumerate() {
                // SAFETY: claimed: this thread owns the contents until it answers below.
                let work = unsafe { shared.work(i) };
                match &result {
                    Ok(timing) => {
                        // The answer's buffer goes to the mailbox; the mailbox's is the next output.
                        std::mem::swap(&mut work.dets, &mut outs[k]);
                        work.result = Ok(*timing);
                        work.min_score = min_score;
                    }
                    Err(e) => {
                        work.dets.clear();
                        work.result = Err(e.clone());
                    }
                }
                if finding && result.is_ok() {
                    shared.pass_on(i);
                } else {
                    shared.answer(i);
                }
            }
        }
    }
}

/// The ball finder's thread: takes the batches the detection thread passed on, adds the balls
/// the finder finds (frames of one size per call), answers; takes a new finder between batches.
fn find_balls(shared: &Mailboxes<Work>, finders: Receiver<FinderChange>) {
    let n = MAX_CAMERAS;
    let mut pass: Option<FinderPass> = None;
    let mut claimed: Vec<usize> = Vec::with_capacity(n);
    let mut group: Vec<usize> = Vec::with_capacity(n);
    let mut frames: Vec<YuvFrame<'static>> = Vec::with_capacity(n);
    let mut outs: Vec<Vec<Detection>> = (0..n).map(|_| Vec::new()).collect();
    loop {
        while let Ok(change) = finders.try_recv() {
            pass = change;
        }
        if !shared.wait_for_passed(Duration::from_millis(50)) {
            if shared.stopping() {
                return;
            }
            continue;
        }
        shared.claim_passed(&mut claimed);
        while !claimed.is_empty() {
            take_group(shared, &mut claimed, &mut group);
            frames.clear();
            let mut min_score = 0.0;
            for (k, &i) in group.iter().enumerate() {
                // SAFETY: claimed from the passed-on ones: this thread owns the contents until it
                // answers below. The detector's answer comes in, its buffer trades places.
                let work = unsafe { shared.work(i) };
                frames.extend(work.frame);
                std::mem::swap(&mut outs[k], &mut work.dets);
                min_score = work.min_score;
            }
            let secs = match pass.as_mut() {
                Some(p) if frames.len() == group.len() => Some(p.run(&frames, &mut outs[..frames.len()], min_score)),
                _ => None,
            };
            frames.clear();
            for (k, &i) in group.iter().enumerate() {
                // SAFETY: as above, until answered.
                let work = unsafe { shared.work(i) };
                std::mem::swap(&mut outs[k], &mut work.dets);
                if let (Some(secs), Ok(timing)) = (secs, &mut work.result) {
                    timing.infer_secs += secs;
                    timing.runs += 1;
                }
                shared.answer(i);
            }
        }
    }
}

/// Moves the claimed mailboxes whose frames have the first one's size from `claimed` into `group`:
/// one model call per frame size.
fn take_group(shared: &Mailboxes<Work>, claimed: &mut Vec<usize>, group: &mut Vec<usize>) {
    group.clear();
    let size = frame_of(shared, claimed[0]).map(|f| (f.width, f.height));
    claimed.retain(|&i| {
        let same = frame_of(shared, i).map(|f| (f.width, f.height)) == size;
        if same {
            group.push(i);
        }
        !same
    });
}

/// The frame waiting in mailbox `i` (claimed by the calling thread).
fn frame_of(shared: &Mailboxes<Work>, i: usize) -> Option<YuvFrame<'static>> {
    // SAFETY: called only on mailboxes the calling thread has claimed and not answered.
    unsafe { shared.work(i).frame }
}

#[cfg(test)]
mod tests {
    use super::{CallShape, Duration, SharedDetector};
    use crate::frame::{Detection, ObjectClass, PixelFormat, YuvFrame};
    use crate::infer::Detector;

    fn shipped_detector() -> Detector {
        let mut raw = crate::config::RawConfig::default();
        raw.infer.model = "models/yolox_nano.onnx".into();
        raw.infer.threads = 1;
        raw.pitch.auto_calibrate = false;
        let config = crate::config::validate(raw, false).unwrap();
        let detector = Detector::new(config.detector_options()).unwrap();
        assert!(detector.finds_the_ball(), "the shipped settings run the ball finder");
        detector
    }

    const W: usize = 1920;
    const H: usize = 1080;

    /// A 1920x1080 I420 frame of grass with a white ball of 7 px at `(x, y)` (a wide shot's; the
    /// detector sees it shrunk, the finder whole).
    fn grass_with_ball(x: usize, y: usize) -> Vec<u8> {
        let (w, h) = (W, H);
        let mut data = vec![0u8; w * h * 3 / 2];
        let (luma, chroma) = data.split_at_mut(w * h);
        for (i, p) in luma.iter_mut().enumerate() {
            let (px, py) = ((i % w) as i64 - x as i64, (i / w) as i64 - y as i64);
            *p = if px * px + py * py <= 12 { 235 } else { 95 + ((i / w) % 7) as u8 };
        }
        let (u, v) = chroma.split_at_mut(w * h / 4);
        u.fill(110);
        v.fill(100);
        data
    }

    #[test]
    fn the_finder_in_its_own_thread_answers_what_the_detector_finds_alone() {
        let mut alone = shipped_detector();
        let mut without_finder = shipped_detector();
        without_finder.take_finder();
        let shared = SharedDetector::start_with(shipped_detector(), (2, CallShape { most: 0 }), Duration::ZERO, true).unwrap();
        let mut clients = [shared.client().unwrap(), shared.client().unwrap()];
        let (mut expected, mut got) = (Vec::new(), Vec::<Detection>::new());
        let (mut balls, mut detector_balls) = (0, 0);
        for (k, (x, y)) in [(300, 240), (960, 600), (1500, 900), (630, 450)].into_iter().enumerate() {
            let data = grass_with_ball(x, y);
            let frame = YuvFrame::new(&data, W as u32, H as u32, PixelFormat::I420).unwrap();
            alone.detect(&frame, &mut expected).unwrap();
            let timing = clients[k % 2].detect_with_hint(&frame, None, &mut got).unwrap();
            assert_eq!(got, expected, "frame {k}: the shared detector with its finder apart answers as one detector");
            assert_eq!(timing.runs, 2, "the detector's call and the finder's");
            balls += got.iter().filter(|d| d.class == ObjectClass::Ball).count();
            without_finder.detect(&frame, &mut expected).unwrap();
            detector_balls += expected.iter().filter(|d| d.class == ObjectClass::Ball).count();
        }
        assert!(balls > detector_balls, "the finder's balls are in the answers ({detector_balls} without it, {balls} with)");
        drop(clients);
        shared.stop();
    }

    #[test]
    fn a_call_holds_every_camera_or_at_most_the_frames_asked() {
        assert_eq!(CallShape { most: 0 }.for_cameras(8), 8);
        assert_eq!(CallShape { most: 4 }.for_cameras(8), 4);
        assert_eq!(CallShape { most: 4 }.for_cameras(2), 2);
    }
}
