//! Calibration from the pitch's own markings: 32 keypoints where the lines meet (the order of
//! the Roboflow football-field keypoint set, docs/pitch.md), their places on a pitch drawn to
//! the laws of the game, and a robust fit from the keypoints found in an image that refuses
//! views that are not plausible.

use super::calibrate::{PointPair, fit_homography};
use super::homography::Homography;

/// Keypoints in the model's order.
pub const KEYPOINTS: usize = 32;

/// Penalty area: 16.5 m deep, 40.32 m wide (laws of the game).
const PENALTY_DEPTH_M: f64 = 16.5;
const PENALTY_HALF_WIDTH_M: f64 = 20.16;
/// Goal area: 5.5 m deep, 18.32 m wide.
const GOAL_AREA_DEPTH_M: f64 = 5.5;
const GOAL_AREA_HALF_WIDTH_M: f64 = 9.16;
/// Penalty spot 11 m from the goal line; centre circle 9.15 m radius.
const SPOT_M: f64 = 11.0;
const CIRCLE_M: f64 = 9.15;

/// Where each keypoint lies on a `length_m` x `width_m` pitch: x along the touchline from the
/// left goal line (as the main camera sees it), y across from the far touchline.
pub fn pitch_keypoints(length_m: f64, width_m: f64) -> [(f64, f64); KEYPOINTS] {
    let (l, c) = (length_m, width_m / 2.0);
    let goal_line = |x: f64| {
        [
            (x, 0.0),
            (x, c - PENALTY_HALF_WIDTH_M),
            (x, c - GOAL_AREA_HALF_WIDTH_M),
            (x, c + GOAL_AREA_HALF_WIDTH_M),
            (x, c + PENALTY_HALF_WIDTH_M),
            (x, width_m),
        ]
    };
    let box_line = |x: f64| {
        [
            (x, c - PENALTY_HALF_WIDTH_M),
            (x, c - GOAL_AREA_HALF_WIDTH_M),
            (x, c + GOAL_AREA_HALF_WIDTH_M),
            (x, c + PENALTY_HALF_WIDTH_M),
        ]
    };
    let mut p = [(0.0, 0.0); KEYPOINTS];
    p[0..6].copy_from_slice(&goal_line(0.0));
    p[6] = (GOAL_AREA_DEPTH_M, c - GOAL_AREA_HALF_WIDTH_M);
    p[7] = (GOAL_AREA_DEPTH_M, c + GOAL_AREA_HALF_WIDTH_M);
    p[8] = (SPOT_M, c);
    p[9..13].copy_from_slice(&box_line(PENALTY_DEPTH_M));
    p[13..17].copy_from_slice(&[(l / 2.0, 0.0), (l / 2.0, c - CIRCLE_M), (l / 2.0, c + CIRCLE_M), (l / 2.0, width_m)]);
    p[17..21].copy_from_slice(&box_line(l - PENALTY_DEPTH_M));
    p[21] = (l - SPOT_M, c);
    p[22] = (l - GOAL_AREA_DEPTH_M, c - GOAL_AREA_HALF_WIDTH_M);
    p[23] = (l - GOAL_AREA_DEPTH_M, c + GOAL_AREA_HALF_WIDTH_M);
    p[24..30].copy_from_slice(&goal_line(l));
    p[30] = (l / 2.0 - CIRCLE_M, c);
    p[31] = (l / 2.0 + CIRCLE_M, c);
    p
}

/// Which keypoint each one becomes when the image is mirrored left to right.
pub const FLIP: [usize; KEYPOINTS] = [
    24, 25, 26, 27, 28, 29, 22, 23, 21, 17, 18, 19, 20, 13, 14, 15, 16, 9, 10, 11, 12, 8, 6, 7, 0, 1, 2, 3, 4, 5, 31,
    30,
];

/// One keypoint found in an image: pixel position and the model's confidence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FoundKeypoint {
    /// Image x, pixels.
    pub x: f64,
    /// Image y, pixels.
    pub y: f64,
    /// Confidence in `[0, 1]`.
    pub score: f32,
}

