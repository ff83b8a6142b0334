//! Pitch coordinates: the image-to-pitch homography of a fixed camera, and per-track speeds.
//!
//! With `[pitch] image_to_pitch` set (9 numbers, row-major; e.g. from a calibration, or a
//! `homography.csv` row written by `footrackd synth`), each track's foot point (box bottom-centre)
//! is mapped to metres on the pitch and its speed is estimated from successive positions.
//! Pure and allocation-free once warm.

use serde::{Deserialize, Serialize};

use crate::frame::{ObjectClass, Track};
use crate::problems::Problems;

/// `[pitch]`: image-to-pitch calibration of a fixed camera.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PitchSection {
    /// Homography from image pixels to pitch metres, 9 numbers row-major (empty = no pitch
    /// positions). Tracks then carry `pitch: [x, y]` in metres and `speed_mps`.
    pub image_to_pitch: Vec<f64>,
}

impl PitchSection {
    /// Checks the section into `p`.
    pub fn check(&self, p: &mut Problems) {
        let h = &self.image_to_pitch;
        p.check(h.is_empty() || Homography::from_row_major(h).is_some(), "pitch.image_to_pitch", || {
            format!("needs 9 finite numbers forming an invertible matrix, found {} values", h.len())
        });
    }

    /// The homography, when one is configured.
    pub fn homography(&self) -> Option<Homography> {
        Homography::from_row_major(&self.image_to_pitch)
    }
}

/// A 3x3 matrix, row-major.
pub type Mat3 = [[f64; 3]; 3];

/// Applies a homography to a point; `None` when the point maps to infinity.
pub fn project(h: &Mat3, x: f64, y: f64) -> Option<(f64, f64)> {
    let w = h[2][0] * x + h[2][1] * y + h[2][2];
    if w.abs() < 1e-12 {
        return None;
    }
    Some(((h[0][0] * x + h[0][1] * y + h[0][2]) / w, (h[1][0] * x + h[1][1] * y + h[1][2]) / w))
}

