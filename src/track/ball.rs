//! The ball tracker: one ball, a point filter with pixel noise that follows passes and shots,
//! a gate that keeps the one detection consistent with the track, coasting through short
//! misses (published as predicted), and re-acquisition when a consistent ball appears elsewhere.
//!
//! Noise is scaled by the ball's own size in the image (a smoothed diameter), so the same
//! settings hold at 720p and 4K and for near and far cameras: the filter allows a change of
//! velocity of [`ACCEL_DIAMETERS`] ball diameters per frame squared (a kick at 25 fps), which is
//! what lets it follow a pass without losing it, while the gate ([`GATE_SIGMAS`]) still refuses
//! a head or a sock on the far side of the pitch.

use super::kalman::PointFilter;
use super::options::TrackerOptions;
use crate::frame::{BBox, Detection, ObjectClass, Track};

/// Ball ids start here so they never collide with player ids.
pub const BALL_ID_BASE: u64 = 1_000_000_000;

/// Random acceleration per frame at 25 fps, in ball diameters per frame squared.
const ACCEL_DIAMETERS: f32 = 0.6;
/// Measurement noise of a detected centre, in ball diameters.
const MEASURE_DIAMETERS: f32 = 0.25;
/// A detection within this many standard deviations of the prediction belongs to the track.
const GATE_SIGMAS: f32 = 4.0;
/// A ball this sure starts a track at once; weaker ones need a second, consistent frame.
const SURE_SCORE: f32 = 0.6;
/// Frames a track seen only once or twice may coast before it is taken for a false detection.
const YOUNG_TRACK_MISSES: u32 = 2;
/// Hits after which a track is no longer young.
const YOUNG_TRACK_HITS: u32 = 3;
/// A ball elsewhere must outscore the track's own detection by this much to challenge it ...
const RIVAL_MARGIN: f32 = 0.1;
/// ... and do so in this many consistent frames to take over.
const RIVAL_HITS: u32 = 3;
/// Smallest diameter used for noise, in pixels (a ball of 2 px is a detector's guess).
const MIN_DIAMETER: f32 = 4.0;

/// A ball seen away from the track, waiting for a second consistent frame to take over.
#[derive(Clone, Copy, Debug)]
struct Challenger {
    centre: (f32, f32),
    diameter: f32,
    score: f32,
    hits: u32,
    /// Frames since it was last seen.
    age: u32,
}

/// The live track.
#[derive(Clone, Copy, Debug)]
struct Live {
    filter: PointFilter,
    id: u64,
    diameter: f32,
    score: f32,
    missed: u32,
    hits: u32,
}

/// Tracks the single match ball.
#[derive(Debug, Default)]
pub struct BallTracker {
    opts: TrackerOptions,
    live: Option<Live>,
    challenger: Option<Challenger>,
    next_id: u64,
}

impl BallTracker {
    /// A ball tracker with these options.
    pub fn new(opts: TrackerOptions) -> Self {
        BallTracker { opts, next_id: BALL_ID_BASE, ..Default::default() }
    }

    /// Replaces the options.
    pub fn set_options(&mut self, opts: TrackerOptions) {
        self.opts = opts;
    }

    /// Where the ball is expected `frames` native intervals ahead, if tracked: the place to look
    /// twice (1 for the next frame; more when frames are in flight).
    pub fn expected_centre(&self, frames: f32) -> Option<(f32, f32)> {
        let live = self.live.as_ref()?;
        let (x, y) = live.filter.position();
        let (vx, vy) = live.filter.velocity();
        Some((x + vx * frames, y + vy * frames))
    }

