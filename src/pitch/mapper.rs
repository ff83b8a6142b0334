//! Each frame's tracks on the pitch: positions, speeds, distances, and whether they are on it.

use super::homography::Homography;
use super::speed::SpeedEstimator;
pub use crate::frame::PitchPos;
use crate::frame::{ObjectClass, TrackRecord};

/// The pitch rectangle, from (0, 0) to (length, width), grown by a margin on every side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PitchArea {
    /// Length, metres.
    pub length_m: f32,
    /// Width, metres.
    pub width_m: f32,
    /// Margin, metres.
    pub margin_m: f32,
}

impl PitchArea {
    /// Whether `(x, y)` metres lies on the pitch or within the margin.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        let m = self.margin_m;
        (-m..=self.length_m + m).contains(&x) && (-m..=self.width_m + m).contains(&y)
    }
}

/// Maps each frame's tracks to pitch positions, speeds and distances (people by their feet, the
/// ball by its centre). Allocation-free once warm.
#[derive(Debug, Default)]
pub struct PitchMapper {
    homography: Option<Homography>,
    area: Option<PitchArea>,
    speeds: SpeedEstimator,
}

impl PitchMapper {
    /// A mapper for `homography` (`None`: no pitch positions); with `area`, positions off it are
    /// flagged (`on_pitch = false`).
    pub fn new(homography: Option<Homography>, area: Option<PitchArea>) -> Self {
        PitchMapper { homography, area, speeds: SpeedEstimator::with_capacity(128) }
    }

    /// Replaces the calibration and the area; speeds and distances carry on.
    pub fn set_calibration(&mut self, homography: Option<Homography>, area: Option<PitchArea>) {
        self.homography = homography;
        self.area = area;
    }

    /// The homography in use.
    pub fn homography(&self) -> Option<&Homography> {
        self.homography.as_ref()
    }

    /// Fills each record's pitch position at stream time `t_secs` (`None` without a calibration).
    pub fn map(&mut self, records: &mut [TrackRecord], t_secs: f64) {
        let Some(h) = self.homography else {
            records.iter_mut().for_each(|r| r.pitch = None);
            return;
        };
        for r in records.iter_mut() {
            let tr = &r.track;
            let (fx, fy) = if tr.class == ObjectClass::Ball { tr.bbox.center() } else { tr.bbox.foot() };
            r.pitch = h.apply(fx, fy).map(|(x, y)| {
                let m = self.speeds.update(tr.id, x, y, t_secs);
                let on_pitch = self.area.is_none_or(|a| a.contains(x, y));
                PitchPos {
                    x_m: x,
                    y_m: y,
                    speed_mps: m.speed_mps,
                    velocity_mps: m.velocity_mps,
                    distance_m: m.distance_m,
                    on_pitch,
                }
            });
        }
        self.speeds.end_frame();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{BBox, Track};

    #[test]
    fn tracks_off_the_pitch_are_flagged_and_the_ball_maps_by_its_centre() {
        // 10 px per metre, origin at the image's top-left.
        let h = Homography::from_row_major(&[0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]).unwrap();
        let area = PitchArea { length_m: 105.0, width_m: 68.0, margin_m: 3.0 };
        let mut m = PitchMapper::new(Some(h), Some(area));
        let track = |id, class, x: f32, y: f32| Track {
            id,
            class,
            bbox: BBox::from_xywh(x - 5.0, y - 20.0, 10.0, 20.0),
            score: 0.9,
            frames_since_seen: 0,
        };
        let tracks = [
            track(1, ObjectClass::Player, 500.0, 300.0),
            track(2, ObjectClass::Player, 500.0, 750.0),
            track(3, ObjectClass::Ball, 500.0, 310.0),
        ];
        let mut records = tracks.map(TrackRecord::of);
        m.map(&mut records, 0.0);
        let p = records[0].pitch.unwrap();
        assert!((p.x_m - 50.0).abs() < 1e-4 && (p.y_m - 30.0).abs() < 1e-4 && p.on_pitch);
        assert!(records[1].off_pitch(), "75 m across a 68 m pitch with a 3 m margin");
        assert!((records[2].pitch.unwrap().y_m - 30.0).abs() < 1e-4, "the ball by its centre");
        // Without a calibration no record keeps a place.
        m.set_calibration(None, Some(area));
        m.map(&mut records, 0.04);
        assert!(records.iter().all(|r| r.pitch.is_none()));
    }
}
