//! Tracker settings, built from `[track]` or step by step.

use crate::config::TrackSection;

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
}

impl Default for TrackerOptions {
    fn default() -> Self {
        Self::from_section(&TrackSection::default(), 25.0)
    }
}

impl TrackerOptions {
    /// Options from the `[track]` section for video at `fps` frames per second.
    pub fn from_section(s: &TrackSection, fps: f32) -> Self {
        TrackerOptions {
            high_score: s.high_score,
            low_score: s.low_score,
            new_track_score: s.new_track_score,
            match_iou: s.match_iou,
            low_match_iou: s.low_match_iou,
            // Motion between frames grows as the rate falls: widen the buffer below 25 fps.
            iou_buffer_frac: s.iou_buffer_frac * (25.0 / fps.clamp(1.0, 25.0)).sqrt(),
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

    /// Sets camera-motion compensation.
    pub fn camera_motion_compensation(mut self, on: bool) -> Self {
        self.camera_motion_compensation = on;
        self
    }
}
