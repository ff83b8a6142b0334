//! The `[track]` section, its checks, and the tracker settings built from it.

use serde::{Deserialize, Serialize};

use crate::problems::{Problems, is_unit};

/// `[track]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrackSection {
    /// Detections at or above this score take part in the first association stage.
    pub high_score: f32,
    /// Detections between this and `high_score` take part only in the second stage.
    pub low_score: f32,
    /// An unmatched detection at or above this score starts a new track.
    pub new_track_score: f32,
    /// Lowest IoU for a first-stage match.
    pub match_iou: f32,
    /// Lowest IoU for a second-stage (low score) match.
    pub low_match_iou: f32,
    /// Boxes are grown by this fraction of their size before IoU (buffered IoU, for fast motion).
    pub iou_buffer_frac: f32,
    /// A lost track is kept this long for re-identification, in seconds of video.
    pub max_lost_secs: f32,
    /// Frames a new track needs before it is published.
    pub min_hits: u32,
    /// Estimate global camera motion from matched tracks and compensate predictions.
    pub camera_motion_compensation: bool,
    /// Re-link lost tracks to new detections by distance (after occlusions, when IoU fails).
    pub relink_lost: bool,
    /// Tell the two teams apart by kit colour; player tracks then carry `team` (A or B).
    pub teams: bool,
    /// Pin the kit colours instead of learning them: two `#rrggbb` values, team A's then B's.
    pub team_colours: Vec<String>,
    /// When to associate on the pitch too (a motion model in metres, gates by how far a player
    /// can run, the kit as a strong hint, identities kept through exits from the view;
    /// docs/tracking.md): with a hand calibration only (the default), with any trusted
    /// calibration, or never. Without a calibration the tracker works in the image alone.
    pub pitch_association: PitchAssociation,
    /// Distance on the pitch always allowed between a track and its detection, metres (covers
    /// calibration error and detection jitter).
    pub pitch_gate_m: f32,
    /// Fastest a player runs, m/s: gates grow by this per second lost.
    pub max_speed_mps: f32,
    /// A player whose predicted place is outside the view is kept this long, seconds, and re-linked
    /// when a detection of his team appears where he can be by then.
    pub max_out_of_view_secs: f32,
}

impl Default for TrackSection {
    fn default() -> Self {
        TrackSection {
            high_score: 0.35,
            low_score: 0.1,
            new_track_score: 0.45,
            match_iou: 0.2,
            low_match_iou: 0.3,
            iou_buffer_frac: 0.15,
            max_lost_secs: 1.5,
            min_hits: 2,
            camera_motion_compensation: true,
            relink_lost: false,
            teams: true,
            team_colours: Vec::new(),
            pitch_association: PitchAssociation::Hand,
            pitch_gate_m: 2.0,
            max_speed_mps: 10.0,
            max_out_of_view_secs: 20.0,
        }
    }
}

impl TrackSection {
    /// The pinned kit colours (A, B), when two valid ones are configured.
    pub fn pinned_kits(&self) -> Option<[[f32; 3]; 2]> {
        match self.team_colours.as_slice() {
            [a, b] => Some([super::team::parse_hex_colour(a)?, super::team::parse_hex_colour(b)?]),
            _ => None,
        }
    }

    /// Checks the section into `p`.
    pub fn check(&self, p: &mut Problems) {
        p.check(self.team_colours.is_empty() || self.pinned_kits().is_some(), "track.team_colours", || {
            format!("needs two colours as \"#rrggbb\" (team A's, then B's), found {:?}", self.team_colours)
        });
        p.check(is_unit(self.high_score), "track.high_score", || format!("{} must be in 0..=1", self.high_score));
        p.check(is_unit(self.low_score) && self.low_score <= self.high_score, "track.low_score", || {
            format!("{} must be in 0..=track.high_score", self.low_score)
        });
        p.check(is_unit(self.new_track_score), "track.new_track_score", || {
            format!("{} must be in 0..=1", self.new_track_score)
        });
        p.check(is_unit(self.match_iou), "track.match_iou", || format!("{} must be in 0..=1", self.match_iou));
        p.check(is_unit(self.low_match_iou), "track.low_match_iou", || {
            format!("{} must be in 0..=1", self.low_match_iou)
        });
        p.check(
            self.iou_buffer_frac.is_finite() && (0.0..=2.0).contains(&self.iou_buffer_frac),
            "track.iou_buffer_frac",
            || format!("{} must be in 0..=2", self.iou_buffer_frac),
        );
        p.check(
            self.max_lost_secs.is_finite() && (0.0..=60.0).contains(&self.max_lost_secs),
            "track.max_lost_secs",
            || format!("{} must be in 0..=60", self.max_lost_secs),
        );
        p.check(
            self.pitch_gate_m.is_finite() && (0.1..=20.0).contains(&self.pitch_gate_m),
            "track.pitch_gate_m",
            || format!("{} must be in 0.1..=20", self.pitch_gate_m),
        );
        p.check(
            self.max_speed_mps.is_finite() && (1.0..=20.0).contains(&self.max_speed_mps),
            "track.max_speed_mps",
            || format!("{} must be in 1..=20", self.max_speed_mps),
        );
        p.check(
            self.max_out_of_view_secs.is_finite() && (0.0..=300.0).contains(&self.max_out_of_view_secs),
            "track.max_out_of_view_secs",
            || format!("{} must be in 0..=300", self.max_out_of_view_secs),
        );
        p.check(self.min_hits <= 30, "track.min_hits", || format!("{} must be at most 30", self.min_hits));
    }
}

