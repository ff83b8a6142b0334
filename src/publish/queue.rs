//! The outbound queue between the frame path and the MQTT sender thread: preallocated message
//! buffers in a lock-free [`SlotPool`], as the frame ring's slots are.
//!
//! Queuing a track message copies its bytes into a free buffer and allocates nothing once the
//! buffers have grown to the message size. When every buffer waits for the broker, the oldest
//! waiting message is dropped and counted: subscribers get the newest tracks first after an
//! outage, never stale ones in place of fresh ones.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::pool::SlotPool;
use crate::wake::WakeCount;

/// Most messages that can wait at once.
pub const MAX_WAITING: usize = 1024;

/// One queued message.
#[derive(Debug, Default)]
pub struct Outgoing {
    /// Where it goes (its buffer reused: no allocation for topics up to [`TOPIC_BYTES`]).
    pub topic: String,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// Room kept for a message's topic.
pub const TOPIC_BYTES: usize = 160;

/// Buffers and their two queues.
pub struct OutQueue {
    pool: SlotPool<Outgoing, MAX_WAITING>,
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
        let pool = SlotPool::new(
            (0..n)
                .map(|_| Outgoing {
                    topic: String::with_capacity(TOPIC_BYTES),
                    payload: Vec::with_capacity(bytes_each),
                })
                .collect(),
        );
        OutQueue {
            pool,
            ready_wake: WakeCount::default(),
            dropped_oldest: AtomicU64::new(0),
            held: AtomicU32::new(NONE),
        }
    }

    /// Queues a copy of `payload` for `topic`; when every buffer is waiting, the oldest message
    /// is dropped (counted) to make room. Never blocks.
    pub fn push(&self, topic: &str, payload: &[u8]) {
        let claim = match self.pool.claim_free() {
            Some(c) => c,
            None => match self.pool.claim_oldest_ready() {
                Some(c) => {
                    self.dropped_oldest.fetch_add(1, Relaxed);
                    c
                }
                // Every buffer is being filled or sent right now: drop this one instead.
                None => {
                    self.dropped_oldest.fetch_add(1, Relaxed);
                    return;
                }
            },
        };
        let mut claim = claim;
        let msg = self.pool.get_mut(&mut claim);
        msg.topic.clear();
        msg.topic.push_str(topic);
        msg.payload.clear();
        msg.payload.extend_from_slice(payload);
        self.pool.publish(claim);
        self.ready_wake.notify();
    }

    /// Sender side (one thread): waits up to `timeout` for the oldest waiting message and hands it
    /// to `send`; `send` returns `false` to keep the message for the next call (broker busy), which
    /// then retries it before any newer one. Returns whether a message was sent.
    pub fn send_next(&self, timeout: Duration, send: impl FnOnce(&Outgoing) -> bool) -> bool {
        let claim = match self.held.swap(NONE, Relaxed) {
            NONE => match self.ready_wake.wait_for(timeout, || self.pool.claim_oldest_ready()) {
                Some(c) => c,
                None => return false,
            },
            // SAFETY: `held` is only ever set from `into_raw` below, and the swap takes it back once.
            held => unsafe { self.pool.from_raw(held as u16) },
        };
        if send(self.pool.get(&claim)) {
            self.pool.release(claim);
            true
        } else {
            self.held.store(u32::from(self.pool.into_raw(claim)), Relaxed);
            false
        }
    }

    /// Messages dropped to make room since start.
    pub fn dropped(&self) -> u64 {
        self.dropped_oldest.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_the_oldest_and_sends_in_order() {
        let q = OutQueue::new(3, 16);
        for i in 0..5u8 {
            q.push("t", &[i]);
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
        q.push("t", b"a");
        q.push("t", b"b");
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
        q.push("t", b"a");
        assert!(!q.send_next(Duration::from_millis(1), |_| false));
        assert!(q.send_next(Duration::from_millis(1), |m| m.payload == b"a"));
    }
}