/// What a keypoint fit must meet to be trusted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitRules {
    /// Pitch length and width, metres.
    pub pitch_m: (f64, f64),
    /// Keypoints below this confidence are not used.
    pub min_score: f32,
    /// A keypoint further than this from its place (metres) is an outlier (RANSAC).
    pub inlier_m: f64,
    /// Fewest keypoints the fit must agree with (4 always fit exactly: 5 or more can be checked).
    pub min_inliers: usize,
    /// Largest RMS error of the kept keypoints, metres.
    pub max_error_m: f64,
}

impl Default for FitRules {
    fn default() -> Self {
        FitRules { pitch_m: (105.0, 68.0), min_score: 0.5, inlier_m: 1.5, min_inliers: 5, max_error_m: 1.0 }
    }
}

/// A trusted fit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeypointFit {
    /// Image pixels to pitch metres.
    pub homography: Homography,
    /// Keypoints it agrees with.
    pub inliers: usize,
    /// RMS error of those, metres.
    pub error_m: f64,
}

/// Why a fit was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FitRefused {
    /// Too few confident keypoints, or too few that agree.
    #[error("{found} keypoints agree, {needed} needed")]
    TooFewInliers {
        /// Keypoints the best fit agrees with.
        found: usize,
        /// The rule.
        needed: usize,
    },
    /// The keypoints do not determine a homography (all on one line).
    #[error("the keypoints do not determine a view (on one line?)")]
    Degenerate,
    /// The keypoints agree too loosely.
    #[error("RMS error {0:.2} m is above the limit")]
    LargeError(f64),
    /// The view is mirrored (keypoints of one half taken for the other).
    #[error("the view is mirrored")]
    Mirrored,
}

/// Fits the image-to-pitch homography of `found` (one entry per keypoint in the model's order,
/// `None` where a keypoint was not found) and checks that it is plausible.
pub fn fit_keypoints(found: &[Option<FoundKeypoint>], rules: &FitRules) -> Result<KeypointFit, FitRefused> {
    let places = pitch_keypoints(rules.pitch_m.0, rules.pitch_m.1);
    let pairs: Vec<PointPair> = found
        .iter()
        .zip(places)
        .filter_map(|(k, (x_m, y_m))| {
            k.filter(|k| k.score >= rules.min_score).map(|k| PointPair { px: k.x, py: k.y, x_m, y_m })
        })
        .collect();
    let needed = rules.min_inliers.max(4);
    if pairs.len() < needed {
        return Err(FitRefused::TooFewInliers { found: pairs.len(), needed });
    }
    let fit = fit_homography(&pairs, Some(rules.inlier_m)).map_err(|_| FitRefused::Degenerate)?;
    if fit.inliers < needed {
        return Err(FitRefused::TooFewInliers { found: fit.inliers, needed });
    }
    if fit.rms_error_m > rules.max_error_m {
        return Err(FitRefused::LargeError(fit.rms_error_m));
    }
    // A camera on the near side sees the pitch unmirrored: moving right in the image moves
    // along x, moving down moves towards the near touchline (+y). The map then keeps
    // orientation: its Jacobian's determinant is positive where the keypoints are.
    let (n, (sx, sy)) = (pairs.len() as f64, pairs.iter().fold((0.0, 0.0), |a, p| (a.0 + p.px, a.1 + p.py)));
    if jacobian_det(&fit.homography, sx / n, sy / n).is_none_or(|d| d <= 0.0) {
        return Err(FitRefused::Mirrored);
    }
    Ok(KeypointFit { homography: fit.homography, inliers: fit.inliers, error_m: fit.rms_error_m })
}