/// Which calibrations the tracker follows players on the pitch with.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PitchAssociation {
    /// A hand calibration (`pitch.points` / `pitch.image_to_pitch`, followed or not) only: the
    /// automatic one measured too unsteady for it so far (docs/tracking.md).
    #[default]
    Hand,
    /// Any trusted calibration, the automatic one included.
    Always,
    /// Never: the image alone.
    Off,
}

impl PitchAssociation {
    /// Whether a calibration of this kind (`hand`: from the configuration) is used.
    pub fn uses(self, hand: bool) -> bool {
        match self {
            PitchAssociation::Hand => hand,
            PitchAssociation::Always => true,
            PitchAssociation::Off => false,
        }
    }
}

/// Settings of [`super::PlayerTracker`] and [`super::BallTracker`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerOptions {
    /// First-stage score threshold.
    pub high_score: f32,
    /// Second-stage score threshold.
    pub low_score: f32,
    /// Score needed to start a track.
    pub new_track_score: f32,
    /// Lowest IoU for a first-stage match.
    pub match_iou: f32,
    /// Lowest IoU for a second-stage match.
    pub low_match_iou: f32,
    /// Fraction by which boxes are grown before IoU.
    pub iou_buffer_frac: f32,
    /// Frames a lost track is kept.
    pub max_lost_frames: u32,
    /// Matches needed before a track is published.
    pub min_hits: u32,
    /// Compensate global camera motion.
    pub camera_motion_compensation: bool,
    /// Re-link lost tracks by distance.
    pub relink_lost: bool,
    /// Re-linking of lost tracks: the search radius grows by this many box heights per frame lost.
    pub relink_heights_per_frame: f32,
    /// Velocity kept per frame while a track is lost (1 = constant velocity).
    pub lost_velocity_decay: f32,
    /// Largest plausible ball motion, in ball diameters per frame.
    pub ball_max_step_diameters: f32,
    /// Frames the ball is coasted through misses.
    pub ball_max_missed_frames: u32,
    /// Seconds per native frame.
    pub frame_secs: f32,
    /// Associate on the pitch when given a calibration (`track.pitch_association` not `off`;
    /// which calibrations are given is the caller's choice, [`PitchAssociation::uses`]).
    pub pitch_association: bool,
    /// Pitch distance always allowed, metres.
    pub pitch_gate_m: f32,
    /// Fastest player, m/s.
    pub max_speed_mps: f32,
    /// Frames a player outside the view is kept.
    pub max_out_of_view_frames: u32,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        Self::from_section(&TrackSection::default(), 25.0)
    }
}

impl TrackerOptions {
    /// Options from the `[track]` section for video at `fps` frames per second.
    pub fn from_section(s: &TrackSection, fps: f32) -> Self {
        // A stream's advertised rate is input: bound it (a stream claiming 90,000 fps must not
        // keep lost tracks for 135,000 frames; a broken one claiming 0 must not divide by zero).
        let fps = if fps.is_finite() { fps.clamp(1.0, 120.0) } else { 25.0 };
        TrackerOptions {
            high_score: s.high_score,
            low_score: s.low_score,
            new_track_score: s.new_track_score,
            match_iou: s.match_iou,
            low_match_iou: s.low_match_iou,
            // Motion between frames grows as the rate falls: widen the buffer below 25 fps.
            iou_buffer_frac: s.iou_buffer_frac * (25.0 / fps.min(25.0)).sqrt(),
            max_lost_frames: (s.max_lost_secs * fps).round().max(1.0) as u32,
            min_hits: s.min_hits.max(1),
            camera_motion_compensation: s.camera_motion_compensation,
            // About 2 heights (3.7 m) per second: a sprinting player covers 4, most far less.
            relink_lost: s.relink_lost,
            relink_heights_per_frame: 2.0 / fps.max(1.0),
            // Constant velocity while lost: damping measured worse on the TRACAB evaluation.
            lost_velocity_decay: 1.0,
            ball_max_step_diameters: 8.0 * 25.0 / fps.max(1.0),
            ball_max_missed_frames: (0.5 * fps).round().max(1.0) as u32,
            frame_secs: 1.0 / fps,
            pitch_association: s.pitch_association != PitchAssociation::Off,
            pitch_gate_m: s.pitch_gate_m,
            max_speed_mps: s.max_speed_mps,
            max_out_of_view_frames: (s.max_out_of_view_secs * fps).round() as u32,
        }
    }

    /// Sets `max_lost_frames`.
    pub fn max_lost_frames(mut self, frames: u32) -> Self {
        self.max_lost_frames = frames;
        self
    }

    /// Sets `min_hits`.
    pub fn min_hits(mut self, hits: u32) -> Self {
        self.min_hits = hits.max(1);
        self
    }
}
