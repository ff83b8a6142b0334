//! Each frame's tracks on the pitch: positions, speeds, distances, and whether they are on it.

use super::homography::Homography;
use super::speed::SpeedEstimator;
use crate::frame::{ObjectClass, Track};

/// A track's place on the pitch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PitchPos {
    /// Along the touchline, metres.
    pub x_m: f32,
    /// Across the pitch, metres.
    pub y_m: f32,
    /// Smoothed speed, metres per second.
    pub speed_mps: f32,
    /// Smoothed velocity along x and y, metres per second.
    pub velocity_mps: (f32, f32),
    /// Distance covered since the track began, metres.
    pub distance_m: f32,
    /// Whether it is on the pitch (within the margin); `true` when no area is set.
    pub on_pitch: bool,
}

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
    out: Vec<Option<PitchPos>>,
}

impl PitchMapper {
    /// A mapper for `homography` (`None`: no pitch positions); with `area`, positions off it are
    /// flagged (`on_pitch = false`).
    pub fn new(homography: Option<Homography>, area: Option<PitchArea>) -> Self {
        PitchMapper { homography, area, speeds: SpeedEstimator::with_capacity(128), out: Vec::with_capacity(128) }
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

    /// Positions of `tracks` (same order) at stream time `t_secs`; empty without a calibration.
    pub fn map(&mut self, tracks: &[Track], t_secs: f64) -> &[Option<PitchPos>] {
        self.out.clear();
        let Some(h) = self.homography else { return &self.out };
        for tr in tracks {
            let (fx, fy) = if tr.class == ObjectClass::Ball { tr.bbox.center() } else { tr.bbox.foot() };
            let pos = h.apply(fx, fy).map(|(x, y)| {
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
            self.out.push(pos);
        }
        self.speeds.end_frame();
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::BBox;

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
        let out = m.map(&tracks, 0.0);
        let p = out[0].unwrap();
        assert!((p.x_m - 50.0).abs() < 1e-4 && (p.y_m - 30.0).abs() < 1e-4 && p.on_pitch);
        assert!(!out[1].unwrap().on_pitch, "75 m across a 68 m pitch with a 3 m margin");
        assert!((out[2].unwrap().y_m - 30.0).abs() < 1e-4, "the ball by its centre");
    }
}
