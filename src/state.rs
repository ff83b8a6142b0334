//! The game state of one frame: one [`TrackRecord`] per tracked object and the calibration it
//! was placed with. The inference thread fills one `FrameState` per frame, in place (its
//! buffers are reused: nothing is allocated once warm); the MQTT payload, the annotated video and
//! the snapshot read it whole, so a new piece of state is one new field, never a new parallel list.

use crate::frame::{FrameMeta, Track, TrackRecord};
use crate::pitch::Homography;

/// Where the image-to-pitch calibration in use came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalibrationOrigin {
    /// Typed in or fitted to point pairs in `[pitch]`: a fixed camera.
    Hand,
    /// A fit to the pitch keypoints found in this frame (`pitch.auto_calibrate`).
    Keypoints,
    /// The last calibration (hand or keypoints) carried along by following the camera's motion.
    Followed,
}

impl CalibrationOrigin {
    /// The lowercase name used in payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            CalibrationOrigin::Hand => "hand",
            CalibrationOrigin::Keypoints => "keypoints",
            CalibrationOrigin::Followed => "followed",
        }
    }
}

/// The calibration a frame's pitch positions were computed with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalibrationInUse {
    /// Image pixels to pitch metres.
    pub homography: Homography,
    /// Where it came from.
    pub origin: CalibrationOrigin,
    /// Fit error on the pitch, metres RMS, where one was measured.
    pub error_m: Option<f32>,
}

/// One frame's game state.
#[derive(Clone, Debug, Default)]
pub struct FrameState {
    /// Which frame, when, and its size.
    pub meta: FrameMeta,
    /// One record per tracked object, people first, then the ball.
    pub records: Vec<TrackRecord>,
    /// The calibration in use (`None`: no pitch positions in this frame).
    pub calibration: Option<CalibrationInUse>,
    /// Whether teams are assigned at all: reports then write `team: null` for an unknown kit
    /// instead of leaving the field out.
    pub teams_assigned: bool,
}

impl FrameState {
    /// An empty state with room for `tracks` records before it allocates.
    pub fn with_capacity(tracks: usize) -> Self {
        FrameState { records: Vec::with_capacity(tracks), ..Default::default() }
    }

    /// Starts frame `meta` with one bare record per track (teams and places still to be filled).
    pub fn begin(&mut self, meta: FrameMeta, tracks: &[Track]) {
        self.meta = meta;
        self.records.clear();
        self.records.extend(tracks.iter().copied().map(TrackRecord::of));
        self.calibration = None;
    }

    /// The records that reports show: those not known to be off the pitch.
    pub fn reported(&self) -> impl Iterator<Item = &TrackRecord> {
        self.records.iter().filter(|r| !r.off_pitch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{BBox, ObjectClass, PitchPos};

    #[test]
    fn a_frame_starts_with_one_bare_record_per_track_and_reuses_its_buffer() {
        let track = |id, class, seen| Track { id, class, bbox: BBox::default(), score: 0.9, frames_since_seen: seen };
        let mut s = FrameState::with_capacity(4);
        let cap = s.records.capacity();
        s.begin(
            FrameMeta { number: 3, ..Default::default() },
            &[track(1, ObjectClass::Player, 0), track(9, ObjectClass::Ball, 2)],
        );
        assert_eq!(s.meta.number, 3);
        assert_eq!(s.records.len(), 2);
        assert!(s.records[0].ball.is_none() && s.records[0].team.is_none() && s.records[0].pitch.is_none());
        assert_eq!(s.records[1].ball.map(|b| b.predicted), Some(true), "a ball not seen in this frame is predicted");
        let pos =
            PitchPos { x_m: 1.0, y_m: 2.0, speed_mps: 0.0, velocity_mps: (0.0, 0.0), distance_m: 0.0, on_pitch: false };
        s.records[0].pitch = Some(pos);
        assert_eq!(s.reported().count(), 1, "a track off the pitch is not reported");
        s.begin(FrameMeta::default(), &[track(1, ObjectClass::Player, 0)]);
        assert_eq!((s.records.len(), s.records.capacity()), (1, cap));
        assert!(s.records[0].pitch.is_none(), "nothing carries over from the last frame");
    }
}
