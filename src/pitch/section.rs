//! `[pitch]`: how image pixels map to the pitch, and the pitch's size.

use serde::{Deserialize, Serialize};

use super::calibrate::{Calibration, CalibrationError, PointPair, fit_homography};
use super::homography::Homography;
use super::keypoints::FitRules;
use super::mapper::PitchArea;
use crate::problems::Problems;

/// `[pitch]`: image-to-pitch calibration of the camera and the pitch's size.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PitchSection {
    /// Homography from image pixels to pitch metres, 9 numbers row-major (empty = none).
    pub image_to_pitch: Vec<f64>,
    /// Or: at least four `[image_x, image_y, pitch_x_m, pitch_y_m]` pairs; the homography is
    /// fitted to them (normalised DLT).
    pub points: Vec<[f64; 4]>,
    /// With points: drop pairs further than this from the fit, metres (RANSAC; 0 = keep all).
    pub ransac_threshold_m: f64,
    /// With points: refuse a fit whose root-mean-square error is larger, metres.
    pub max_error_m: f64,
    /// Pitch length (along the touchline), metres.
    pub length_m: f64,
    /// Pitch width, metres.
    pub width_m: f64,
    /// Drop tracks whose position is off the pitch by more than `outside_margin_m` (spectators,
    /// bench staff). Needs a calibration.
    pub drop_outside: bool,
    /// How far off the pitch a track may be before `drop_outside` drops it, metres.
    pub outside_margin_m: f64,
    /// The camera pans, tilts or zooms: the calibration is of the first frame and follows the
    /// camera from there by image motion (docs/pitch.md).
    pub follow_camera: bool,
    /// Calibrate from the pitch's own markings: the keypoint model runs every
    /// `keypoint_every_frames` frames and at once after a cut, the camera is followed in
    /// between (docs/pitch.md). A hand calibration (`image_to_pitch` or `points`) wins.
    pub auto_calibrate: bool,
    /// The pitch keypoint model (ONNX, manifest beside it).
    pub keypoint_model: String,
    /// Frames between keypoint runs while the calibration is followed.
    pub keypoint_every_frames: u32,
}

impl Default for PitchSection {
    fn default() -> Self {
        PitchSection {
            image_to_pitch: Vec::new(),
            points: Vec::new(),
            ransac_threshold_m: 0.0,
            max_error_m: 1.0,
            length_m: 105.0,
            width_m: 68.0,
            drop_outside: false,
            outside_margin_m: 3.0,
            follow_camera: false,
            auto_calibrate: true,
            keypoint_model: "models/pitch_keypoints_640x384.onnx".into(),
            keypoint_every_frames: 10,
        }
    }
}

impl PitchSection {
    /// Checks the section into `p`.
    pub fn check(&self, p: &mut Problems) {
        let h = &self.image_to_pitch;
        p.check(h.is_empty() || Homography::from_row_major(h).is_some(), "pitch.image_to_pitch", || {
            format!("needs 9 finite numbers forming an invertible matrix, found {} values", h.len())
        });
        p.check(h.is_empty() || self.points.is_empty(), "pitch.points", || {
            "give either image_to_pitch or points, not both".into()
        });
        p.check(self.points.iter().flatten().all(|v| v.is_finite()), "pitch.points", || {
            "every value must be a finite number".into()
        });
        p.check(
            self.ransac_threshold_m.is_finite() && self.ransac_threshold_m >= 0.0,
            "pitch.ransac_threshold_m",
            || format!("{} must be 0 (off) or a positive distance", self.ransac_threshold_m),
        );
        p.check(self.max_error_m.is_finite() && self.max_error_m > 0.0, "pitch.max_error_m", || {
            format!("{} must be positive", self.max_error_m)
        });
        p.check(self.length_m.is_finite() && (20.0..=150.0).contains(&self.length_m), "pitch.length_m", || {
            format!("{} must be in 20..=150", self.length_m)
        });
        p.check(self.width_m.is_finite() && (10.0..=100.0).contains(&self.width_m), "pitch.width_m", || {
            format!("{} must be in 10..=100", self.width_m)
        });
        p.check(self.outside_margin_m.is_finite() && self.outside_margin_m >= 0.0, "pitch.outside_margin_m", || {
            format!("{} must be 0 or more", self.outside_margin_m)
        });
        let hand = !h.is_empty() || !self.points.is_empty();
        p.check(!self.drop_outside || hand || self.auto_calibrate, "pitch.drop_outside", || {
            "needs a calibration (image_to_pitch, points or auto_calibrate)".into()
        });
        p.check(!self.follow_camera || hand || self.auto_calibrate, "pitch.follow_camera", || {
            "needs the calibration of the first frame (image_to_pitch or points), or auto_calibrate".into()
        });
        p.check((1..=10_000).contains(&self.keypoint_every_frames), "pitch.keypoint_every_frames", || {
            format!("{} must be in 1..=10000", self.keypoint_every_frames)
        });
        if let Some(fit) = self.calibration() {
            match fit {
                Ok(c) => p.check(c.rms_error_m <= self.max_error_m, "pitch.points", || {
                    format!("the fit misses its points by {:.2} m (RMS; largest {:.2} m), more than pitch.max_error_m = {} m: check the pairs", c.rms_error_m, c.max_error_m, self.max_error_m)
                }),
                Err(e) => p.check(false, "pitch.points", || e.to_string()),
            }
        }
    }

    /// The fit of `points`, when points are given.
    pub fn calibration(&self) -> Option<Result<Calibration, CalibrationError>> {
        if self.points.is_empty() || !self.points.iter().flatten().all(|v| v.is_finite()) {
            return None;
        }
        let pairs: Vec<PointPair> =
            self.points.iter().map(|&[px, py, x_m, y_m]| PointPair { px, py, x_m, y_m }).collect();
        let ransac = (self.ransac_threshold_m > 0.0).then_some(self.ransac_threshold_m);
        Some(fit_homography(&pairs, ransac))
    }

    /// The homography, when one is configured (typed in, or fitted to points).
    pub fn homography(&self) -> Option<Homography> {
        if !self.image_to_pitch.is_empty() {
            return Homography::from_row_major(&self.image_to_pitch);
        }
        self.calibration()?.ok().map(|c| c.homography)
    }

    /// What a keypoint fit must meet on this pitch, for keypoints of at least `min_score`.
    pub fn fit_rules(&self, min_score: f32) -> FitRules {
        FitRules {
            pitch_m: (self.length_m, self.width_m),
            min_score,
            max_error_m: self.max_error_m,
            ..FitRules::default()
        }
    }

    /// Whether the keypoint model calibrates: `auto_calibrate` on and no hand calibration.
    pub fn calibrates_automatically(&self) -> bool {
        self.auto_calibrate && self.image_to_pitch.is_empty() && self.points.is_empty()
    }

    /// The area outside which tracks are dropped, when `drop_outside` is on.
    pub fn drop_area(&self) -> Option<PitchArea> {
        self.drop_outside.then_some(PitchArea {
            length_m: self.length_m as f32,
            width_m: self.width_m as f32,
            margin_m: self.outside_margin_m as f32,
        })
    }
}
