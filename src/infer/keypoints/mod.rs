//! The pitch keypoint model: a whole frame letterboxed into the model's input (the detector's
//! [`Preprocessor`]), one run, and each of the 32 heatmaps decoded to its keypoint in frame
//! pixels with a confidence. What the keypoints are, and the fit of a homography to them, are
//! ground ([`crate::pitch::keypoints`]).

mod heatmaps;
mod manifest;

use std::path::PathBuf;

pub use heatmaps::{Heatmaps, decode};
pub use manifest::{HeatmapFormat, KeypointManifest};

use super::error::InferError;
use super::onnx::OnnxModel;
use super::options::Provider;
use super::pre::{Preprocessor, Region, YuvFrame};
use crate::pitch::keypoints::{FoundKeypoint, KEYPOINTS};

/// How to build a [`KeypointModel`].
#[derive(Clone, Debug)]
pub struct KeypointOptions {
    /// The ONNX model.
    pub model: PathBuf,
    /// Its checked manifest.
    pub manifest: KeypointManifest,
    /// ONNX Runtime intra-op threads (0 = its default).
    pub threads: usize,
    /// Execution providers, in order of preference.
    pub providers: Vec<Provider>,
}

/// The keypoints of one frame, in the order of [`crate::pitch::keypoints::pitch_keypoints`].
pub type FrameKeypoints = [Option<FoundKeypoint>; KEYPOINTS];

/// A loaded keypoint model with its buffers (reused from run to run).
pub struct KeypointModel {
    model: OnnxModel,
    pre: Preprocessor,
    input: Vec<f32>,
    manifest: KeypointManifest,
}

impl KeypointModel {
    /// Loads the model.
    pub fn new(opts: KeypointOptions) -> Result<Self, InferError> {
        let m = &opts.manifest;
        let model =
            OnnxModel::load(&opts.model, m.input_width, m.input_height, opts.threads, &opts.providers, false, false)?;
        let pre =
            Preprocessor::for_input((m.input_width, m.input_height), m.color_order, m.normalisation(), m.pad_value);
        let input = vec![0.0; pre.input_len()];
        Ok(KeypointModel { model, pre, input, manifest: opts.manifest })
    }

    /// The execution provider in use.
    pub fn provider(&self) -> Provider {
        self.model.provider()
    }

    /// The keypoints of `frame` (a host frame), each `None` where the model is not confident.
    pub fn find(&mut self, frame: &YuvFrame<'_>, out: &mut FrameKeypoints) -> Result<(), InferError> {
        if !frame.on_host() {
            return Err(InferError::Run("the keypoint model reads frames on the host".into()));
        }
        let whole = Region { x: 0, y: 0, w: frame.width, h: frame.height };
        let lb = self.pre.fill(frame, whole, &mut self.input);
        let m = &self.manifest;
        let (w, h) = m.heatmap_size();
        let (stride, min_score) = (m.stride, m.min_score);
        self.model.run(&self.input, 1, |shape, values| {
            let expected = [1, KEYPOINTS as i64, h as i64, w as i64];
            if shape != expected || values.len() != KEYPOINTS * w * h {
                return Err(InferError::OutputShape { shape: shape.to_vec(), expected: format!("{expected:?}") });
            }
            decode(Heatmaps { values, width: w, height: h, stride }, &lb, min_score, out);
            Ok(())
        })?
    }
}
