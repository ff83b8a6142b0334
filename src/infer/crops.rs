//! Small CPU models that take a second look at some detections, each on its own crop of the
//! frame's pixels (the role model on people, the ball check on balls): crops cut and letterboxed
//! as the detector's input is, batched into few model calls, buffers reused from frame to frame.

use std::path::Path;

use super::error::InferError;
use super::manifest::ColorOrder;
use super::onnx::OnnxModel;
use super::options::Provider;
use super::pre::{Preprocessor, Region, YuvFrame};
use crate::frame::Detection;

/// Most crops in one model call; more take several calls.
const CROPS_PER_CALL: usize = 64;

/// How a crop model's input is made (from its manifest).
pub(crate) struct CropInput {
    pub(crate) size: (u32, u32),
    pub(crate) color_order: ColorOrder,
    pub(crate) normalisation: ([f32; 3], [f32; 3]),
    pub(crate) pad_value: u8,
}

/// A loaded crop model with its input buffer.
pub(crate) struct CropModel {
    model: OnnxModel,
    pre: Preprocessor,
    input: Vec<f32>,
    /// The detections of the current call.
    picked: Vec<usize>,
}

impl CropModel {
    /// Loads `path` on the CPU with `threads` threads (at least one): a GPU session of its own
    /// would cost every camera its memory, and a crop model costs a few MMAC a crop.
    pub(crate) fn load(path: &Path, input: CropInput, threads: usize) -> Result<Self, InferError> {
        let (w, h) = input.size;
        let model = OnnxModel::load(path, w, h, threads.max(1), &[Provider::Cpu], false, false)?;
        let pre = Preprocessor::for_input(input.size, input.color_order, input.normalisation, input.pad_value);
        let input = vec![0.0; CROPS_PER_CALL * pre.input_len()];
        Ok(CropModel { model, pre, input, picked: Vec::with_capacity(CROPS_PER_CALL) })
    }

    /// Runs the model on the crop `region_of` gives each detection it picks (a host frame), and
    /// hands each picked detection its `outputs` values. Returns how many were looked at.
    pub(crate) fn run(
        &mut self,
        frame: &YuvFrame<'_>,
        dets: &mut [Detection],
        outputs: usize,
        region_of: impl Fn(&Detection) -> Option<Region>,
        mut apply: impl FnMut(usize, &mut Detection, &[f32]),
    ) -> Result<usize, InferError> {
        if !frame.on_host() {
            return Err(InferError::Run("crop models read frames on the host".into()));
        }
        let len = self.pre.input_len();
        let (mut start, mut looked) = (0, 0);
        while start < dets.len() {
            self.picked.clear();
            let mut i = start;
            while i < dets.len() && self.picked.len() < CROPS_PER_CALL {
                if let Some(region) = region_of(&dets[i]) {
                    let j = self.picked.len();
                    self.pre.fill(frame, region, &mut self.input[j * len..(j + 1) * len]);
                    self.picked.push(i);
                }
                i += 1;
            }
            start = i;
            if self.picked.is_empty() {
                continue;
            }
            let n = self.picked.len();
            let CropModel { model, input, picked, .. } = self;
            model.run(&input[..n * len], n, |shape, values| {
                if shape != [n as i64, outputs as i64] || values.len() != n * outputs {
                    return Err(InferError::OutputShape {
                        shape: shape.to_vec(),
                        expected: format!("[{n}, {outputs}]"),
                    });
                }
                for (out, &d) in values.chunks_exact(outputs).zip(picked.iter()) {
                    apply(d, &mut dets[d], out);
                }
                Ok(())
            })??;
            looked += n;
        }
        Ok(looked)
    }
}

/// Checks a crop model manifest's input: a size of 8..=512 pixels a side, a non-zero std.
pub(crate) fn check_input(width: u32, height: u32, std: [f32; 3]) -> Result<(), String> {
    if !(8..=512).contains(&width) || !(8..=512).contains(&height) {
        return Err(format!("input {width}x{height} is outside 8..=512"));
    }
    crate::infer::manifest::check_std(std)
}

/// `x1..x2` by `y1..y2` in whole pixels, clipped to a `width` x `height` frame (at least one pixel).
pub(crate) fn region_in_frame((x1, y1, x2, y2): (f32, f32, f32, f32), width: u32, height: u32) -> Region {
    let (fw, fh) = (width as f32, height as f32);
    let x1 = x1.floor().clamp(0.0, fw - 1.0);
    let y1 = y1.floor().clamp(0.0, fh - 1.0);
    let x2 = x2.ceil().clamp(x1 + 1.0, fw);
    let y2 = y2.ceil().clamp(y1 + 1.0, fh);
    Region { x: x1 as u32, y: y1 as u32, w: (x2 - x1) as u32, h: (y2 - y1) as u32 }
}
