//! One pitch keypoint model for several cameras. Where the cameras share a detector on a GPU, a
//! keypoint session of each camera's own cost about 260 MiB of GPU memory a camera at 1080p
//! (docs/cameras.md) for a model each runs only on a cut or every `pitch.keypoint_every_frames`
//! frames. Here one thread owns one session; a camera's finishing thread hands it the frame
//! through its mailbox ([`super::mailbox`]) and waits for the keypoints, as it would wait for its
//! own model; or, for a run that may answer frames later (the periodic refresh of a followed
//! calibration), a copy of the frame, and goes on: eight cameras' runs in turn on one model
//! would otherwise hold every tenth frame of each camera for all of them.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::mailbox::{Mailboxes, StoppedOnDrop};
use crate::config::MAX_CAMERAS;
use crate::frame::{PixelFormat, PlaneLayout, YuvFrame};
use crate::infer::{FrameKeypoints, InferError, KeypointModel};
use crate::pitch::keypoints::KEYPOINTS;

/// One camera's request and answer.
struct Work {
    /// The frame, valid while the camera waits (it blocks until answered).
    frame: Option<YuvFrame<'static>>,
    /// Or a copy of it in `pixels`, for a request answered in the background.
    copied: Option<(u32, u32, PixelFormat, PlaneLayout)>,
    /// The copy's bytes (grown once to the largest frame, then reused).
    pixels: Vec<u8>,
    found: FrameKeypoints,
    result: Result<(), InferError>,
}

impl Work {
    /// The frame to run on: the camera's own, or the copy.
    fn frame(&self) -> Option<YuvFrame<'_>> {
        if let Some((width, height, format, layout)) = self.copied {
            return Some(YuvFrame { data: &self.pixels, width, height, format, device: None, layout });
        }
        self.frame
    }
}

/// The keypoint thread and the way into it.
pub(super) struct SharedKeypoints {
    shared: Arc<Mailboxes<Work>>,
    /// The model it runs (`pitch.keypoint_model`): cameras naming another load their own.
    model: String,
    thread: Option<JoinHandle<()>>,
}

