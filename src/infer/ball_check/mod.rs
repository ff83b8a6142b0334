//! The ball check: a third look at each ball the detector found, on the frame's own pixels.
//!
//! The detector's ball candidates hold most balls but are ranked poorly: socks, heads, line
//! crossings and advertising score as high as a small real ball. A small network looks at a
//! square window of full-resolution pixels around each candidate and says how likely it is the
//! ball; the candidate's score is multiplied by it, so the ball tracker and every consumer rank
//! candidates by both. It runs on the CPU whatever the detector runs on (3.4 MMAC a candidate).

mod manifest;

use std::path::PathBuf;

pub use manifest::BallCheckManifest;

use super::crops::{CropInput, CropModel, region_in_frame};
use super::error::InferError;
use super::pre::YuvFrame;
use crate::frame::{Detection, ObjectClass};

/// How to build a [`BallCheck`].
#[derive(Clone, Debug)]
pub struct BallCheckOptions {
    /// The ONNX model.
    pub model: PathBuf,
    /// Its checked manifest.
    pub manifest: BallCheckManifest,
    /// CPU threads (`infer.crop_threads`).
    pub threads: usize,
}

/// A loaded ball check with its buffers (reused from frame to frame).
pub struct BallCheck {
    model: CropModel,
    manifest: BallCheckManifest,
}

impl BallCheck {
    /// Loads the model (ONNX Runtime on the CPU, `opts.threads` threads).
    pub fn new(opts: BallCheckOptions) -> Result<Self, InferError> {
        let m = &opts.manifest;
        let input = CropInput {
            size: (m.input_width, m.input_height),
            color_order: m.color_order,
            normalisation: m.normalisation(),
            pad_value: m.pad_value,
        };
        Ok(BallCheck { model: CropModel::load(&opts.model, input, opts.threads)?, manifest: opts.manifest })
    }

    /// Multiplies the score of each ball in `dets` by the probability the model gives its
    /// window of `frame` (a host frame); people are untouched. Returns how many balls were looked at.
    pub fn rescore(&mut self, frame: &YuvFrame<'_>, dets: &mut [Detection]) -> Result<usize, InferError> {
        let BallCheck { model, manifest } = self;
        let region_of = |d: &Detection| {
            (d.class == ObjectClass::Ball).then(|| {
                let b = d.bbox;
                let half = manifest.window((b.x2 - b.x1).max(b.y2 - b.y1)) / 2.0;
                let (cx, cy) = b.center();
                region_in_frame((cx - half, cy - half, cx + half, cy + half), frame.width, frame.height)
            })
        };
        model.run(frame, dets, 1, region_of, |_, d, p| d.score *= p[0].clamp(0.0, 1.0))
    }
}