    /// Advances by `dt_frames`, moved by the camera's `shift` (pixels this step), and takes the
    /// ball detection consistent with the track. Returns the ball when seen in this frame or
    /// coasting within the allowed misses (then `frames_since_seen > 0`: predicted).
    pub fn step(&mut self, dt_frames: f32, shift: (f32, f32), dets: &[Detection]) -> Option<Track> {
        let dt = dt_frames.max(0.0);
        let rate = self.rate_scale();
        if let Some(live) = &mut self.live {
            live.filter.predict(dt, ACCEL_DIAMETERS * rate * live.diameter);
            live.filter.shift(shift.0, shift.1);
        }
        let gated = self.gated_detection(dets);
        // A ball elsewhere that clearly outscores the track's own (or stands alone while the
        // track is missed) challenges it; consistent over a few frames, it takes over.
        let margin = gated.map_or(0.0, |g| g.score + RIVAL_MARGIN);
        let rival = balls(dets, self.opts.new_track_score.min(0.4).max(margin))
            .filter(|d| !self.in_gate(d))
            .max_by(|a, b| a.score.total_cmp(&b.score));
        let needed = if gated.is_some() { RIVAL_HITS } else { 2 };
        let switched = match rival {
            Some(r) => self.challenge(dt, r, needed),
            None => {
                self.age_challenger(dt);
                false
            }
        };
        if !switched {
            match gated {
                Some(d) => self.update_live(d),
                None => self.miss(dt),
            }
        }
        self.publishable()
    }

    /// Noise grows as the frame rate falls (more happens between frames).
    fn rate_scale(&self) -> f32 {
        // ball_max_step_diameters is 8 at 25 fps and scales with 1/fps.
        (self.opts.ball_max_step_diameters / 8.0).max(0.25)
    }

    /// Whether `d` lies inside the live track's gate.
    fn in_gate(&self, d: &Detection) -> bool {
        self.live.as_ref().is_some_and(|l| {
            l.filter.distance_sq(d.bbox.center(), MEASURE_DIAMETERS * l.diameter) <= GATE_SIGMAS * GATE_SIGMAS
        })
    }

    /// The best ball detection inside the live track's gate.
    fn gated_detection<'a>(&self, dets: &'a [Detection]) -> Option<&'a Detection> {
        let live = self.live.as_ref()?;
        let meas = MEASURE_DIAMETERS * live.diameter;
        let gate = GATE_SIGMAS * GATE_SIGMAS;
        let mut best: Option<(&Detection, f32)> = None;
        for d in balls(dets, self.opts.low_score) {
            let d2 = live.filter.distance_sq(d.bbox.center(), meas);
            if d2 > gate {
                continue;
            }
            // Mostly by score; among equals, the nearer.
            let rank = d.score - 0.01 * d2;
            if best.is_none_or(|b| rank > b.1) {
                best = Some((d, rank));
            }
        }
        best.map(|b| b.0)
    }

    fn update_live(&mut self, d: &Detection) {
        let Some(live) = &mut self.live else { return };
        let size = diameter(&d.bbox);
        live.diameter = 0.8 * live.diameter + 0.2 * size;
        live.filter.update(d.bbox.center(), MEASURE_DIAMETERS * live.diameter);
        live.score = d.score;
        live.missed = 0;
        live.hits += 1;
    }

    /// No detection fits the track: coast until the track is taken for lost.
    fn miss(&mut self, dt: f32) {
        let Some(live) = &mut self.live else { return };
        live.missed += dt.round().max(1.0) as u32;
        live.score *= 0.8;
        let young = live.hits < YOUNG_TRACK_HITS && live.missed > YOUNG_TRACK_MISSES;
        if young || live.missed > self.opts.ball_max_missed_frames {
            self.live = None;
        }
    }

    /// Records `d` as a challenger; returns true when it takes over as the ball.
    fn challenge(&mut self, dt: f32, d: &Detection, needed: u32) -> bool {
        let centre = d.bbox.center();
        let size = diameter(&d.bbox);
        let reach = self.opts.ball_max_step_diameters * size * dt.max(1.0);
        let next = match self.challenger {
            Some(c) if dist(c.centre, centre) <= reach * (c.age + 1) as f32 => {
                Challenger { centre, diameter: 0.5 * (c.diameter + size), score: d.score, hits: c.hits + 1, age: 0 }
            }
            _ => Challenger { centre, diameter: size, score: d.score, hits: 1, age: 0 },
        };
        let previous = self.challenger.replace(next);
        let sure = next.score >= SURE_SCORE && self.live.is_none();
        if next.hits < needed && !sure {
            return false;
        }
        let velocity = match previous {
            Some(p) if next.hits >= 2 => {
                let frames = (p.age + 1) as f32 * dt.max(1.0);
                ((centre.0 - p.centre.0) / frames, (centre.1 - p.centre.1) / frames)
            }
            _ => (0.0, 0.0),
        };
        let meas = MEASURE_DIAMETERS * next.diameter;
        let id = self.next_id;
        self.next_id += 1;
        self.live = Some(Live {
            filter: PointFilter::new(centre, velocity, meas, ACCEL_DIAMETERS * 4.0 * next.diameter),
            id,
            diameter: next.diameter,
            score: next.score,
            missed: 0,
            hits: next.hits,
        });
        self.challenger = None;
        true
    }

    fn age_challenger(&mut self, dt: f32) {
        if let Some(c) = &mut self.challenger {
            c.age += dt.round().max(1.0) as u32;
            if c.age > 2 {
                self.challenger = None;
            }
        }
    }

    fn publishable(&self) -> Option<Track> {
        let live = self.live.as_ref()?;
        let (x, y) = live.filter.position();
        Some(Track {
            id: live.id,
            class: ObjectClass::Ball,
            bbox: BBox::from_cxcywh(x, y, live.diameter, live.diameter),
            score: live.score,
            frames_since_seen: live.missed,
        })
    }
}

