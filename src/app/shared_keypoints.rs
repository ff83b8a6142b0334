//! One pitch keypoint model for several cameras. Where the cameras share a detector on a GPU, a
//! keypoint session of each camera's own cost about 260 MiB of GPU memory a camera at 1080p
//! (docs/cameras.md) for a model each runs only on a cut or every `pitch.keypoint_every_frames`
//! frames. Here one thread owns one session; a camera's finishing thread hands it the frame
//! through its mailbox ([`super::mailbox`]) and waits for the keypoints, as it would wait for its
//! own model.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::mailbox::{Mailboxes, StoppedOnDrop};
use crate::config::MAX_CAMERAS;
use crate::frame::YuvFrame;
use crate::infer::{FrameKeypoints, InferError, KeypointModel};
use crate::pitch::keypoints::KEYPOINTS;

/// One camera's request and answer.
struct Work {
    /// The frame, valid while the camera waits (it blocks until answered).
    frame: Option<YuvFrame<'static>>,
    found: FrameKeypoints,
    result: Result<(), InferError>,
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
        let shared =
            Arc::new(Mailboxes::new(MAX_CAMERAS, || Work { frame: None, found: [None; KEYPOINTS], result: Ok(()) }));
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
        Some(KeypointClient { shared: Arc::clone(&self.shared), index })
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
}

/// One camera's way to the shared keypoint model.
pub(super) struct KeypointClient {
    shared: Arc<Mailboxes<Work>>,
    index: usize,
}

impl KeypointClient {
    /// As [`KeypointModel::find`], run by the keypoint thread. Blocks until answered.
    fn find(&mut self, frame: &YuvFrame<'_>, out: &mut FrameKeypoints) -> Result<(), InferError> {
        // SAFETY: this client holds its mailbox and `&mut self` keeps it to one thread. The
        // frame's borrow is extended for the keypoint thread, which reads it only until it
        // answers; `call` does not return before the answer (or the thread's end), and the
        // caller's borrow outlives the call.
        let frame = unsafe { std::mem::transmute::<YuvFrame<'_>, YuvFrame<'static>>(*frame) };
        let answered = unsafe {
            self.shared.call(
                self.index,
                |w| w.frame = Some(frame),
                |w| {
                    *out = w.found;
                    std::mem::replace(&mut w.result, Ok(()))
                },
                |w| w.frame = None,
            )
        };
        answered.unwrap_or_else(|_| Err(InferError::Runtime("the shared keypoint model has stopped".into())))
    }
}

impl Drop for KeypointClient {
    fn drop(&mut self) {
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
            work.result = match work.frame {
                Some(frame) => model.find(&frame, &mut work.found),
                None => Err(InferError::Run("a camera asked for keypoints without a frame".into())),
            };
            shared.answer(i);
        }
    }
}
