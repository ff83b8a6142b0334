//! The role model: a second look at each person the detector found, on the frame's own pixels.
//!
//! The detector finds people well but tells goalkeepers and referees from players poorly (few
//! of them to learn from, and little detail at its input size). A small network looks at each
//! person's crop at full resolution, where the kit shows, and decides the role. It runs on the
//! CPU whatever the detector runs on: 6.7 MMAC a crop, about 2 ms for 25 people on one core,
//! while a GPU session of its own would cost every camera its memory.

mod manifest;

use std::path::PathBuf;

pub use manifest::RoleManifest;

use super::error::InferError;
use super::onnx::OnnxModel;
use super::options::Provider;
use super::pre::{Preprocessor, Region, YuvFrame};
use crate::frame::{Detection, ObjectClass};

/// How to build a [`RoleClassifier`].
#[derive(Clone, Debug)]
pub struct RoleOptions {
    /// The ONNX model.
    pub model: PathBuf,
    /// Its checked manifest.
    pub manifest: RoleManifest,
}

/// Most crops in one model call; more people take several calls.
const CROPS_PER_CALL: usize = 64;

/// A loaded role model with its buffers (reused from frame to frame).
pub struct RoleClassifier {
    model: OnnxModel,
    pre: Preprocessor,
    input: Vec<f32>,
    /// The detections of the current call.
    people: Vec<usize>,
    /// Per detection of the last frame: the probability of the role it was given (1 for
    /// detections that are not people).
    confidence: Vec<f32>,
    classes: Vec<ObjectClass>,
    margin: f32,
}

impl RoleClassifier {
    /// Loads the model (ONNX Runtime on the CPU, one thread).
    pub fn new(opts: RoleOptions) -> Result<Self, InferError> {
        let m = &opts.manifest;
        let classes = m.classes().map_err(|message| InferError::Model { path: opts.model.clone(), message })?;
        let model = OnnxModel::load(&opts.model, m.input_width, m.input_height, 1, &[Provider::Cpu], false, false)?;
        let pre =
            Preprocessor::for_input((m.input_width, m.input_height), m.color_order, m.normalisation(), m.pad_value);
        let input = vec![0.0; CROPS_PER_CALL * pre.input_len()];
        Ok(RoleClassifier {
            model,
            pre,
            input,
            people: Vec::with_capacity(CROPS_PER_CALL),
            confidence: Vec::with_capacity(512),
            classes,
            margin: m.margin,
        })
    }

    /// Gives each person in `dets` the role the model sees in their crop of `frame` (a host
    /// frame); balls keep theirs. Returns how many people were looked at.
    pub fn classify(&mut self, frame: &YuvFrame<'_>, dets: &mut [Detection]) -> Result<usize, InferError> {
        if !frame.on_host() {
            return Err(InferError::Run("the role model reads frames on the host".into()));
        }
        self.confidence.clear();
        self.confidence.resize(dets.len(), 1.0);
        let len = self.pre.input_len();
        let mut start = 0;
        let mut looked = 0;
        while start < dets.len() {
            self.people.clear();
            let mut i = start;
            while i < dets.len() && self.people.len() < CROPS_PER_CALL {
                if dets[i].class.is_person() {
                    let (j, region) = (self.people.len(), self.crop(&dets[i], frame));
                    self.pre.fill(frame, region, &mut self.input[j * len..(j + 1) * len]);
                    self.people.push(i);
                }
                i += 1;
            }
            start = i;
            if self.people.is_empty() {
                continue;
            }
            let n = self.people.len();
            let RoleClassifier { model, input, people, confidence, classes, .. } = self;
            model.run(&input[..n * len], n, |shape, values| {
                let k = classes.len();
                if shape != [n as i64, k as i64] || values.len() != n * k {
                    return Err(InferError::OutputShape { shape: shape.to_vec(), expected: format!("[{n}, {k}]") });
                }
                for (p, &d) in values.chunks_exact(k).zip(people.iter()) {
                    let best = (0..k).fold(0, |b, c| if p[c] > p[b] { c } else { b });
                    dets[d].class = classes[best];
                    confidence[d] = p[best];
                }
                Ok(())
            })??;
            looked += n;
        }
        Ok(looked)
    }

    /// The probability of the role each detection of the last [`RoleClassifier::classify`] was
    /// given (1 for balls), in the detections' order.
    pub fn confidence(&self) -> &[f32] {
        &self.confidence
    }

    /// The region cut for `d`: its box grown by the manifest's margin, whole pixels, in the frame.
    fn crop(&self, d: &Detection, frame: &YuvFrame<'_>) -> Region {
        let b = d.bbox;
        let (gw, gh) = ((b.x2 - b.x1) * self.margin / 2.0, (b.y2 - b.y1) * self.margin / 2.0);
        let (fw, fh) = (frame.width as f32, frame.height as f32);
        let x1 = (b.x1 - gw).floor().clamp(0.0, fw - 1.0);
        let y1 = (b.y1 - gh).floor().clamp(0.0, fh - 1.0);
        let x2 = (b.x2 + gw).ceil().clamp(x1 + 1.0, fw);
        let y2 = (b.y2 + gh).ceil().clamp(y1 + 1.0, fh);
        Region { x: x1 as u32, y: y1 as u32, w: (x2 - x1) as u32, h: (y2 - y1) as u32 }
    }
}
