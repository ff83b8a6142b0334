//! `footrackd calibrate`: the pitch keypoint model and the daemon's fit rules on still images,
//! one JSON line per image: the keypoints found, the image-to-pitch homography (or why none)
//! and how well it fits. Users check a camera's view with it; `tools/train/kp_eval.py --jsonl`
//! scores its output against labelled keypoints.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::frame::PixelFormat;
use crate::infer::manifest::ManifestError;
use crate::infer::pre::YuvFrame;
use crate::infer::{FrameKeypoints, InferError, KeypointModel};
use crate::pitch::keypoints::{KEYPOINTS, fit_keypoints};
use crate::source::{StillError, decode_still};

/// One image's line.
#[derive(Debug, Serialize)]
pub struct ImageCalibration {
    /// The image as named on the command line.
    pub image: String,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// `[x, y, score]` in image pixels, or null, for each of the 32 keypoints in the dataset's order.
    pub keypoints: Vec<Option<[f64; 3]>>,
    /// Image pixels to pitch metres, row-major (docs/pitch.md), or null when no fit is trusted.
    pub homography: Option<[f64; 9]>,
    /// Keypoints the fit agrees with (0 without a fit).
    pub inliers: usize,
    /// RMS error of those on the pitch, metres (null without a fit).
    pub error_m: Option<f64>,
    /// Why no fit was trusted (absent with one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Why `calibrate` stopped.
#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    /// The keypoint model's manifest is missing or wrong.
    #[error("pitch.keypoint_model: {0}")]
    Manifest(#[from] ManifestError),
    /// The model could not be loaded or failed.
    #[error("keypoint model: {0}")]
    Model(#[from] InferError),
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The output file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// How a `calibrate` run went.
#[derive(Debug, Default)]
pub struct CalibrateSummary {
    /// Images written.
    pub images: usize,
    /// Of those, images with a trusted homography.
    pub calibrated: usize,
    /// Images that could not be read or decoded (nothing written for them).
    pub failed: Vec<StillError>,
    /// Mean time per image of the keypoint model (letterbox, run, decode), milliseconds.
    pub model_ms: f64,
    /// Mean time per image of the fit, milliseconds.
    pub fit_ms: f64,
}

/// Runs the keypoint model on every image and writes one JSON line each to `out`.
pub fn run(cfg: &Config, images: &[PathBuf], out: &Path) -> Result<CalibrateSummary, CalibrateError> {
    let opts = cfg.keypoint_options()?;
    let rules = cfg.pitch.fit_rules(opts.manifest.min_score);
    let mut model = KeypointModel::new(opts)?;
    let output_error = |source| CalibrateError::Output { path: out.display().to_string(), source };
    let mut writer = std::io::BufWriter::new(std::fs::File::create(out).map_err(output_error)?);
    let mut summary = CalibrateSummary::default();
    let mut found: FrameKeypoints = [None; KEYPOINTS];
    let (mut model_ms, mut fit_ms) = (0.0, 0.0);
    for path in images {
        let still = match decode_still(path) {
            Ok(s) => s,
            Err(e) => {
                summary.failed.push(e);
                continue;
            }
        };
        let frame = YuvFrame::new(&still.i420, still.width, still.height, PixelFormat::I420)
            .expect("decode_still packs a whole frame");
        let started = std::time::Instant::now();
        model.find(&frame, &mut found)?;
        let fitting = std::time::Instant::now();
        let fit = fit_keypoints(&found, &rules);
        fit_ms += fitting.elapsed().as_secs_f64() * 1000.0;
        model_ms += (fitting - started).as_secs_f64() * 1000.0;
        let line = ImageCalibration {
            image: path.display().to_string(),
            width: still.width,
            height: still.height,
            keypoints: found.iter().map(|k| k.map(|k| [k.x, k.y, k.score as f64])).collect(),
            homography: fit.as_ref().ok().map(|f| f.homography.row_major()),
            inliers: fit.as_ref().map_or(0, |f| f.inliers),
            error_m: fit.as_ref().ok().map(|f| f.error_m),
            refused: fit.as_ref().err().map(ToString::to_string),
        };
        serde_json::to_writer(&mut writer, &line).map_err(|e| output_error(e.into()))?;
        writer.write_all(b"\n").map_err(output_error)?;
        summary.images += 1;
        summary.calibrated += usize::from(fit.is_ok());
    }
    writer.flush().map_err(output_error)?;
    let n = summary.images.max(1) as f64;
    (summary.model_ms, summary.fit_ms) = (model_ms / n, fit_ms / n);
    Ok(summary)
}
