//! Mailboxes between the cameras' threads and one service thread that owns a model for all of
//! them (the shared detector, the shared pitch keypoint model). A camera puts its request in its
//! own mailbox and waits; the service claims every request waiting, answers each and goes on.
//! No lock and no allocation per request: the mailboxes are fixed, their states atomic, and
//! whoever the state names owns the contents.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::SeqCst};
use std::time::Duration;

use crate::wake::WakeCount;

/// Mailbox states: not handed out; held by a camera and empty; a request waits; being served;
/// answered.
const FREE: u8 = 0;
const IDLE: u8 = 1;
const SUBMITTED: u8 = 2;
const RUNNING: u8 = 3;
const DONE: u8 = 4;

/// One camera's request and answer. The camera owns the contents in `IDLE` and `DONE`, the
/// service in `SUBMITTED` (to claim) and `RUNNING`.
struct Mailbox<W> {
    state: AtomicU8,
    answered: WakeCount,
    work: UnsafeCell<W>,
}

/// A fixed set of mailboxes and the service's wake-ups.
pub(super) struct Mailboxes<W> {
    boxes: Vec<Mailbox<W>>,
    submitted: WakeCount,
    stopping: AtomicBool,
    stopped: AtomicBool,
}

// SAFETY: a mailbox's `work` is only touched by the side its atomic `state` names, with SeqCst
// stores and loads ordering the hand-overs; `W` moves between threads with it.
unsafe impl<W: Send> Sync for Mailboxes<W> {}

/// Why a request got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ServiceStopped;

impl<W> Mailboxes<W> {
    /// `count` mailboxes, each with the contents `make` gives (its buffers made here, once).
    pub(super) fn new(count: usize, make: impl Fn() -> W) -> Self {
        Mailboxes {
            boxes: (0..count)
                .map(|_| Mailbox {
                    state: AtomicU8::new(FREE),
                    answered: WakeCount::default(),
                    work: UnsafeCell::new(make()),
                })
                .collect(),
            submitted: WakeCount::default(),
            stopping: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        }
    }

    /// Hands out a free mailbox; `None` when every one is taken.
    pub(super) fn take(&self) -> Option<usize> {
        self.boxes.iter().position(|m| m.state.compare_exchange(FREE, IDLE, SeqCst, SeqCst).is_ok())
    }

    /// Gives mailbox `i` back (its camera has gone).
    pub(super) fn give_back(&self, i: usize) {
        self.boxes[i].state.store(FREE, SeqCst);
    }

    /// Mailboxes handed out: the cameras served.
    pub(super) fn serving(&self) -> usize {
        self.boxes.iter().filter(|m| m.state.load(SeqCst) != FREE).count()
    }

    /// Requests waiting to be claimed.
    pub(super) fn waiting(&self) -> usize {
        self.boxes.iter().filter(|m| m.state.load(SeqCst) == SUBMITTED).count()
    }

    /// The camera's side: `fill` writes the request into mailbox `i`, the service answers, `read`
    /// takes the answer. Blocks until answered, or until the service has stopped.
    ///
    /// # Safety
    /// `i` must be a mailbox this caller took and holds (`IDLE`), used by one thread at a time.
    pub(super) unsafe fn call<R>(
        &self,
        i: usize,
        fill: impl FnOnce(&mut W),
        read: impl FnOnce(&mut W) -> R,
        clear: impl FnOnce(&mut W),
    ) -> Result<R, ServiceStopped> {
        // SAFETY: the caller's contract, passed on.
        unsafe {
            self.submit(i, fill)?;
            self.wait_answer(i, read, clear)
        }
    }

    /// The first half of [`Mailboxes::call`]: hands the request over and returns at once; the
    /// answer is taken later with [`Mailboxes::try_answer`] or [`Mailboxes::wait_answer`].
    ///
    /// # Safety
    /// As [`Mailboxes::call`].
    pub(super) unsafe fn submit(&self, i: usize, fill: impl FnOnce(&mut W)) -> Result<(), ServiceStopped> {
        let m = &self.boxes[i];
        if self.stopped.load(SeqCst) {
            return Err(ServiceStopped);
        }
        // SAFETY: IDLE: this caller owns the contents (the caller's contract).
        fill(unsafe { &mut *m.work.get() });
        m.state.store(SUBMITTED, SeqCst);
        self.submitted.notify();
        Ok(())
    }

