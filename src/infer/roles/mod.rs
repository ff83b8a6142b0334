//! The role model: a second look at each person the detector found, on the frame's own pixels.
//!
//! The detector finds people well but tells goalkeepers and referees from players poorly (few
//! of them to learn from, and little detail at its input size). A small network looks at each
//! person's crop at full resolution, where the kit shows, and decides the role. It runs on the
//! CPU whatever the detector runs on: 6.7 MMAC a crop, about 2 ms for 25 people on one core
//! (`infer.crop_threads` gives it more), while a GPU session of its own would cost every camera
//! its memory.

mod kit_context;
mod manifest;

use std::path::PathBuf;

pub use manifest::{KitContext, RoleManifest};

use super::crops::{CropInput, CropModel, region_in_frame};
use super::error::InferError;
use super::pre::{Region, YuvFrame};
use crate::frame::{Detection, ObjectClass};

/// How to build a [`RoleClassifier`].
#[derive(Clone, Debug)]
pub struct RoleOptions {
    /// The ONNX model.
    pub model: PathBuf,
    /// Its checked manifest.
    pub manifest: RoleManifest,
    /// CPU threads (`infer.crop_threads`).
    pub threads: usize,
}

/// A loaded role model with its buffers (reused from frame to frame).
pub struct RoleClassifier {
    model: CropModel,
    /// Per detection of the last frame: the probability of the role it was given (1 for
    /// detections that are not people).
    confidence: Vec<f32>,
    classes: Vec<ObjectClass>,
    margin: f32,
    /// The frame's context (the manifest's `kit_context`) and its per-frame buffers.
    context: Option<kit_context::FrameContext>,
}

impl RoleClassifier {
    /// Loads the model (ONNX Runtime on the CPU, `opts.threads` threads).
    pub fn new(opts: RoleOptions) -> Result<Self, InferError> {
        let m = &opts.manifest;
        let classes = m.classes().map_err(|message| InferError::Model { path: opts.model.clone(), message })?;
        let input = CropInput {
            size: (m.input_width, m.input_height),
            color_order: m.color_order,
            normalisation: m.normalisation(),
            pad_value: m.pad_value,
        };
        Ok(RoleClassifier {
            model: CropModel::load(&opts.model, input, opts.threads)?,
            confidence: Vec::with_capacity(512),
            context: m.kit_context.map(|k| kit_context::FrameContext::new(k, &classes)),
            classes,
            margin: m.margin,
        })
    }

    /// Gives each person in `dets` the role the model sees in their crop of `frame` (a host
    /// frame); balls keep theirs. Returns how many people were looked at.
    pub fn classify(&mut self, frame: &YuvFrame<'_>, dets: &mut [Detection]) -> Result<usize, InferError> {
        self.confidence.clear();
        self.confidence.resize(dets.len(), 1.0);
        let RoleClassifier { model, confidence, classes, margin, context } = self;
        let k = classes.len();
        let region_of = |d: &Detection| d.class.is_person().then(|| crop(d, *margin, frame));
        if let Some(ctx) = context.as_mut() {
            // The model's view of each crop first, then the frame's context decides.
            ctx.begin(dets.len());
            let looked = model.run(frame, dets, k, region_of, |i, _, p| ctx.set_probabilities(i, p))?;
            ctx.decide(frame, dets, classes, confidence);
            return Ok(looked);
        }
        model.run(frame, dets, k, region_of, |i, d, p| {
            let best = (0..k).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            d.class = classes[best];
            confidence[i] = p[best];
        })
    }

    /// The probability of the role each detection of the last [`RoleClassifier::classify`] was
    /// given (1 for balls), in the detections' order.
    pub fn confidence(&self) -> &[f32] {
        &self.confidence
    }
}

/// The region cut for `d`: its box grown by `margin`, whole pixels, in the frame.
fn crop(d: &Detection, margin: f32, frame: &YuvFrame<'_>) -> Region {
    let b = d.bbox;
    let (gw, gh) = ((b.x2 - b.x1) * margin / 2.0, (b.y2 - b.y1) * margin / 2.0);
    region_in_frame((b.x1 - gw, b.y1 - gh, b.x2 + gw, b.y2 + gh), frame.width, frame.height)
}