fn balls(dets: &[Detection], min_score: f32) -> impl Iterator<Item = &Detection> {
    dets.iter().filter(move |d| d.class == ObjectClass::Ball && d.score >= min_score)
}

fn diameter(b: &BBox) -> f32 {
    b.width().max(b.height()).max(MIN_DIAMETER)
}

fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ball(x: f32, y: f32, score: f32) -> Detection {
        Detection { bbox: BBox::from_cxcywh(x, y, 12.0, 12.0), score, class: ObjectClass::Ball }
    }

    fn step(t: &mut BallTracker, dets: &[Detection]) -> Option<Track> {
        t.step(1.0, (0.0, 0.0), dets)
    }

    #[test]
    fn ball_keeps_its_id_through_a_short_miss_and_ignores_a_far_false_positive() {
        let mut t = BallTracker::new(TrackerOptions::default());
        let first = step(&mut t, &[ball(100.0, 100.0, 0.8)]).unwrap();
        for k in 1..10 {
            let x = 100.0 + 10.0 * k as f32;
            // Stronger false positives far away, flickering from place to place, are ignored.
            let fp = ball(900.0 - 300.0 * (k % 3) as f32, 500.0 + 150.0 * (k % 2) as f32, 0.7);
            let tr = step(&mut t, &[ball(x, 100.0, 0.5), fp]).unwrap();
            assert_eq!(tr.id, first.id);
            assert!((tr.bbox.center().0 - x).abs() < 3.0, "{k}: {:?}", tr.bbox.center());
        }
        // Three missed frames: coasting on, flagged, position extrapolated.
        for k in 1..=3 {
            let tr = step(&mut t, &[]).unwrap();
            assert_eq!(tr.id, first.id);
            assert_eq!(tr.frames_since_seen, k);
            assert!((tr.bbox.center().0 - (190.0 + 10.0 * k as f32)).abs() < 4.0, "{:?}", tr.bbox.center());
        }
        let tr = step(&mut t, &[ball(230.0, 100.0, 0.7)]).unwrap();
        assert_eq!(tr.id, first.id);
        assert_eq!(tr.frames_since_seen, 0);
    }

    #[test]
    fn a_pass_is_followed_through_a_change_of_direction() {
        let mut t = BallTracker::new(TrackerOptions::default());
        let first = step(&mut t, &[ball(500.0, 500.0, 0.8)]).unwrap();
        // Dribbled slowly, then passed at 18 px per frame the other way and up.
        let mut p = (500.0, 500.0);
        for k in 0..40 {
            let v = if k < 15 { (2.0, 0.0) } else { (-15.0, -10.0) };
            p = (p.0 + v.0, p.1 + v.1);
            let tr = step(&mut t, &[ball(p.0, p.1, 0.5)]).unwrap();
            assert_eq!(tr.id, first.id, "lost at {k}");
            assert_eq!(tr.frames_since_seen, 0, "missed at {k}");
        }
    }

    #[test]
    fn a_consistent_ball_elsewhere_takes_over_after_two_frames() {
        let mut t = BallTracker::new(TrackerOptions::default());
        let first = step(&mut t, &[ball(100.0, 100.0, 0.8)]).unwrap();
        step(&mut t, &[ball(101.0, 100.0, 0.8)]);
        // The tracked thing vanishes; a ball appears far away and is seen twice in a row.
        let one = step(&mut t, &[ball(800.0, 400.0, 0.5)]).unwrap();
        assert_eq!(one.id, first.id);
        assert!(one.frames_since_seen > 0);
        let two = step(&mut t, &[ball(804.0, 401.0, 0.5)]).unwrap();
        assert_ne!(two.id, first.id);
        assert!((two.bbox.center().0 - 804.0).abs() < 1.0);
        assert_eq!(two.frames_since_seen, 0);
    }

    #[test]
    fn a_track_on_a_false_ball_gives_way_to_a_clearly_stronger_consistent_one() {
        let mut t = BallTracker::new(TrackerOptions::default());
        // A sock, tracked as the ball (weakly, but consistently) ...
        let sock = step(&mut t, &[ball(300.0, 300.0, 0.7)]).unwrap();
        step(&mut t, &[ball(300.0, 300.0, 0.4)]);
        // ... until the real ball rolls by, much stronger, frame after frame.
        let mut ids = Vec::new();
        for k in 0..5 {
            let tr = step(&mut t, &[ball(300.0, 300.0, 0.4), ball(700.0 + 5.0 * k as f32, 200.0, 0.8)]).unwrap();
            ids.push((tr.id, tr.bbox.center().0.round()));
        }
        assert_eq!(ids[1].0, sock.id, "{ids:?}");
        assert_ne!(ids[4].0, sock.id, "{ids:?}");
        assert_eq!(ids[4].1, 720.0, "{ids:?}");
    }

    #[test]
    fn a_weak_single_detection_starts_nothing_and_a_lone_false_positive_dies_fast() {
        let mut t = BallTracker::new(TrackerOptions::default());
        assert!(step(&mut t, &[ball(100.0, 100.0, 0.45)]).is_none());
        let mut fresh = BallTracker::new(TrackerOptions::default());
        assert!(step(&mut fresh, &[ball(100.0, 100.0, 0.7)]).is_some());
        let alive = (0..5).filter(|_| step(&mut fresh, &[]).is_some()).count();
        assert_eq!(alive as u32, YOUNG_TRACK_MISSES);
    }

    #[test]
    fn ball_is_dropped_after_a_long_miss_and_gets_a_new_id() {
        let mut t = BallTracker::new(TrackerOptions::default());
        let first = step(&mut t, &[ball(100.0, 100.0, 0.8)]).unwrap();
        for k in 1..5 {
            step(&mut t, &[ball(100.0 + k as f32, 100.0, 0.8)]);
        }
        let coasted = (0..30).filter(|_| step(&mut t, &[]).is_some()).count();
        assert_eq!(coasted as u32, TrackerOptions::default().ball_max_missed_frames);
        let again = step(&mut t, &[ball(500.0, 100.0, 0.8)]).unwrap();
        assert_ne!(again.id, first.id);
    }

    #[test]
    fn camera_pan_moves_the_prediction() {
        let mut t = BallTracker::new(TrackerOptions::default());
        step(&mut t, &[ball(100.0, 100.0, 0.8)]);
        step(&mut t, &[ball(100.0, 100.0, 0.8)]);
        // The camera pans 40 px left: a still ball moves 40 px in the image.
        let tr = t.step(1.0, (-40.0, 0.0), &[ball(60.0, 100.0, 0.3)]).unwrap();
        assert_eq!(tr.frames_since_seen, 0);
    }
}
