//! A wake-up count: one side waits until a condition holds, the other makes it hold and wakes
//! it. Lock-free for the notifier (an atomic add, and a futex wake only while someone waits);
//! the waiter sleeps in the kernel with a deadline instead of polling.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use nix::libc;

/// A futex-backed wake-up count (Linux).
#[derive(Debug, Default)]
pub struct WakeCount {
    generation: AtomicU32,
    waiters: AtomicU32,
}

impl WakeCount {
    /// Call after making the condition true.
    pub fn notify(&self) {
        self.generation.fetch_add(1, SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            // SAFETY: FUTEX_WAKE on a live, aligned u32; no other memory is touched.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.generation.as_ptr(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    i32::MAX,
                )
            };
        }
    }

    /// Waits until `ready()` returns something or `timeout` passes (spurious early returns are
    /// possible: callers loop); returns what `ready()` gave last.
    pub fn wait_for<T>(&self, timeout: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
        if let Some(v) = ready() {
            return Some(v);
        }
        let seen = self.generation.load(SeqCst);
        self.waiters.fetch_add(1, SeqCst);
        // A notify between `seen` and here changed the generation: the wait below returns at once.
        let got = ready();
        if got.is_none() {
            let ts = libc::timespec {
                tv_sec: timeout.as_secs() as libc::time_t,
                tv_nsec: timeout.subsec_nanos() as libc::c_long,
            };
            // SAFETY: FUTEX_WAIT on a live, aligned u32 with a valid relative timeout.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.generation.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    seen,
                    &ts as *const libc::timespec,
                )
            };
        }
        self.waiters.fetch_sub(1, SeqCst);
        got.or_else(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_waiter_wakes_on_notify_long_before_its_deadline() {
        let w = Arc::new(WakeCount::default());
        let flag = Arc::new(AtomicBool::new(false));
        let t = {
            let (w, flag) = (Arc::clone(&w), Arc::clone(&flag));
            std::thread::spawn(move || {
                let start = std::time::Instant::now();
                while w.wait_for(Duration::from_secs(10), || flag.load(SeqCst).then_some(())).is_none() {}
                start.elapsed()
            })
        };
        std::thread::sleep(Duration::from_millis(30));
        flag.store(true, SeqCst);
        w.notify();
        assert!(t.join().unwrap() < Duration::from_secs(5));
        // Nothing to wait for: the deadline ends the wait.
        assert!(w.wait_for(Duration::from_millis(5), || None::<()>).is_none());
    }
}
