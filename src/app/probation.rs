//! Probation of a remote change: applied, then kept (persisted) only once it has run for
//! `control.remote_probation_secs` at a sane frame rate; rolled back when frames nearly stop
//! under it. Pure bookkeeping: the supervisor feeds it counts and acts on its verdict.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::config::remote::RemoteError;

/// Why a probation ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ProbationEnd {
    /// Its time is up: keep or roll back.
    Due,
    /// A newer change arrived: keep it (it has run so far) and judge the newer one.
    Superseded,
    /// The daemon stops: keep (persist) unless frames nearly stopped; nothing to roll back.
    Stopping,
}

/// What to do with a change whose probation ended.
#[derive(Debug)]
pub(super) enum Verdict {
    /// It proved itself: persist this patch.
    Keep(serde_json::Value),
    /// Frames nearly stopped under it: apply the configuration before it and report why.
    RollBack(Box<Config>, RemoteError),
    /// Frames nearly stopped, but the daemon is stopping: neither keep nor roll back.
    Discard,
}

/// A remote change that was applied but not yet kept: the configuration before it, the patch to
/// persist once it has proved itself, and the processing rate before it.
#[derive(Debug)]
pub(super) struct Probation {
    previous: Config,
    patch: serde_json::Value,
    since: Instant,
    processed_at: u64,
    fps_before: f64,
}

impl Probation {
    /// Starts a probation now, `processed` frames into the run, after a rate of `fps_before`.
    pub(super) fn start(previous: Config, patch: serde_json::Value, processed: u64, fps_before: f64) -> Self {
        Probation { previous, patch, since: Instant::now(), processed_at: processed, fps_before }
    }

    /// Whether it has run for `secs`.
    pub(super) fn is_due(&self, secs: f32) -> bool {
        self.since.elapsed() >= Duration::from_secs_f32(secs)
    }

    /// The verdict, `processed` frames into the run; `camera_delivers` when the source is
    /// running (a camera that went away says nothing about the change).
    pub(super) fn judge(self, why: ProbationEnd, processed: u64, camera_delivers: bool) -> Verdict {
        let secs = self.since.elapsed().as_secs_f64().max(1e-3);
        let fps_after = processed.saturating_sub(self.processed_at) as f64 / secs;
        let starved = why != ProbationEnd::Superseded
            && camera_delivers
            && secs >= 1.0
            && self.fps_before >= 0.5
            && fps_after < 0.2 * self.fps_before;
        match (starved, why) {
            (false, _) => Verdict::Keep(self.patch),
            (true, ProbationEnd::Stopping) => Verdict::Discard,
            (true, _) => Verdict::RollBack(
                Box::new(self.previous),
                RemoteError::RolledBack { secs: secs as f32, fps_before: self.fps_before, fps_after },
            ),
        }
    }
}

/// Processed-frame counts sampled about once a second over the last 10 s: the rate a change is
/// judged against.
#[derive(Debug, Default)]
pub(super) struct RateWindow {
    samples: VecDeque<(Instant, u64)>,
}

impl RateWindow {
    /// Records `processed` if a second has passed since the last sample.
    pub(super) fn sample(&mut self, processed: u64) {
        let now = Instant::now();
        if self.samples.back().is_none_or(|(t, _)| now.duration_since(*t) >= Duration::from_secs(1)) {
            self.samples.push_back((now, processed));
            while self.samples.len() > 11 {
                self.samples.pop_front();
            }
        }
    }

    /// Frames per second over the window (0 without enough of it).
    pub(super) fn rate(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1.duration_since(*t0) >= Duration::from_millis(900) => {
                n1.saturating_sub(*n0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut raw = crate::config::RawConfig::default();
        raw.infer.model = format!("{}/models/yolox_nano.onnx", env!("CARGO_MANIFEST_DIR"));
        crate::config::validate(raw, false).expect("default validates")
    }

    fn aged(secs: f64, fps_before: f64) -> Probation {
        let mut p = Probation::start(config(), serde_json::json!({"track": {"min_hits": 3}}), 100, fps_before);
        p.since = Instant::now() - Duration::from_secs_f64(secs);
        p
    }

    #[test]
    fn a_change_that_keeps_the_rate_is_kept_and_one_that_starves_it_is_rolled_back() {
        // 25 fps before; 4 s at 24 fps: kept with its patch.
        match aged(4.0, 25.0).judge(ProbationEnd::Due, 100 + 96, true) {
            Verdict::Keep(patch) => assert_eq!(patch["track"]["min_hits"], 3),
            v => panic!("{v:?}"),
        }
        // 4 s at 1 fps: rolled back to the configuration before, with the rates in the reason.
        match aged(4.0, 25.0).judge(ProbationEnd::Due, 104, true) {
            Verdict::RollBack(previous, e) => {
                assert_eq!(previous.track.min_hits, config().track.min_hits);
                assert!(e.to_string().contains("rolled back"), "{e}");
            }
            v => panic!("{v:?}"),
        }
        // Starved, but stopping: nothing to roll back, nothing kept.
        assert!(matches!(aged(4.0, 25.0).judge(ProbationEnd::Stopping, 104, true), Verdict::Discard));
    }

    #[test]
    fn a_camera_that_went_away_or_a_newer_change_says_nothing_against_it() {
        assert!(matches!(aged(4.0, 25.0).judge(ProbationEnd::Due, 100, false), Verdict::Keep(_)));
        assert!(matches!(aged(4.0, 25.0).judge(ProbationEnd::Superseded, 100, true), Verdict::Keep(_)));
        // Too short to judge, or no rate before to compare with.
        assert!(matches!(aged(0.5, 25.0).judge(ProbationEnd::Due, 100, true), Verdict::Keep(_)));
        assert!(matches!(aged(4.0, 0.1).judge(ProbationEnd::Due, 100, true), Verdict::Keep(_)));
    }

    #[test]
    fn the_rate_window_needs_a_second_of_samples() {
        let mut w = RateWindow::default();
        w.sample(0);
        assert_eq!(w.rate(), 0.0);
        w.samples[0].0 -= Duration::from_secs(2);
        w.sample(50);
        assert!((w.rate() - 25.0).abs() < 1.0, "{}", w.rate());
    }
}
