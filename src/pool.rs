//! A fixed set of preallocated items handed between threads without locks: the frame ring's
//! slots and the MQTT queue's message buffers are both one of these.
//!
//! Each item is owned by exactly one party at a time: the `free` queue, the `ready` queue, or the
//! holder of its [`Claim`]. Indices travel through two lock-free bounded queues
//! (`heapless::mpmc`); moving an index through a queue is a release/acquire pair, so whoever holds
//! the claim has exclusive, synchronised access to the item. `ready` is multi-consumer, so a
//! producer can reclaim the *oldest* waiting item itself when every one is taken.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use heapless::mpmc;

/// The exclusive right to one item of a pool, until it is published or released. Not `Clone`:
/// there is exactly one per item in flight.
#[derive(Debug, PartialEq, Eq)]
pub struct Claim {
    pool: u32,
    index: u16,
}

impl Claim {
    /// The item's position in its pool (stable for the pool's life).
    pub fn index(&self) -> usize {
        usize::from(self.index)
    }
}

struct Cell<T>(UnsafeCell<T>);

// SAFETY: an item is reached only through its pool with a `Claim`, and one claim exists per
// item in flight (see the module documentation); `T: Send` lets the item move between threads.
unsafe impl<T: Send> Sync for Cell<T> {}

/// Gives every pool its own number, so a claim can never be used on another pool.
static POOLS: AtomicU32 = AtomicU32::new(0);

/// Up to `N` items (`N` a power of two, at most 65,536) and their two queues.
pub struct SlotPool<T, const N: usize> {
    id: u32,
    cells: Box<[Cell<T>]>,
    free: mpmc::Queue<u16, N>,
    ready: mpmc::Queue<u16, N>,
}

impl<T: Send, const N: usize> SlotPool<T, N> {
    /// A pool of `items` (at most `N` are kept), all free.
    pub fn new(items: Vec<T>) -> Self {
        let cells: Box<[Cell<T>]> = items.into_iter().take(N.min(1 << 16)).map(|t| Cell(UnsafeCell::new(t))).collect();
        // heapless deprecates `mpmc::Queue::new` because an operation pre-empted mid-way can make
        // others fail spuriously until it resumes. Here that is harmless: a failed dequeue reads
        // as "nothing yet" and is retried, and enqueues (which can never meet a truly full queue,
        // since only `len() <= N` indices exist) are retried until they land.
        #[expect(deprecated)]
        let (free, ready) = (mpmc::Queue::new(), mpmc::Queue::new());
        let pool = SlotPool { id: POOLS.fetch_add(1, Relaxed), cells, free, ready };
        for i in 0..pool.cells.len() {
            enqueue_retrying(&pool.free, i as u16);
        }
        pool
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the pool has no items.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// A free item, if any.
    pub fn claim_free(&self) -> Option<Claim> {
        self.free.dequeue().map(|index| Claim { pool: self.id, index })
    }

    /// The oldest published item, if any.
    pub fn claim_oldest_ready(&self) -> Option<Claim> {
        self.ready.dequeue().map(|index| Claim { pool: self.id, index })
    }

    /// Hands the item to whoever takes ready items, after every item published before it.
    pub fn publish(&self, claim: Claim) {
        enqueue_retrying(&self.ready, self.own(&claim));
    }

    /// Gives the item back as free.
    pub fn release(&self, claim: Claim) {
        enqueue_retrying(&self.free, self.own(&claim));
    }

    /// The claimed item, borrowed for as long as the claim is (so it cannot outlive it).
    ///
    /// # Panics
    /// If `claim` is of another pool: a programming error, never a matter of input.
    pub fn get<'a>(&'a self, claim: &'a Claim) -> &'a T {
        let i = usize::from(self.own(claim));
        // SAFETY: the claim is of this pool and is the only one for this item (module docs).
        unsafe { &*self.cells[i].0.get() }
    }

    /// The claimed item, to change.
    ///
    /// # Panics
    /// If `claim` is of another pool: a programming error, never a matter of input.
    pub fn get_mut<'a>(&'a self, claim: &'a mut Claim) -> &'a mut T {
        let i = usize::from(self.own(claim));
        // SAFETY: as in `get`; `&mut Claim` keeps this the only reference through the claim.
        unsafe { &mut *self.cells[i].0.get() }
    }

    /// Parks a claim as a plain number (for an atomic cell that holds it between calls).
    pub fn into_raw(&self, claim: Claim) -> u16 {
        self.own(&claim)
    }

    /// Takes back a claim parked by [`SlotPool::into_raw`].
    ///
    /// # Safety
    /// `raw` must come from `into_raw` on this pool, and be taken back at most once.
    pub unsafe fn from_raw(&self, raw: u16) -> Claim {
        Claim { pool: self.id, index: raw }
    }

    fn own(&self, claim: &Claim) -> u16 {
        assert_eq!(claim.pool, self.id, "a claim used on another pool");
        claim.index
    }
}

/// Enqueues an index that is known to fit (each index is in exactly one place and the queue
/// holds all of them), retrying the rare spurious failure of a concurrently pre-empted peer.
fn enqueue_retrying<const N: usize>(q: &mpmc::Queue<u16, N>, index: u16) {
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
    fn items_move_free_to_ready_in_order_and_back() {
        let pool: SlotPool<u32, 4> = SlotPool::new(vec![0; 4]);
        let mut claims = Vec::new();
        while let Some(mut c) = pool.claim_free() {
            *pool.get_mut(&mut c) = 10 + c.index() as u32;
            claims.push(c);
        }
        assert_eq!(claims.len(), 4, "every item once");
        let order: Vec<usize> = claims.iter().map(Claim::index).collect();
        for c in claims {
            pool.publish(c);
        }
        let mut seen = Vec::new();
        while let Some(c) = pool.claim_oldest_ready() {
            seen.push(c.index());
            assert_eq!(*pool.get(&c), 10 + c.index() as u32);
            pool.release(c);
        }
        assert_eq!(seen, order, "oldest first");
        assert!(pool.claim_free().is_some());
    }

    #[test]
    #[should_panic(expected = "another pool")]
    fn a_claim_cannot_reach_into_another_pool() {
        let a: SlotPool<u8, 2> = SlotPool::new(vec![0; 2]);
        let b: SlotPool<u8, 2> = SlotPool::new(vec![0; 2]);
        let c = a.claim_free().unwrap();
        let _ = b.get(&c);
    }

    #[test]
    fn a_parked_claim_comes_back_as_the_same_item() {
        let pool: SlotPool<u8, 2> = SlotPool::new(vec![7, 9]);
        let c = pool.claim_free().unwrap();
        let i = c.index();
        let raw = pool.into_raw(c);
        // SAFETY: parked just above, taken back once.
        let back = unsafe { pool.from_raw(raw) };
        assert_eq!(back.index(), i);
    }
}