/// The determinant of a 3x3 matrix.
pub fn determinant(m: &Mat3) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// The inverse of a 3x3 matrix (the adjugate over the determinant); `None` when singular.
pub fn invert(m: &Mat3) -> Option<Mat3> {
    let d = determinant(m);
    if !d.is_finite() || d.abs() < 1e-300 {
        return None;
    }
    Some([
        [
            (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / d,
            (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / d,
            (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / d,
        ],
        [
            (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / d,
            (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / d,
            (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / d,
        ],
        [
            (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / d,
            (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / d,
            (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d,
        ],
    ])
}

/// A 3x3 homography from image pixels to pitch metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Homography(Mat3);

impl Homography {
    /// From 9 row-major values; `None` unless finite and invertible.
    pub fn from_row_major(v: &[f64]) -> Option<Self> {
        if v.len() != 9 || v.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let m = [[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]];
        (determinant(&m).abs() > 1e-12).then_some(Homography(m))
    }

    /// Maps an image point to pitch metres; `None` for points at or beyond the horizon.
    pub fn apply(&self, x: f32, y: f32) -> Option<(f32, f32)> {
        let m = &self.0;
        let (x, y) = (x as f64, y as f64);
        // Points beyond the horizon come out with a negative scale: refuse them.
        if m[2][0] * x + m[2][1] * y + m[2][2] <= 0.0 {
            return None;
        }
        let (px, py) = project(m, x, y)?;
        (px.is_finite() && py.is_finite()).then_some((px as f32, py as f32))
    }
}

/// A track's place on the pitch: metres and speed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PitchPos {
    /// Along the touchline, metres.
    pub x_m: f32,
    /// Across the pitch, metres.
    pub y_m: f32,
    /// Smoothed speed, metres per second.
    pub speed_mps: f32,
}

/// Maps each frame's tracks to pitch positions and speeds (people by their feet, the ball by
/// its centre). Allocation-free once warm.
#[derive(Debug, Default)]
pub struct PitchMapper {
    homography: Option<Homography>,
    speeds: SpeedEstimator,
    out: Vec<Option<PitchPos>>,
}

impl PitchMapper {
    /// A mapper for `homography` (`None`: no pitch positions).
    pub fn new(homography: Option<Homography>) -> Self {
        PitchMapper { homography, speeds: SpeedEstimator::with_capacity(128), out: Vec::with_capacity(128) }
    }

    /// Replaces the calibration; speeds carry on.
    pub fn set_homography(&mut self, homography: Option<Homography>) {
        self.homography = homography;
    }

    /// Positions of `tracks` (same order) at stream time `t_secs`; empty without a calibration.
    pub fn map(&mut self, tracks: &[Track], t_secs: f64) -> &[Option<PitchPos>] {
        self.out.clear();
        let Some(h) = self.homography else { return &self.out };
        for tr in tracks {
            let (fx, fy) = if tr.class == ObjectClass::Ball { tr.bbox.center() } else { tr.bbox.foot() };
            let pos = h.apply(fx, fy).map(|(x, y)| PitchPos { x_m: x, y_m: y, speed_mps: self.speeds.update(tr.id, x, y, t_secs) });
            self.out.push(pos);
        }
        self.speeds.end_frame();
        &self.out
    }
}

/// Speeds of tracks from their pitch positions, smoothed over about 0.4 s.
#[derive(Debug, Default)]
pub struct SpeedEstimator {
    // (track id, x, y, stream time in seconds, smoothed speed m/s); reused, linear search (tens of tracks).
    last: Vec<(u64, f32, f32, f64, f32)>,
    seen: Vec<bool>,
}

impl SpeedEstimator {
    /// An estimator with room for `tracks` tracks before it allocates.
    pub fn with_capacity(tracks: usize) -> Self {
        SpeedEstimator { last: Vec::with_capacity(tracks), seen: Vec::with_capacity(tracks) }
    }

    /// Records `id` at `(x, y)` metres at `t` seconds and returns its smoothed speed in m/s.
    pub fn update(&mut self, id: u64, x: f32, y: f32, t: f64) -> f32 {
        if let Some(i) = self.last.iter().position(|e| e.0 == id) {
            self.seen[i] = true;
            let e = &mut self.last[i];
            let dt = (t - e.3) as f32;
            if dt > 1e-3 {
                let v = ((x - e.1).powi(2) + (y - e.2).powi(2)).sqrt() / dt;
                let a = (dt / 0.4).min(1.0);
                e.4 += (v - e.4) * a;
                e.1 = x;
                e.2 = y;
                e.3 = t;
            }
            return e.4;
        }
        self.last.push((id, x, y, t, 0.0));
        self.seen.push(true);
        0.0
    }

    /// Forgets tracks not updated since the last call (call once per frame, after the updates).
    pub fn end_frame(&mut self) {
        let mut i = 0;
        while i < self.last.len() {
            if self.seen[i] {
                self.seen[i] = false;
                i += 1;
            } else {
                self.last.swap_remove(i);
                self.seen.swap_remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synth_homography_maps_a_box_foot_to_its_pitch_position() {
        // Frame 1 of the bundled demo clip: a ground-truth box foot and its pitch position.
        let row = std::fs::read_to_string("demo/homography.csv").unwrap();
        let v: Vec<f64> = row.lines().nth(1).unwrap().split(',').skip(1).map(|t| t.parse().unwrap()).collect();
        let h = Homography::from_row_major(&v).unwrap();
        let gt = std::fs::read_to_string("demo/gt/gt.txt").unwrap();
        let pitch = std::fs::read_to_string("demo/pitch.csv").unwrap();
        let mut checked = 0;
        for line in gt.lines().filter(|l| l.starts_with("1,")) {
            let f: Vec<f32> = line.split(',').map(|t| t.parse().unwrap()).collect();
            if f[7] == 4.0 || f[8] < 0.99 || f[2] <= 1.0 || f[3] <= 1.0 || f[2] + f[4] >= 1279.0 || f[3] + f[5] >= 719.0 {
                continue;
            }
            let (x, y) = h.apply(f[2] + f[4] / 2.0, f[3] + f[5]).unwrap();
            let p = pitch.lines().find(|l| l.starts_with(&format!("1,{},", f[1] as u32))).unwrap();
            let p: Vec<&str> = p.split(',').collect();
            let (px, py): (f32, f32) = (p[4].parse().unwrap(), p[5].parse().unwrap());
            assert!((x - px).abs() < 0.3 && (y - py).abs() < 0.3, "({x},{y}) vs ({px},{py})");
            checked += 1;
        }
        assert!(checked >= 5);
        assert!(Homography::from_row_major(&[0.0; 9]).is_none());
        assert!(Homography::from_row_major(&[1.0; 8]).is_none());
    }

    #[test]
    fn speed_of_a_steady_runner_converges_and_gone_tracks_are_forgotten() {
        let mut s = SpeedEstimator::default();
        let mut v = 0.0;
        for k in 0..50 {
            v = s.update(7, 6.0 * k as f32 * 0.04, 0.0, k as f64 * 0.04);
            s.end_frame();
        }
        assert!((v - 6.0).abs() < 0.05, "{v}");
        s.end_frame();
        assert_eq!(s.update(7, 0.0, 0.0, 10.0), 0.0, "a forgotten track starts again");
    }
}