impl SharedKeypoints {
    /// Starts the keypoint thread with `model`, loaded from `path`.
    pub(super) fn start(model: KeypointModel, path: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Mailboxes::new(MAX_CAMERAS, || Work {
            frame: None,
            copied: None,
            pixels: Vec::new(),
            found: [None; KEYPOINTS],
            result: Ok(()),
        }));
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new().name("keypoints".into()).spawn(move || {
                let _stopped = StoppedOnDrop(&*shared);
                serve(&shared, model);
            })?
        };
        Ok(SharedKeypoints { shared, model: path.to_owned(), thread: Some(thread) })
    }

    /// A mailbox for a camera whose keypoint model is `path`; `None` when it names another model
    /// or every mailbox is taken (the camera then loads its own).
    pub(super) fn client(&self, path: &str) -> Option<KeypointClient> {
        if path != self.model {
            return None;
        }
        let index = self.shared.take()?;
        Some(KeypointClient { shared: Arc::clone(&self.shared), index, sent: false })
    }

    /// Stops the keypoint thread once the cameras have stopped.
    pub(super) fn stop(mut self) {
        self.shared.ask_to_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A camera's pitch keypoint model: its own, or its mailbox at the shared one.
pub(super) enum KeypointLink {
    /// A session of the camera's own.
    Own(Box<KeypointModel>),
    /// The session all cameras share.
    Shared(KeypointClient),
}

impl KeypointLink {
    /// The keypoints of `frame` (a host frame), each `None` where the model is not confident.
    pub(super) fn find(&mut self, frame: &YuvFrame<'_>, out: &mut FrameKeypoints) -> Result<(), InferError> {
        match self {
            KeypointLink::Own(m) => m.find(frame, out),
            KeypointLink::Shared(c) => c.find(frame, out),
        }
    }

    /// The shared model runs a copy of a frame in the background ([`KeypointLink::send`]); a
    /// session of the camera's own runs in the camera's thread.
    pub(super) fn runs_in_background(&self) -> bool {
        matches!(self, KeypointLink::Shared(_))
    }

    /// Sends a copy of `frame` to the shared model and returns at once; the keypoints come from
    /// [`KeypointLink::answer`] a frame or more later. A session of the camera's own refuses.
    pub(super) fn send(&mut self, frame: &YuvFrame<'_>) -> Result<(), InferError> {
        match self {
            KeypointLink::Own(_) => {
                Err(InferError::Run("a keypoint model of the camera's own runs in its thread".into()))
            }
            KeypointLink::Shared(c) => c.send(frame),
        }
    }

    /// The answer to the frame sent last, once it has come (`None`: none sent, or not yet).
    pub(super) fn answer(&mut self, out: &mut FrameKeypoints) -> Option<Result<(), InferError>> {
        match self {
            KeypointLink::Own(_) => None,
            KeypointLink::Shared(c) => c.answer(out),
        }
    }
}

/// One camera's way to the shared keypoint model.
pub(super) struct KeypointClient {
    shared: Arc<Mailboxes<Work>>,
    index: usize,
    /// A frame's copy is with the keypoint thread, its answer not taken yet.
    sent: bool,
}

/// The answer of a request, read from its mailbox.
fn read_answer(w: &mut Work, out: &mut FrameKeypoints) -> Result<(), InferError> {
    *out = w.found;
    std::mem::replace(&mut w.result, Ok(()))
}

/// A mailbox emptied of its request (the copy's bytes are kept for the next one).
fn clear(w: &mut Work) {
    w.frame = None;
    w.copied = None;
}

/// A stopped keypoint thread, as a camera sees it.
fn stopped() -> InferError {
    InferError::Runtime("the shared keypoint model has stopped".into())
}

impl KeypointClient {
    /// As [`KeypointLink::send`].
    fn send(&mut self, frame: &YuvFrame<'_>) -> Result<(), InferError> {
        self.discard_sent();
        if !frame.on_host() {
            return Err(InferError::Run("keypoints are sent a host frame".into()));
        }
        // SAFETY: this client holds its mailbox, `&mut self` keeps it to one thread, and no
        // request is in it (the one sent before is taken above).
        let sent = unsafe {
            self.shared.submit(self.index, |w| {
                w.pixels.clear();
                w.pixels.extend_from_slice(frame.data);
                w.copied = Some((frame.width, frame.height, frame.format, frame.layout));
            })
        };
        sent.map_err(|_| stopped())?;
        self.sent = true;
        Ok(())
    }

    /// As [`KeypointLink::answer`].
    fn answer(&mut self, out: &mut FrameKeypoints) -> Option<Result<(), InferError>> {
        if !self.sent {
            return None;
        }
        // SAFETY: the request sent by this client, its answer not taken yet.
        let answered = unsafe { self.shared.try_answer(self.index, |w| read_answer(w, out), clear) }?;
        self.sent = false;
        Some(answered.unwrap_or_else(|_| Err(stopped())))
    }

    /// Waits for the answer to a frame sent earlier and drops it: the mailbox is then free for
    /// the next request.
    fn discard_sent(&mut self) {
        if std::mem::take(&mut self.sent) {
            // SAFETY: the request sent by this client, its answer not taken yet.
            let _ = unsafe { self.shared.wait_answer(self.index, |_| (), clear) };
        }
    }

    /// As [`KeypointModel::find`], run by the keypoint thread. Blocks until answered.
    fn find(&mut self, frame: &YuvFrame<'_>, out: &mut FrameKeypoints) -> Result<(), InferError> {
        self.discard_sent();
        // SAFETY: this client holds its mailbox and `&mut self` keeps it to one thread. The
        // frame's borrow is extended for the keypoint thread, which reads it only until it
        // answers; `call` does not return before the answer (or the thread's end), and the
        // caller's borrow outlives the call.
        let frame = unsafe { std::mem::transmute::<YuvFrame<'_>, YuvFrame<'static>>(*frame) };
        let answered =
            unsafe { self.shared.call(self.index, |w| w.frame = Some(frame), |w| read_answer(w, out), clear) };
        answered.unwrap_or_else(|_| Err(stopped()))
    }
}

impl Drop for KeypointClient {
    fn drop(&mut self) {
        // The keypoint thread may be reading the mailbox: it is given back once answered.
        self.discard_sent();
        self.shared.give_back(self.index);
    }
}

/// The keypoint thread: runs the model on each waiting frame and answers, until asked to stop.
fn serve(shared: &Mailboxes<Work>, mut model: KeypointModel) {
    let mut claimed = Vec::with_capacity(MAX_CAMERAS);
    loop {
        if !shared.wait_for_requests(Duration::from_millis(50), 1) {
            if shared.stopping() {
                return;
            }
            continue;
        }
        shared.claim(&mut claimed);
        for &i in &claimed {
            // SAFETY: claimed: this thread owns the contents until it answers below.
            let work = unsafe { shared.work(i) };
            let mut found = work.found;
            let result = match work.frame() {
                Some(frame) => model.find(&frame, &mut found),
                None => Err(InferError::Run("a camera asked for keypoints without a frame".into())),
            };
            (work.found, work.result) = (found, result);
            shared.answer(i);
        }
    }
}
