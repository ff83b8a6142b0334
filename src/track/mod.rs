//! Tracking: detections per frame in, tracks with stable ids out.
//!
//! Pure and synchronous: no clock, no I/O. Time is counted in frames; `dt_frames` tells the
//! tracker how many native frame intervals passed since the last step (more than 1 when frames
//! were skipped), so motion models stay right at any processing rate.

pub mod assign;
pub mod ball;
pub mod kalman;
pub mod options;
pub mod players;
mod role;
pub mod team;

pub use ball::BallTracker;
pub use options::{PitchAssociation, TrackSection, TrackerOptions};
pub use players::{FramePitch, PlayerTracker};

use crate::frame::{Detection, Track};

/// People and ball trackers together, as the daemon runs them.
#[derive(Debug)]
pub struct Tracker {
    players: PlayerTracker,
    ball: BallTracker,
    out: Vec<Track>,
}

impl Tracker {
    /// A tracker with these options.
    pub fn new(opts: TrackerOptions) -> Self {
        Tracker { players: PlayerTracker::new(opts), ball: BallTracker::new(opts), out: Vec::with_capacity(64) }
    }

    /// Replaces the options without losing tracks.
    pub fn set_options(&mut self, opts: TrackerOptions) {
        self.players.set_options(opts);
        self.ball.set_options(opts);
    }

    /// Where the ball is expected `frames_ahead` frames after the last step, if it is tracked
    /// (where to look twice: 1 for the next frame, 2 when the next one is already being detected).
    pub fn ball_hint(&self, frames_ahead: f32) -> Option<(f32, f32)> {
        self.ball.expected_centre(frames_ahead)
    }

    /// One frame: `dt_frames` native frame intervals since the last step, and this frame's detections.
    pub fn step(&mut self, dt_frames: f32, dets: &[Detection]) -> &[Track] {
        self.step_on_pitch(dt_frames, dets, FramePitch::default())
    }

