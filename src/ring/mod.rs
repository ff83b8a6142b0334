//! The frame ring: preallocated slots handed between the decode thread and the inference thread.
//!
//! The slots are a lock-free [`SlotPool`]: each is owned by exactly one party at a time, and
//! only the decode thread writes and only the inference thread reads pixels. The ring applies
//! its [`OverflowPolicy`] itself, on both sides: under [`OverflowPolicy::DropOldest`] the decode
//! thread reclaims the *oldest* waiting frame when every slot is taken (it never waits for
//! inference) and the inference thread takes the newest frame; under [`OverflowPolicy::Block`]
//! the decoder waits for a free slot and every frame is taken in order.
//!
//! No allocation happens per frame once a slot's buffer has grown to the frame size.

mod buffer;
mod options;
mod stats;

use std::sync::Arc;

use crate::frame::{FrameMeta, PixelFormat, PlaneLayout};
use crate::pool::{Claim, SlotPool};
pub use buffer::{SlotBuffer, TooLarge};
pub use options::{OverflowPolicy, RingSection};
pub use stats::{RingCounters, RingStats};

/// The largest number of slots a ring may have.
pub const MAX_SLOTS: usize = 16;

/// One frame's pixels and metadata.
#[derive(Debug, Default)]
pub struct FrameSlot {
    /// Timing and size of the frame.
    pub meta: FrameMeta,
    /// Layout of `data`.
    pub format: PixelFormat,
    /// Where the planes lie in `data` (tightly packed, except frames kept in GPU memory).
    pub layout: PlaneLayout,
    /// Tightly packed planar YUV 4:2:0 pixels (`width * height * 3 / 2` bytes).
    pub data: SlotBuffer,
}

/// The ring shared by the producer (decode) and consumer (inference) threads.
pub struct FrameRing {
    slots: SlotPool<FrameSlot, MAX_SLOTS>,
    policy: OverflowPolicy,
    stats: RingStats,
    /// Wakes a producer waiting for a free slot (`Block` policy).
    freed: crate::wake::WakeCount,
}

/// Why a frame could not be placed in the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefused {
    /// Every slot is in use and the policy is [`OverflowPolicy::Block`]: retry after the consumer frees one.
    Full,
}

impl FrameRing {
    /// A ring of `slots` slots (clamped to `2..=MAX_SLOTS`), each preallocated for `frame_bytes`.
    pub fn new(slots: usize, frame_bytes: usize, policy: OverflowPolicy) -> Arc<Self> {
        Self::with_buffers((0..slots.clamp(2, MAX_SLOTS)).map(|_| SlotBuffer::heap(frame_bytes)).collect(), policy)
    }

