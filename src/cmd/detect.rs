//! `footrackd detect`: the configured detector (model, tiling, thresholds) and role model on
//! still images, one JSON line per image. Users check a model on their own stills with it;
//! `tools/train/evaluate.py` scores its output against labels.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::frame::{Detection, PixelFormat};
use crate::infer::pre::YuvFrame;
use crate::infer::{BallCheck, Detector, InferError, RoleClassifier};
use crate::source::{StillError, decode_still};

/// One image's line.
#[derive(Debug, Serialize)]
pub struct ImageDetections<'a> {
    /// The image as named on the command line.
    pub image: String,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// What the detector found, in the image's pixels.
    pub detections: Vec<DetectionLine<'a>>,
}

/// One detection of a line.
#[derive(Debug, Serialize)]
pub struct DetectionLine<'a> {
    /// `[x1, y1, x2, y2]`, image pixels.
    pub bbox: [f32; 4],
    /// Score in `[0, 1]`.
    pub score: f32,
    /// The class: `player`, `goalkeeper`, `referee` or `ball`.
    pub class: &'a str,
    /// The score of the class itself: a person's score times the role model's probability of
    /// the role it gave (the score where no role model runs, and for the ball). Per-role
    /// precision and AP rank by it, people's by `score`.
    pub class_score: f32,
}

/// Why `detect` stopped.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The detector could not be built or failed.
    #[error("detector: {0}")]
    Detector(#[from] InferError),
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The output file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// How a `detect` run went.
#[derive(Debug, Default)]
pub struct DetectSummary {
    /// Images written.
    pub images: usize,
    /// Detections written.
    pub detections: usize,
    /// Images that could not be read or decoded, with why (nothing written for them).
    pub failed: Vec<StillError>,
    /// Mean detector time per image, milliseconds (pre-processing, model, post-processing).
    pub mean_ms: f64,
}

/// Runs the configured detector on every image and writes one JSON line each to `out`.
pub fn run(cfg: &Config, images: &[PathBuf], out: &Path) -> Result<DetectSummary, DetectError> {
    let mut detector = Detector::new(cfg.detector_options())?;
    let mut roles = cfg.role_options().map(RoleClassifier::new).transpose()?;
    let mut ball_check = cfg.ball_check_options().map(BallCheck::new).transpose()?;
    let output_error = |source| DetectError::Output { path: out.display().to_string(), source };
    let mut writer = std::io::BufWriter::new(std::fs::File::create(out).map_err(output_error)?);
    let mut summary = DetectSummary::default();
    let mut dets: Vec<Detection> = Vec::new();
    let mut total_ms = 0.0;
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
        detector.detect(&frame, &mut dets)?;
        if let Some(r) = roles.as_mut() {
            r.classify(&frame, &mut dets)?;
        }
        if let Some(b) = ball_check.as_mut() {
            b.rescore(&frame, &mut dets)?;
        }
        let role_p = |i: usize| roles.as_ref().and_then(|r| r.confidence().get(i).copied()).unwrap_or(1.0);
        total_ms += started.elapsed().as_secs_f64() * 1000.0;
        let line = ImageDetections {
            image: path.display().to_string(),
            width: still.width,
            height: still.height,
            detections: dets
                .iter()
                .enumerate()
                .map(|(i, d)| DetectionLine {
                    bbox: [d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2],
                    score: d.score,
                    class: d.class.as_str(),
                    class_score: d.score * role_p(i),
                })
                .collect(),
        };
        serde_json::to_writer(&mut writer, &line).map_err(|e| output_error(e.into()))?;
        writer.write_all(b"\n").map_err(output_error)?;
        summary.images += 1;
        summary.detections += dets.len();
    }
    writer.flush().map_err(output_error)?;
    summary.mean_ms = if summary.images > 0 { total_ms / summary.images as f64 } else { 0.0 };
    Ok(summary)
}
