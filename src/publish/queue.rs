//! The outbound queue between the frame path and the MQTT sender thread: preallocated message
//! buffers whose indices move through two lock-free queues, as the frame ring's slots do.
//!
//! Queuing a track message copies its bytes into a free buffer and allocates nothing once the
//! buffers have grown to the message size. When every buffer waits for the broker, the oldest
//! waiting message is dropped and counted: subscribers get the newest tracks first after an
//! outage, never stale ones in place of fresh ones.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use heapless::mpmc;

use crate::wake::WakeCount;

/// Most messages that can wait at once.
pub const MAX_WAITING: usize = 1024;

/// One queued message.
#[derive(Debug, Default)]
pub struct Outgoing {
    /// Payload bytes.
    pub payload: Vec<u8>,
}

struct Cell(UnsafeCell<Outgoing>);

// SAFETY: an index is held by exactly one of the free queue, the ready queue, the producer
// filling it or the sender sending it; queue moves are release/acquire pairs (as in the ring).
unsafe impl Sync for Cell {}

/// Buffers and their two queues.
pub struct OutQueue {
    cells: Box<[Cell]>,
    free: mpmc::Queue<u16, MAX_WAITING>,
    ready: mpmc::Queue<u16, MAX_WAITING>,
    ready_wake: WakeCount,
    dropped_oldest: AtomicU64,
    /// A message the sender could not hand over yet ([`NONE`] when there is none): retried
    /// before any newer one, so messages leave in order.
    held: AtomicU32,
}

/// No held message.
const NONE: u32 = u32::MAX;

impl OutQueue {
    /// `capacity` buffers (clamped to `1..=MAX_WAITING`) of `bytes_each` preallocated bytes.
    pub fn new(capacity: usize, bytes_each: usize) -> Self {
        let n = capacity.clamp(1, MAX_WAITING);
        let cells =
            (0..n).map(|_| Cell(UnsafeCell::new(Outgoing { payload: Vec::with_capacity(bytes_each) }))).collect();
        // See the ring: a spuriously failed dequeue reads as "empty" and is retried; enqueues
        // always fit (only `n` indices exist).
        #[expect(deprecated)]
        let (free, ready) = (mpmc::Queue::new(), mpmc::Queue::new());
        let q = OutQueue {
            cells,
            free,
            ready,
            ready_wake: WakeCount::default(),
            dropped_oldest: AtomicU64::new(0),
            held: AtomicU32::new(NONE),
        };
        for i in 0..n {
            enqueue(&q.free, i as u16);
        }
        q
    }

    /// Queues a copy of `payload`; when every buffer is waiting, the oldest message is dropped
    /// (counted) to make room. Never blocks.
    pub fn push(&self, payload: &[u8]) {
        let index = match self.free.dequeue() {
            Some(i) => i,
            None => match self.ready.dequeue() {
                Some(i) => {
                    self.dropped_oldest.fetch_add(1, Relaxed);
                    i
                }
                // Every buffer is being filled or sent right now: drop this one instead.
                None => {
                    self.dropped_oldest.fetch_add(1, Relaxed);
                    return;
                }
            },
        };
        // SAFETY: this thread holds `index` exclusively until it is enqueued below.
        let msg = unsafe { &mut *self.cells[index as usize].0.get() };
        msg.payload.clear();
        msg.payload.extend_from_slice(payload);
        enqueue(&self.ready, index);
        self.ready_wake.notify();
    }

    /// Sender side (one thread): waits up to `timeout` for the oldest waiting message and hands it
    /// to `send`; `send` returns `false` to keep the message for the next call (broker busy), which
    /// then retries it before any newer one. Returns whether a message was sent.
    pub fn send_next(&self, timeout: Duration, send: impl FnOnce(&Outgoing) -> bool) -> bool {
        let index = match self.held.swap(NONE, Relaxed) {
            NONE => match self.ready_wake.wait_for(timeout, || self.ready.dequeue()) {
                Some(i) => i,
                None => return false,
            },
            held => held as u16,
        };
        // SAFETY: this thread holds `index` exclusively until it is enqueued below.
        let msg = unsafe { &*self.cells[index as usize].0.get() };
        if send(msg) {
            enqueue(&self.free, index);
            true
        } else {
            self.held.store(u32::from(index), Relaxed);
            false
        }
    }

    /// Messages dropped to make room since start.
    pub fn dropped(&self) -> u64 {
        self.dropped_oldest.load(Relaxed)
    }
}

fn enqueue(q: &mpmc::Queue<u16, MAX_WAITING>, index: u16) {
    let mut item = index;
    while let Err(back) = q.enqueue(item) {
        item = back;
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_the_oldest_and_sends_in_order() {
        let q = OutQueue::new(3, 16);
        for i in 0..5u8 {
            q.push(&[i]);
        }
        assert_eq!(q.dropped(), 2);
        let mut got = Vec::new();
        while q.send_next(Duration::from_millis(1), |m| {
            got.push(m.payload[0]);
            true
        }) {}
        assert_eq!(got, vec![2, 3, 4]);
    }

    #[test]
    fn a_refused_message_is_retried_before_newer_ones() {
        let q = OutQueue::new(4, 16);
        q.push(b"a");
        q.push(b"b");
        assert!(!q.send_next(Duration::from_millis(1), |_| false));
        let mut got = Vec::new();
        while q.send_next(Duration::from_millis(1), |m| {
            got.push(m.payload[0]);
            true
        }) {}
        assert_eq!(got, b"ab");
    }

    #[test]
    fn a_refused_send_keeps_the_message() {
        let q = OutQueue::new(2, 16);
        q.push(b"a");
        assert!(!q.send_next(Duration::from_millis(1), |_| false));
        assert!(q.send_next(Duration::from_millis(1), |m| m.payload == b"a"));
    }
}