    /// A ring over the given slot buffers (for example pinned, device-mapped ones).
    pub fn with_buffers(buffers: Vec<SlotBuffer>, policy: OverflowPolicy) -> Arc<Self> {
        let mut buffers = buffers;
        buffers.truncate(MAX_SLOTS);
        while buffers.len() < 2 {
            buffers.push(SlotBuffer::default());
        }
        let slots = SlotPool::new(buffers.into_iter().map(|data| FrameSlot { data, ..Default::default() }).collect());
        Arc::new(FrameRing { slots, policy, stats: RingStats::default(), freed: crate::wake::WakeCount::default() })
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Whether frames are dropped (oldest first) rather than waited for when inference is behind:
    /// the decoder's own queue should then drop too.
    pub fn drops_when_behind(&self) -> bool {
        self.policy == OverflowPolicy::DropOldest
    }

    /// Counters for health reporting.
    pub fn stats(&self) -> &RingStats {
        &self.stats
    }

    /// Producer side: a slot to write the next frame into.
    ///
    /// With [`OverflowPolicy::DropOldest`] this always succeeds, reclaiming the oldest waiting frame
    /// (counted in `dropped_oldest`) when no slot is free. With [`OverflowPolicy::Block`] it refuses
    /// with [`PushRefused::Full`] and the caller retries.
    pub fn acquire(self: &Arc<Self>) -> Result<WriteSlot, PushRefused> {
        loop {
            if let Some(c) = self.slots.claim_free() {
                return Ok(WriteSlot { ring: Arc::clone(self), claim: Some(c) });
            }
            match self.policy {
                OverflowPolicy::Block => return Err(PushRefused::Full),
                OverflowPolicy::DropOldest => {
                    if let Some(c) = self.slots.claim_oldest_ready() {
                        self.stats.record_dropped_oldest();
                        return Ok(WriteSlot { ring: Arc::clone(self), claim: Some(c) });
                    }
                    // Every slot is held by the consumer or in flight between queues: the consumer
                    // holds at most one, so another will be free in a moment. Yield the core to it
                    // rather than spin (two cores are shared by decode and inference).
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Producer side under [`OverflowPolicy::Block`]: waits up to `timeout` for a free slot
    /// (woken by the consumer's release, no polling); under `DropOldest` it never waits.
    pub fn acquire_within(self: &Arc<Self>, timeout: std::time::Duration) -> Result<WriteSlot, PushRefused> {
        if self.policy == OverflowPolicy::DropOldest {
            return self.acquire();
        }
        self.freed.wait_for(timeout, || self.acquire().ok()).ok_or(PushRefused::Full)
    }

    /// Consumer side, as the policy says: under `DropOldest` the newest waiting frame (older
    /// ones are released and counted, so latency stays at one frame of processing); under
    /// `Block` the oldest, so every frame is processed in order.
    pub fn next_frame(self: &Arc<Self>) -> Option<ReadSlot> {
        match self.policy {
            OverflowPolicy::DropOldest => self.take_latest(),
            OverflowPolicy::Block => self.take(),
        }
    }

    /// Consumer side: the oldest waiting frame, if any.
    pub fn take(self: &Arc<Self>) -> Option<ReadSlot> {
        let c = self.slots.claim_oldest_ready()?;
        self.stats.record_taken();
        Some(ReadSlot { ring: Arc::clone(self), claim: Some(c) })
    }

    /// Consumer side for live sources: the newest waiting frame; older waiting frames are
    /// released and counted in `dropped_oldest`.
    pub fn take_latest(self: &Arc<Self>) -> Option<ReadSlot> {
        let mut newest = self.take()?;
        while let Some(next) = self.slots.claim_oldest_ready() {
            self.stats.record_dropped_oldest();
            drop(std::mem::replace(&mut newest, ReadSlot { ring: Arc::clone(self), claim: Some(next) }));
        }
        Some(newest)
    }

    /// Frames waiting to be taken (approximate under concurrency).
    pub fn depth(&self) -> usize {
        self.stats.depth()
    }

    fn release(&self, claim: Claim) {
        self.slots.release(claim);
        self.freed.notify();
    }

    fn publish(&self, claim: Claim) {
        self.stats.record_pushed();
        self.slots.publish(claim);
    }
}

/// A slot held by the producer. Publishing hands it to the consumer; dropping it unpublished returns it.
pub struct WriteSlot {
    ring: Arc<FrameRing>,
    /// `Some` until published or dropped.
    claim: Option<Claim>,
}

impl WriteSlot {
    /// The slot's contents, to be overwritten.
    pub fn slot(&mut self) -> &mut FrameSlot {
        // The claim is taken only by `publish` (which consumes self) and `drop`.
        let claim = self.claim.as_mut().expect("a write slot holds its claim until published");
        self.ring.slots.get_mut(claim)
    }

    /// Makes the frame available to the consumer.
    pub fn publish(mut self) {
        if let Some(c) = self.claim.take() {
            self.ring.publish(c);
        }
    }
}

impl Drop for WriteSlot {
    fn drop(&mut self) {
        if let Some(c) = self.claim.take() {
            self.ring.release(c);
        }
    }
}

/// A frame held by the consumer; dropping it returns the slot to the producer.
pub struct ReadSlot {
    ring: Arc<FrameRing>,
    /// `Some` until dropped.
    claim: Option<Claim>,
}

impl ReadSlot {
    /// The frame.
    pub fn slot(&self) -> &FrameSlot {
        // The claim is taken only by `drop`.
        let claim = self.claim.as_ref().expect("a read slot holds its claim until dropped");
        self.ring.slots.get(claim)
    }
}

impl Drop for ReadSlot {
    fn drop(&mut self) {
        if let Some(c) = self.claim.take() {
            self.ring.release(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(ring: &Arc<FrameRing>, n: u64) -> Result<(), PushRefused> {
        let mut w = ring.acquire()?;
        w.slot().meta.number = n;
        w.publish();
        Ok(())
    }

    #[test]
    fn drop_oldest_keeps_the_newest_frames_and_counts_drops() {
        let ring = FrameRing::new(4, 16, OverflowPolicy::DropOldest);
        for n in 0..10 {
            push(&ring, n).unwrap();
        }
        let got: Vec<u64> = std::iter::from_fn(|| ring.take().map(|r| r.slot().meta.number)).collect();
        assert_eq!(got, vec![6, 7, 8, 9]);
        let c = ring.stats().snapshot();
        assert_eq!(c.pushed, 10);
        assert_eq!(c.dropped_oldest, 6);
        assert_eq!(c.taken, 4);
    }

    #[test]
    fn take_latest_skips_to_the_newest_frame_and_counts_the_rest() {
        let ring = FrameRing::new(4, 16, OverflowPolicy::DropOldest);
        for n in 0..3 {
            push(&ring, n).unwrap();
        }
        assert_eq!(ring.take_latest().unwrap().slot().meta.number, 2);
        assert!(ring.take_latest().is_none());
        assert_eq!(ring.stats().snapshot().dropped_oldest, 2);
        assert_eq!(ring.depth(), 0);
        // Every slot came back: four more frames fit without dropping.
        for n in 3..7 {
            push(&ring, n).unwrap();
        }
        assert_eq!(ring.stats().snapshot().dropped_oldest, 2);
    }

    #[test]
    fn block_policy_refuses_when_full_and_loses_nothing() {
        let ring = FrameRing::new(2, 16, OverflowPolicy::Block);
        push(&ring, 0).unwrap();
        push(&ring, 1).unwrap();
        assert_eq!(push(&ring, 2), Err(PushRefused::Full));
        assert_eq!(ring.take().unwrap().slot().meta.number, 0);
        push(&ring, 2).unwrap();
        let got: Vec<u64> = std::iter::from_fn(|| ring.take().map(|r| r.slot().meta.number)).collect();
        assert_eq!(got, vec![1, 2]);
        assert_eq!(ring.stats().snapshot().dropped_oldest, 0);
    }

    #[test]
    fn a_slot_held_by_the_consumer_is_never_overwritten() {
        let ring = FrameRing::new(2, 16, OverflowPolicy::DropOldest);
        push(&ring, 0).unwrap();
        let held = ring.take().unwrap();
        for n in 1..5 {
            push(&ring, n).unwrap();
        }
        assert_eq!(held.slot().meta.number, 0);
        drop(held);
        assert_eq!(ring.take().unwrap().slot().meta.number, 4);
    }

    #[test]
    fn producer_and_consumer_threads_hand_over_every_frame_in_order_when_blocking() {
        let ring = FrameRing::new(4, 1024, OverflowPolicy::Block);
        let producer = {
            let ring = Arc::clone(&ring);
            std::thread::spawn(move || {
                for n in 0..5_000u64 {
                    loop {
                        match ring.acquire() {
                            Ok(mut w) => {
                                w.slot().meta.number = n;
                                w.slot().data.resize(8).unwrap();
                                w.slot().data.copy_from_slice(&n.to_le_bytes());
                                w.publish();
                                break;
                            }
                            Err(PushRefused::Full) => std::thread::yield_now(),
                        }
                    }
                }
            })
        };
        let mut next = 0u64;
        while next < 5_000 {
            if let Some(r) = ring.take() {
                assert_eq!(r.slot().meta.number, next);
                assert_eq!(r.slot().data[..8], next.to_le_bytes());
                next += 1;
            } else {
                std::thread::yield_now();
            }
        }
        producer.join().unwrap();
    }
}
