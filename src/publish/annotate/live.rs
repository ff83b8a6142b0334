//! The live annotated picture of one camera, for the local HTTP face: the newest JPEG, kept by
//! the annotation thread and read by any number of viewers. Viewers never reach the frame path:
//! each sees only the newest picture when it is ready for one, so a slow viewer skips pictures
//! (counted) instead of holding anything up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use hyper::body::Bytes;
use tokio::sync::watch;

/// Interval between pictures while nobody watches the stream: `latest.jpg` and the status page
/// stay at most this old.
const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// One annotated JPEG.
#[derive(Clone, Debug)]
pub struct LivePicture {
    /// Pictures made before this one (gaps seen by a viewer are pictures it skipped).
    pub seq: u64,
    /// The JPEG.
    pub jpeg: Bytes,
}

/// The newest annotated picture of a camera, and who watches it.
#[derive(Debug)]
pub struct LiveView {
    latest: watch::Sender<Option<LivePicture>>,
    viewers: AtomicUsize,
    /// Nanoseconds between pictures while someone watches the stream.
    watched_interval_ns: u64,
    made: AtomicU64,
    skipped: AtomicU64,
}

/// Counts a viewer of the stream while it lives.
#[derive(Debug)]
pub struct Viewer(Arc<LiveView>);

impl Drop for Viewer {
    fn drop(&mut self) {
        self.0.viewers.fetch_sub(1, Relaxed);
    }
}

impl LiveView {
    /// A view made at most `max_fps` times a second while watched, once a second otherwise.
    pub fn new(max_fps: f32) -> Self {
        LiveView {
            latest: watch::Sender::new(None),
            viewers: AtomicUsize::new(0),
            watched_interval_ns: (1e9 / max_fps.clamp(0.1, 60.0) as f64) as u64,
            made: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// The newest picture, if any has been made.
    pub fn latest(&self) -> Option<LivePicture> {
        self.latest.borrow().clone()
    }

    /// A receiver of every new picture.
    pub fn subscribe(&self) -> watch::Receiver<Option<LivePicture>> {
        self.latest.subscribe()
    }

    /// Registers a viewer of the stream until the guard is dropped (pictures come faster then).
    pub fn watch(self: &Arc<Self>) -> Viewer {
        self.viewers.fetch_add(1, Relaxed);
        Viewer(Arc::clone(self))
    }

    /// Viewers of the stream now.
    pub fn viewers(&self) -> usize {
        self.viewers.load(Relaxed)
    }

    /// Counts pictures a viewer skipped because it was slower than they came.
    pub fn count_skipped(&self, n: u64) {
        self.skipped.fetch_add(n, Relaxed);
    }

    /// Pictures made, and pictures viewers skipped, since start.
    pub fn counts(&self) -> (u64, u64) {
        (self.made.load(Relaxed), self.skipped.load(Relaxed))
    }

    /// Nanoseconds to wait between pictures now.
    pub(super) fn interval_ns(&self) -> u64 {
        if self.viewers() > 0 { self.watched_interval_ns } else { IDLE_INTERVAL.as_nanos() as u64 }
    }

    /// Makes `jpeg` the newest picture.
    pub(super) fn publish(&self, jpeg: Vec<u8>) {
        let seq = self.made.fetch_add(1, Relaxed);
        self.latest.send_replace(Some(LivePicture { seq, jpeg: Bytes::from(jpeg) }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watched_views_come_faster_and_viewers_are_counted_while_they_live() {
        let v = Arc::new(LiveView::new(5.0));
        assert_eq!(v.interval_ns(), 1_000_000_000);
        {
            let _a = v.watch();
            let _b = v.watch();
            assert_eq!(v.viewers(), 2);
            assert_eq!(v.interval_ns(), 200_000_000);
        }
        assert_eq!(v.viewers(), 0);
        assert!(v.latest().is_none());
        v.publish(vec![1, 2, 3]);
        v.publish(vec![4]);
        let p = v.latest().unwrap();
        assert_eq!((p.seq, &p.jpeg[..]), (1, &[4u8][..]));
        assert_eq!(v.counts(), (2, 0));
    }
}