    /// [`Tracker::step`] with the pitch's view of the frame (calibration, view, kits): players are
    /// then also followed in metres and kept through exits from the view.
    pub fn step_on_pitch(&mut self, dt_frames: f32, dets: &[Detection], pitch: FramePitch<'_>) -> &[Track] {
        self.out.clear();
        let people = self.players.step_on_pitch(dt_frames, dets, pitch);
        self.out.extend_from_slice(people);
        let shift = self.players.last_camera_shift();
        if let Some(b) = self.ball.step(dt_frames, shift, dets) {
            self.out.push(b);
        }
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{BBox, ObjectClass};
    use crate::track::options::TrackSection;

    fn person(x: f32, y: f32, score: f32) -> Detection {
        Detection { bbox: BBox::from_xywh(x, y, 20.0, 50.0), score, class: ObjectClass::Player }
    }

    #[test]
    fn ids_persist_for_players_moving_past_each_other() {
        let mut t = Tracker::new(TrackerOptions::default().min_hits(1));
        let mut ids_a = Vec::new();
        let mut ids_b = Vec::new();
        for k in 0..40 {
            let k = k as f32;
            // A runs right, B runs left, on rows 10 px apart: they cross at k = 20.
            let dets = [person(100.0 + 5.0 * k, 100.0, 0.9), person(300.0 - 5.0 * k, 110.0, 0.9)];
            let tracks = t.step(1.0, &dets);
            let find = |x: f32| tracks.iter().find(|tr| (tr.bbox.x1 - x).abs() < 6.0).map(|tr| tr.id);
            if (k - 20.0).abs() > 3.0 {
                ids_a.push(find(100.0 + 5.0 * k).unwrap());
                ids_b.push(find(300.0 - 5.0 * k).unwrap());
            }
        }
        ids_a.dedup();
        ids_b.dedup();
        assert_eq!(ids_a.len(), 1, "A switched ids: {ids_a:?}");
        assert_eq!(ids_b.len(), 1, "B switched ids: {ids_b:?}");
        assert_ne!(ids_a[0], ids_b[0]);
    }

    #[test]
    fn low_score_detections_keep_an_occluded_track_alive_but_never_start_one() {
        let mut t = Tracker::new(TrackerOptions::default().min_hits(1));
        let id = t.step(1.0, &[person(100.0, 100.0, 0.9)])[0].id;
        // Partly occluded: the score drops below high_score but stays above low_score.
        for k in 1..10 {
            let tracks = t.step(1.0, &[person(100.0 + k as f32, 100.0, 0.3)]);
            assert_eq!(tracks.len(), 1);
            assert_eq!(tracks[0].id, id);
        }
        let mut fresh = Tracker::new(TrackerOptions::default().min_hits(1));
        assert!(fresh.step(1.0, &[person(100.0, 100.0, 0.3)]).is_empty());
    }

    #[test]
    fn a_track_survives_a_short_gap_and_keeps_its_id() {
        let mut t = Tracker::new(TrackerOptions::default().min_hits(1).max_lost_frames(10));
        let id = t.step(1.0, &[person(100.0, 100.0, 0.9)])[0].id;
        for k in 1..5 {
            t.step(1.0, &[person(100.0 + 3.0 * k as f32, 100.0, 0.9)]);
        }
        for _ in 0..5 {
            assert!(t.step(1.0, &[]).is_empty());
        }
        let tracks = t.step(1.0, &[person(130.0, 100.0, 0.9)]);
        assert_eq!(tracks[0].id, id);
    }

    #[test]
    fn with_pitch_association_off_a_calibration_changes_nothing() {
        let h = crate::pitch::Homography::from_row_major(&[0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]).unwrap();
        let section = TrackSection { pitch_association: PitchAssociation::Off, ..Default::default() };
        let opts = TrackerOptions::from_section(&section, 25.0).min_hits(1);
        let (mut plain, mut pitched) = (Tracker::new(opts), Tracker::new(opts));
        let kits = [Some(crate::frame::Team::A), Some(crate::frame::Team::B)];
        for k in 0..60 {
            let k = k as f32;
            // Two players crossing, with a gap in the middle.
            let dets = if (25.0..30.0).contains(&k) {
                vec![]
            } else {
                vec![person(100.0 + 6.0 * k, 100.0, 0.9), person(460.0 - 6.0 * k, 104.0, 0.8)]
            };
            let view = FramePitch { homography: Some(&h), frame_size: (1000.0, 600.0), teams: &kits };
            let a: Vec<_> = plain.step(1.0, &dets).to_vec();
            let b: Vec<_> = pitched.step_on_pitch(1.0, &dets, view).to_vec();
            assert_eq!(a, b, "frame {k}");
        }
    }

    /// A pitch of 0.05 m a pixel seen square-on, a 1000x600 view, at 25 fps with pitch association.
    fn pitch_tracker() -> (Tracker, crate::pitch::Homography) {
        let h = crate::pitch::Homography::from_row_major(&[0.05, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.0, 1.0]).unwrap();
        let section = TrackSection { pitch_association: PitchAssociation::Always, ..Default::default() };
        (Tracker::new(TrackerOptions::from_section(&section, 25.0)), h)
    }

    #[test]
    fn a_player_who_leaves_the_view_keeps_his_id_when_he_comes_back() {
        use crate::frame::Team;
        let (mut t, h) = pitch_tracker();
        let kits = [Some(Team::A), Some(Team::B)];
        let (mut before, mut after) = (None, None);
        for k in 0..200 {
            // A runs right out of the view at 5 m/s (4 px a frame), stays out 4 s and walks back in
            // near where he left; B (the other kit) stands in view throughout.
            let x = match k {
                0..40 => 850.0 + 4.0 * k as f32,
                40..140 => 1100.0,
                _ => 990.0 - 3.0 * (k - 140) as f32,
            };
            let mut dets = vec![person(200.0, 300.0, 0.9)];
            if x <= 980.0 {
                dets.insert(0, person(x, 300.0, 0.9));
            }
            let view = FramePitch { homography: Some(&h), frame_size: (1000.0, 600.0), teams: &kits[2 - dets.len()..] };
            let tracks = t.step_on_pitch(1.0, &dets, view);
            let a = tracks.iter().find(|tr| (tr.bbox.x1 - x).abs() < 8.0).map(|tr| tr.id);
            match k {
                30 => before = a,
                190 => after = a,
                _ => {}
            }
        }
        assert!(before.is_some());
        assert_eq!(after, before, "A came back with another id");
    }

    #[test]
    fn a_player_lost_for_a_while_is_not_matched_by_his_drifting_box() {
        use crate::frame::Team;
        let (mut t, h) = pitch_tracker();
        // A runs right at 5 m/s (4 px a frame), then is lost; his box runs on in the image while
        // on the pitch he is expected to slow down. 3 s later a player of the other kit appears
        // where the box has drifted to, 8 m past where A can be: another player.
        let mut a = None;
        for k in 0..20 {
            let dets = [person(100.0 + 4.0 * k as f32, 300.0, 0.9)];
            let view = FramePitch { homography: Some(&h), frame_size: (1000.0, 600.0), teams: &[Some(Team::A)] };
            a = t.step_on_pitch(1.0, &dets, view).first().map(|tr| tr.id).or(a);
        }
        for _ in 0..75 {
            let view = FramePitch { homography: Some(&h), frame_size: (1000.0, 600.0), teams: &[] };
            t.step_on_pitch(1.0, &[], view);
        }
        let drifted = 100.0 + 4.0 * 95.0;
        let mut other = None;
        for k in 0..3 {
            let dets = [person(drifted + 4.0 * k as f32, 300.0, 0.9)];
            let view = FramePitch { homography: Some(&h), frame_size: (1000.0, 600.0), teams: &[Some(Team::B)] };
            other = t.step_on_pitch(1.0, &dets, view).first().map(|tr| tr.id).or(other);
        }
        assert!(a.is_some() && other.is_some());
        assert_ne!(other, a, "a player of the other kit took A's id");
    }

    #[test]
    fn hand_calibrations_are_used_on_the_pitch_by_default_automatic_ones_when_asked() {
        assert_eq!(TrackSection::default().pitch_association, PitchAssociation::Hand);
        assert!(PitchAssociation::Hand.uses(true) && !PitchAssociation::Hand.uses(false));
        assert!(PitchAssociation::Always.uses(false) && !PitchAssociation::Off.uses(true));
        let s: TrackSection = toml::from_str("pitch_association = \"always\"").unwrap();
        assert_eq!(s.pitch_association, PitchAssociation::Always);
        assert!(toml::from_str::<TrackSection>("pitch_association = \"sometimes\"").is_err());
    }

    #[test]
    fn a_camera_pan_does_not_break_ids() {
        // Eight players standing still while the camera pans 20 px per frame after frame 10.
        let mut t = Tracker::new(TrackerOptions::default().min_hits(1));
        let mut first_ids = Vec::new();
        let mut pan = 0.0;
        for k in 0..30 {
            if k >= 10 {
                pan += 20.0;
            }
            let dets: Vec<Detection> = (0..8).map(|i| person(200.0 + 60.0 * i as f32 - pan, 300.0, 0.9)).collect();
            let tracks = t.step(1.0, &dets);
            let mut ids: Vec<u64> = tracks.iter().map(|tr| tr.id).collect();
            ids.sort();
            if k == 0 {
                first_ids = ids;
            } else {
                assert_eq!(ids, first_ids, "ids changed at frame {k}");
            }
        }
    }
}