/// The determinant of the homography's Jacobian at `(x, y)` (by central differences).
fn jacobian_det(h: &Homography, x: f64, y: f64) -> Option<f64> {
    let e = 1.0;
    let (ax, ay) = h.apply_f64(x + e, y)?;
    let (bx, by) = h.apply_f64(x - e, y)?;
    let (cx, cy) = h.apply_f64(x, y + e)?;
    let (dx, dy) = h.apply_f64(x, y - e)?;
    Some(((ax - bx) * (cy - dy) - (ay - by) * (cx - dx)) / (4.0 * e * e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A camera 30 m behind the near touchline, high up, looking at the middle of the pitch.
    fn camera() -> Homography {
        // Pitch (x, y) metres to image pixels, then inverted.
        let pitch_to_image = Homography::from_row_major(&[
            18.0, -4.0, 0.0, //
            0.0, 6.0, 120.0, //
            0.0, -0.004, 1.0,
        ])
        .unwrap();
        pitch_to_image.inverse().unwrap()
    }

    fn seen(h: &Homography, ids: &[usize]) -> Vec<Option<FoundKeypoint>> {
        let inv = h.inverse().unwrap();
        let places = pitch_keypoints(105.0, 68.0);
        (0..KEYPOINTS)
            .map(|i| {
                ids.contains(&i).then(|| {
                    let (x, y) = inv.apply_f64(places[i].0, places[i].1).unwrap();
                    FoundKeypoint { x, y, score: 0.9 }
                })
            })
            .collect()
    }

    #[test]
    fn the_pitch_model_follows_the_laws_and_mirrors_onto_itself() {
        let p = pitch_keypoints(105.0, 68.0);
        assert_eq!(p[8], (11.0, 34.0), "the left penalty spot");
        assert!((p[12].1 - p[9].1 - 40.32).abs() < 1e-9, "penalty area width");
        assert_eq!(p[13], (52.5, 0.0));
        assert!((p[31].0 - p[30].0 - 18.3).abs() < 1e-9, "centre circle diameter");
        for (i, &j) in FLIP.iter().enumerate() {
            assert_eq!(FLIP[j], i, "the flip is its own inverse");
            assert!((p[i].0 - (105.0 - p[j].0)).abs() < 1e-9 && (p[i].1 - p[j].1).abs() < 1e-9, "{i} <-> {j}");
        }
    }

    #[test]
    fn a_clean_view_is_fitted_and_a_wrong_keypoint_is_left_out() {
        let h = camera();
        let mut found = seen(&h, &[9, 10, 11, 12, 13, 14, 15, 16, 30, 31, 8]);
        let fit = fit_keypoints(&found, &FitRules::default()).unwrap();
        assert_eq!(fit.inliers, 11);
        assert!(fit.error_m < 1e-6, "{}", fit.error_m);
        // One keypoint 60 px off: an outlier, the rest still fit.
        if let Some(k) = found[8].as_mut() {
            k.x += 60.0;
        }
        let fit = fit_keypoints(&found, &FitRules::default()).unwrap();
        assert_eq!(fit.inliers, 10);
    }

    #[test]
    fn implausible_views_are_refused() {
        let h = camera();
        let rules = FitRules::default();
        assert!(matches!(fit_keypoints(&seen(&h, &[13, 14, 15, 30]), &rules), Err(FitRefused::TooFewInliers { .. })));
        // Low confidence counts as not found.
        let mut weak = seen(&h, &[9, 10, 11, 12, 13, 14, 15, 16]);
        weak.iter_mut().flatten().for_each(|k| k.score = 0.2);
        assert!(matches!(fit_keypoints(&weak, &rules), Err(FitRefused::TooFewInliers { found: 0, .. })));
        // The halfway line alone: one line.
        assert!(fit_keypoints(&seen(&h, &[13, 14, 15, 16]), &FitRules { min_inliers: 4, ..rules }).is_err());
        // Keypoints of the left half labelled as their mirror images: a mirrored view.
        let left = seen(&h, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12]);
        let mut mirrored = vec![None; KEYPOINTS];
        for (i, k) in left.iter().enumerate() {
            mirrored[FLIP[i]] = *k;
        }
        assert_eq!(fit_keypoints(&mirrored, &rules), Err(FitRefused::Mirrored));
    }
}
