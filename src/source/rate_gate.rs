//! The ingress rate limit (`infer.max_fps` and the throttle's rate): which decoded frames are
//! let into the ring. A schedule, not a minimum gap: each let-in frame books the next slot one
//! interval after the *slot* it filled, not after the frame, so the limit delivers the rate asked
//! for on average (10 of every 25 frames at 10 fps on a 25 fps camera, spaced as evenly as the
//! source allows) instead of rounding down to a divisor of the source's rate (8.3 fps).

/// The schedule of let-in frames.
#[derive(Debug, Default)]
pub(super) struct RateGate {
    /// When the next frame is due, ns of stream (or wall) time.
    next_due_ns: Option<u64>,
    /// The last let-in frame's time, to see timestamps restart.
    last_ns: Option<u64>,
}

impl RateGate {
    /// Whether the frame at `t_ns` goes in at one frame per `interval_ns` (0: every frame).
    pub(super) fn admit(&mut self, t_ns: u64, interval_ns: u64) -> bool {
        if interval_ns == 0 {
            (self.next_due_ns, self.last_ns) = (None, Some(t_ns));
            return true;
        }
        // A frame a little early counts as on time (timestamp jitter): a twentieth of the
        // interval, at most 4 ms, well under any camera's frame period.
        let tolerance = (interval_ns / 20).min(4_000_000);
        let restarted = self.last_ns.is_some_and(|last| t_ns < last);
        match self.next_due_ns {
            Some(due) if !restarted && t_ns + tolerance < due => false,
            Some(due) if !restarted => {
                // On schedule; a frame more than an interval late (a gap in the stream) starts
                // the schedule afresh instead of letting a burst through to catch up.
                let next = due + interval_ns;
                self.next_due_ns = Some(if next <= t_ns { t_ns + interval_ns } else { next });
                self.last_ns = Some(t_ns);
                true
            }
            _ => {
                (self.next_due_ns, self.last_ns) = (Some(t_ns + interval_ns), Some(t_ns));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frames of a `source_fps` stream lasting `secs` let in at `limit_fps`.
    fn admitted(source_fps: f64, secs: f64, limit_fps: f64) -> Vec<u64> {
        let mut g = RateGate::default();
        let interval = if limit_fps > 0.0 { (1e9 / limit_fps) as u64 } else { 0 };
        let frames = (source_fps * secs).round() as u64;
        (0..frames).map(|k| (k as f64 * 1e9 / source_fps) as u64).filter(|&t| g.admit(t, interval)).collect()
    }

    #[test]
    fn ten_fps_of_a_25_fps_camera_is_ten_frames_a_second_evenly_spaced() {
        // Issue 19: 12 s at 25 fps (300 frames) limited to 10 fps gave 100 frames (8.3 fps).
        let t = admitted(25.0, 12.0, 10.0);
        assert_eq!(t.len(), 120, "10 of every 25 frames");
        let gaps: std::collections::BTreeSet<u64> = t.windows(2).map(|w| (w[1] - w[0]) / 1_000_000).collect();
        assert_eq!(gaps.into_iter().collect::<Vec<_>>(), [80, 120], "as evenly as 40 ms frames allow");
    }

    #[test]
    fn other_rates_are_delivered_on_average() {
        assert_eq!(admitted(25.0, 12.0, 12.5).len(), 150);
        assert_eq!(admitted(25.0, 12.0, 1.0).len(), 12);
        assert_eq!(admitted(25.0, 12.0, 5.0).len(), 60);
        assert_eq!(admitted(30.0, 10.0, 25.0).len(), 250);
        assert_eq!(admitted(25.0, 12.0, 30.0).len(), 300, "a limit above the source's rate lets every frame in");
        assert_eq!(admitted(25.0, 12.0, 0.0).len(), 300, "no limit");
    }

    #[test]
    fn a_gap_or_restarted_timestamps_start_the_schedule_afresh() {
        let mut g = RateGate::default();
        let i = 100_000_000;
        assert!(g.admit(0, i));
        assert!(!g.admit(40_000_000, i));
        // Five seconds without frames: one frame, not a burst of fifty.
        assert!(g.admit(5_000_000_000, i));
        assert!(!g.admit(5_040_000_000, i));
        // A reconnect: timestamps start again from zero.
        assert!(g.admit(0, i));
        assert!(!g.admit(40_000_000, i));
        assert!(g.admit(120_000_000, i));
    }
}