    /// The answer to the request submitted in mailbox `i`, if it has come: `None` while the
    /// service works on it.
    ///
    /// # Safety
    /// `i` must hold a request this caller submitted and has not taken the answer of, used by
    /// one thread at a time.
    pub(super) unsafe fn try_answer<R>(
        &self,
        i: usize,
        read: impl FnOnce(&mut W) -> R,
        clear: impl FnOnce(&mut W),
    ) -> Option<Result<R, ServiceStopped>> {
        let answered = self.outcome(i)?;
        // SAFETY: the caller's contract, passed on.
        Some(unsafe { self.take_outcome(i, answered, read, clear) })
    }

    /// Waits for the answer to the request submitted in mailbox `i` (or the service's end).
    ///
    /// # Safety
    /// As [`Mailboxes::try_answer`].
    pub(super) unsafe fn wait_answer<R>(
        &self,
        i: usize,
        read: impl FnOnce(&mut W) -> R,
        clear: impl FnOnce(&mut W),
    ) -> Result<R, ServiceStopped> {
        let answered = loop {
            if let Some(a) = self.boxes[i].answered.wait_for(Duration::from_millis(100), || self.outcome(i)) {
                break a;
            }
        };
        // SAFETY: the caller's contract, passed on.
        unsafe { self.take_outcome(i, answered, read, clear) }
    }

    /// Whether mailbox `i`'s request is over: answered (`true`), or never to be as the service
    /// has stopped (`false`); `None` while it is waiting or being served.
    fn outcome(&self, i: usize) -> Option<bool> {
        if self.boxes[i].state.load(SeqCst) == DONE {
            return Some(true);
        }
        self.stopped.load(SeqCst).then_some(false)
    }

    /// Takes an ended request's answer (`answered`) or its end without one, and empties it.
    ///
    /// # Safety
    /// As [`Mailboxes::try_answer`], with `answered` from [`Mailboxes::outcome`].
    unsafe fn take_outcome<R>(
        &self,
        i: usize,
        answered: bool,
        read: impl FnOnce(&mut W) -> R,
        clear: impl FnOnce(&mut W),
    ) -> Result<R, ServiceStopped> {
        let m = &self.boxes[i];
        // SAFETY: DONE: the service has handed the contents back; or the service has ended
        // (claimed or not, it touches nothing any more).
        let work = unsafe { &mut *m.work.get() };
        let answer = if answered { Ok(read(work)) } else { Err(ServiceStopped) };
        clear(work);
        m.state.store(IDLE, SeqCst);
        answer
    }

    /// The service's side: waits up to `timeout` until `enough` requests wait (at least one);
    /// false when fewer came.
    pub(super) fn wait_for_requests(&self, timeout: Duration, enough: usize) -> bool {
        let ready = || (self.waiting() >= enough.max(1)).then_some(());
        self.submitted.wait_for(timeout, ready).is_some()
    }

    /// Claims every waiting request into `claimed` (cleared first).
    pub(super) fn claim(&self, claimed: &mut Vec<usize>) {
        claimed.clear();
        for (i, m) in self.boxes.iter().enumerate() {
            if m.state.compare_exchange(SUBMITTED, RUNNING, SeqCst, SeqCst).is_ok() {
                claimed.push(i);
            }
        }
    }

