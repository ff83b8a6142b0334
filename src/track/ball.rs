//! The ball tracker: one target, a constant-velocity filter, gating by plausible speed, and
//! coasting through short misses (the ball is small, fast and often hidden by players).

use super::kalman::BoxFilter;
use super::options::TrackerOptions;
use crate::frame::{Detection, ObjectClass, Track};

/// Tracks the single match ball.
#[derive(Debug, Default)]
pub struct BallTracker {
    opts: TrackerOptions,
    filter: Option<BoxFilter>,
    id: u64,
    score: f32,
    missed: u32,
    hits: u32,
    next_id: u64,
}

/// Ball ids start here so they never collide with player ids.
pub const BALL_ID_BASE: u64 = 1_000_000_000;

impl BallTracker {
    /// A ball tracker with these options.
    pub fn new(opts: TrackerOptions) -> Self {
        BallTracker { opts, next_id: BALL_ID_BASE, ..Default::default() }
    }

    /// Replaces the options.
    pub fn set_options(&mut self, opts: TrackerOptions) {
        self.opts = opts;
    }

    /// Advances by `dt_frames` and takes the most plausible ball detection. Returns the ball's
    /// track when it is seen in this frame or coasting within the allowed misses (then
    /// `frames_since_seen > 0` and the score decays).
    pub fn step(&mut self, dt_frames: f32, dets: &[Detection]) -> Option<Track> {
        if let Some(f) = &mut self.filter {
            f.predict(dt_frames);
        }
        let predicted = self.filter.as_ref().map(|f| f.bbox());
        let mut best: Option<(usize, f32)> = None;
        for (i, d) in dets.iter().enumerate() {
            if d.class != ObjectClass::Ball || d.score < self.opts.low_score {
                continue;
            }
            // Rank by score, penalised by distance from the prediction; gate implausible jumps.
            let rank = match &predicted {
                Some(p) => {
                    let (px, py) = p.center();
                    let (cx, cy) = d.bbox.center();
                    let diameter = p.width().max(p.height()).max(4.0);
                    let dist = ((cx - px).powi(2) + (cy - py).powi(2)).sqrt() / diameter;
                    let allowed = self.opts.ball_max_step_diameters * dt_frames.max(1.0) * (1 + self.missed) as f32;
                    if dist > allowed && d.score < self.opts.high_score.max(0.6) {
                        continue;
                    }
                    d.score - 0.02 * dist
                }
                None => d.score,
            };
            if best.is_none_or(|b| rank > b.1) {
                best = Some((i, rank));
            }
        }
        match (best, &mut self.filter) {
            (Some((i, _)), Some(f)) => {
                let d = &dets[i];
                f.update(&d.bbox);
                self.score = d.score;
                self.missed = 0;
                self.hits += 1;
            }
            (Some((i, _)), None) => {
                let d = &dets[i];
                if d.score < self.opts.new_track_score.min(0.4) {
                    return None;
                }
                self.filter = Some(BoxFilter::new(&d.bbox));
                self.id = self.next_id;
                self.next_id += 1;
                self.score = d.score;
                self.missed = 0;
                self.hits = 1;
            }
            (None, Some(_)) => {
                self.missed += dt_frames.round().max(1.0) as u32;
                self.score *= 0.8;
                if self.missed > self.opts.ball_max_missed_frames {
                    self.filter = None;
                    return None;
                }
            }
            (None, None) => return None,
        }
        let f = self.filter.as_ref()?;
        Some(Track {
            id: self.id,
            class: ObjectClass::Ball,
            bbox: f.bbox(),
            score: self.score,
            frames_since_seen: self.missed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::BBox;

    fn ball(x: f32, y: f32, score: f32) -> Detection {
        Detection { bbox: BBox::from_cxcywh(x, y, 8.0, 8.0), score, class: ObjectClass::Ball }
    }

    #[test]
    fn ball_keeps_its_id_through_a_short_miss_and_ignores_a_far_false_positive() {
        let mut t = BallTracker::new(TrackerOptions::default());
        let first = t.step(1.0, &[ball(100.0, 100.0, 0.8)]).unwrap();
        for k in 1..10 {
            let x = 100.0 + 10.0 * k as f32;
            // A weak false positive far away is ignored.
            let tr = t.step(1.0, &[ball(x, 100.0, 0.5), ball(900.0, 500.0, 0.45)]).unwrap();
            assert_eq!(tr.id, first.id);
            assert!((tr.bbox.center().0 - x).abs() < 10.0);
        }
        // Three missed frames: coasting, same id, position extrapolated.
        for _ in 0..3 {
            let tr = t.step(1.0, &[]).unwrap();
            assert_eq!(tr.id, first.id);
            assert!(tr.frames_since_seen > 0);
        }
        let tr = t.step(1.0, &[ball(230.0, 100.0, 0.7)]).unwrap();
        assert_eq!(tr.id, first.id);
        assert_eq!(tr.frames_since_seen, 0);
    }

    #[test]
    fn ball_is_dropped_after_a_long_miss_and_gets_a_new_id() {
        let mut t = BallTracker::new(TrackerOptions::default());
        let first = t.step(1.0, &[ball(100.0, 100.0, 0.8)]).unwrap();
        for _ in 0..30 {
            t.step(1.0, &[]);
        }
        let again = t.step(1.0, &[ball(500.0, 100.0, 0.8)]).unwrap();
        assert_ne!(again.id, first.id);
    }
}
