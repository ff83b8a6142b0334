//! The detector's GPU path (feature `cuda`): every region letterboxed by one kernel launch each,
//! straight from device-mapped ring memory (or one upload), then the model on device buffers.

use std::time::Instant;

use super::{DetectTiming, Detector, collect, decode};
use crate::infer::error::InferError;
use crate::infer::gpu_pre::{GpuFrame, GpuPreprocessor};
use crate::infer::options::GpuInput;
use crate::infer::pre::{self, Region, YuvFrame};
use crate::frame::Detection;

/// Where the GPU reads `frame`: in place from mapped pinned memory, or after one upload.
#[cfg(feature = "cuda")]
fn gpu_source(g: &mut GpuPreprocessor, frame: &YuvFrame<'_>, mode: GpuInput) -> Result<GpuFrame, InferError> {
    match (frame.device, mode) {
        (Some(ptr), GpuInput::Mapped) => Ok(GpuFrame::Device(ptr)),
        _ => g.upload(frame.data).map_err(|e| InferError::Run(e.to_string())),
    }
}

#[cfg(feature = "cuda")]
impl Detector {
    /// The GPU path: letterbox every region with one kernel launch each (input read in place from
    /// mapped memory, or after one upload), then run the model on each region's device buffer.
    pub(super) fn detect_gpu(&mut self, frame: &YuvFrame<'_>, out: &mut Vec<Detection>) -> Result<DetectTiming, InferError> {
        let mut timing = DetectTiming::default();
        let tiled = self.regions.len() > 1;
        let t0 = Instant::now();
        let gpu_err = |e: crate::gpu::GpuError| InferError::Run(e.to_string());
        let Some(g) = self.gpu.as_mut() else { return Err(InferError::Run("no GPU pre-processor".into())) };
        let source = gpu_source(g, frame, self.opts.gpu_input)?;
        self.letterboxes.clear();
        for (i, region) in self.regions.iter().enumerate() {
            let lb = g.fill(source, frame.width, frame.height, frame.format, *region, i).map_err(gpu_err)?;
            self.letterboxes.push(lb);
        }
        g.synchronize().map_err(gpu_err)?;
        timing.pre_secs = t0.elapsed().as_secs_f64();
        for i in 0..self.regions.len() {
            let t1 = Instant::now();
            let ptr = self.gpu.as_ref().map_or(0, |g| g.output_ptr(i));
            let m = &self.opts.manifest;
            let (class_table, threshold, tile_dets) = (&self.class_table, self.opts.score_threshold, &mut self.tile_dets);
            tile_dets.clear();
            self.model.run_device(ptr, |shape, values| decode(m, shape, values, class_table, threshold, tile_dets))??;
            let t2 = Instant::now();
            collect(&self.tile_dets, &self.letterboxes[i], &self.regions[i], frame.width, frame.height, tiled, out);
            timing.infer_secs += (t2 - t1).as_secs_f64();
            timing.post_secs += t2.elapsed().as_secs_f64();
            timing.runs += 1;
        }
        Ok(self.merge(out, timing))
    }

    /// Letterboxes `region` of `frame` on the GPU and copies the model input back to the host
    /// (diagnostics: compares the GPU path with the CPU one).
    pub fn letterbox_on_gpu(&mut self, frame: &YuvFrame<'_>, region: Region, out: &mut [f32]) -> Result<pre::Letterbox, InferError> {
        let gpu_err = |e: crate::gpu::GpuError| InferError::Run(e.to_string());
        let g = self.gpu.as_mut().ok_or_else(|| InferError::Run("no GPU pre-processor".into()))?;
        let source = gpu_source(g, frame, self.opts.gpu_input)?;
        let lb = g.fill(source, frame.width, frame.height, frame.format, region, 0).map_err(gpu_err)?;
        g.download(0, out).map_err(gpu_err)?;
        Ok(lb)
    }
}