    /// The contents of a claimed mailbox.
    ///
    /// # Safety
    /// `i` must be claimed by this service (`RUNNING`) and not yet answered, and no other
    /// reference to its contents alive.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn work(&self, i: usize) -> &mut W {
        // SAFETY: RUNNING: the service owns the contents (the caller's contract).
        unsafe { &mut *self.boxes[i].work.get() }
    }

    /// Answers claimed mailbox `i`: its camera takes the contents back.
    pub(super) fn answer(&self, i: usize) {
        let m = &self.boxes[i];
        m.state.store(DONE, SeqCst);
        m.answered.notify();
    }

    /// Asks the service to stop (it checks [`Mailboxes::stopping`] when it wakes).
    pub(super) fn ask_to_stop(&self) {
        self.stopping.store(true, SeqCst);
        self.submitted.notify();
    }

    /// Whether the service was asked to stop.
    pub(super) fn stopping(&self) -> bool {
        self.stopping.load(SeqCst)
    }

    /// Marks the service stopped and wakes every waiting camera (it gets [`ServiceStopped`]).
    pub(super) fn stopped(&self) {
        self.stopped.store(true, SeqCst);
        for m in &self.boxes {
            m.answered.notify();
        }
    }
}

/// Marks the service stopped when dropped, however its thread ends (a panic included): no camera
/// waits forever.
pub(super) struct StoppedOnDrop<'a, W>(pub(super) &'a Mailboxes<W>);

impl<W> Drop for StoppedOnDrop<'_, W> {
    fn drop(&mut self) {
        self.0.stopped();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Mailboxes;

    #[test]
    fn a_request_is_answered_and_a_stopped_service_answers_none() {
        let boxes = Arc::new(Mailboxes::new(2, || 0u32));
        let (a, b) = (boxes.take().unwrap(), boxes.take().unwrap());
        assert_eq!(boxes.take(), None, "two mailboxes, two cameras");
        assert_eq!(boxes.serving(), 2);
        let service = {
            let boxes = Arc::clone(&boxes);
            std::thread::spawn(move || {
                let mut claimed = Vec::new();
                let mut served = 0;
                while served < 2 {
                    if !boxes.wait_for_requests(std::time::Duration::from_secs(5), 1) {
                        continue;
                    }
                    boxes.claim(&mut claimed);
                    for &i in &claimed {
                        // SAFETY: claimed above, answered below.
                        unsafe { *boxes.work(i) *= 10 };
                        boxes.answer(i);
                        served += 1;
                    }
                }
            })
        };
        // SAFETY: each mailbox is used by this thread alone.
        let got = |i, v| unsafe { boxes.call(i, |w| *w = v, |w| *w, |w| *w = 0) };
        assert_eq!(got(a, 3), Ok(30));
        assert_eq!(got(b, 4), Ok(40));
        service.join().unwrap();
        boxes.stopped();
        assert_eq!(got(a, 5), Err(super::ServiceStopped));
        boxes.give_back(a);
        assert_eq!(boxes.serving(), 1);
    }

    #[test]
    fn a_request_submitted_is_answered_later_and_none_is_answered_once_the_service_stops() {
        let boxes = Arc::new(Mailboxes::new(1, || 0u32));
        let a = boxes.take().unwrap();
        // SAFETY: the mailbox is used by this thread alone; each answer is taken once.
        unsafe {
            boxes.submit(a, |w| *w = 7).unwrap();
            assert_eq!(boxes.try_answer(a, |w| *w, |w| *w = 0), None, "not served yet");
            let mut claimed = Vec::new();
            assert!(boxes.wait_for_requests(std::time::Duration::from_secs(1), 1));
            boxes.claim(&mut claimed);
            assert_eq!(claimed, [a]);
            assert_eq!(boxes.try_answer(a, |w| *w, |w| *w = 0), None, "being served");
            *boxes.work(a) += 1;
            boxes.answer(a);
            assert_eq!(boxes.try_answer(a, |w| *w, |w| *w = 0), Some(Ok(8)));
            // Submitted, then the service ends without serving it: the camera is told once.
            boxes.submit(a, |w| *w = 9).unwrap();
            boxes.stopped();
            assert_eq!(boxes.wait_answer(a, |w| *w, |w| *w = 0), Err(super::ServiceStopped));
            assert_eq!(boxes.submit(a, |w| *w = 1), Err(super::ServiceStopped));
        }
    }
}
