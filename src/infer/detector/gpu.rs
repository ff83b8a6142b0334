//! The detector's GPU path (feature `cuda`): each region of the batch letterboxed by one kernel
//! launch into consecutive slots of one device buffer, straight from device-mapped ring memory
//! (or after one upload); the model then reads the whole batch where it lies.

use super::{BatchInput, Detector};
use crate::frame::PlaneLayout;
use crate::infer::backend::Backend;
use crate::infer::error::InferError;
use crate::infer::gpu_pre::{GpuFrame, GpuPreprocessor};
use crate::infer::options::{DetectorOptions, Provider};
use crate::infer::pre::{Letterbox, Region, YuvFrame};

/// The GPU pre-processor for `batch` images per call, when the model runs on the GPU (a native
/// TensorRT engine always takes its input there) and pre-processing on the GPU is wanted.
pub(super) fn preprocessor_for(model: &Backend, opts: &DetectorOptions, batch: usize) -> Option<GpuPreprocessor> {
    let provider = model.provider();
    if provider != Provider::TensorrtNative && (!provider.is_gpu() || !opts.gpu_preprocess) {
        return None;
    }
    match crate::gpu::Gpu::try_new(0)
        .and_then(|g| GpuPreprocessor::new(&g, &opts.manifest, batch.max(1), crate::frame::yuv420_bytes(1920, 1080)))
    {
        Ok(p) => {
            tracing::info!(batch, "Pre-processing on the GPU (NVRTC kernel); the model reads the batch in GPU memory.");
            Some(p)
        }
        Err(e) => {
            tracing::warn!(error = %e, "GPU pre-processing unavailable; letterboxing on the CPU.");
            None
        }
    }
}

fn gpu_err(e: crate::gpu::GpuError) -> InferError {
    InferError::Run(e.to_string())
}

impl Detector {
    /// Makes the GPU batch buffer hold `images` (on a change of tiling or stream count only).
    pub(super) fn grow_gpu_batch(&mut self, images: usize) {
        if let Some(g) = &self.gpu
            && g.capacity() < images
        {
            self.gpu = preprocessor_for(&self.model, &self.opts, images);
        }
    }

    /// Letterboxes jobs `start..start + count` into slots `0..count` of the device batch.
    pub(super) fn letterbox_batch_gpu(
        &mut self,
        frames: &[YuvFrame<'_>],
        start: usize,
        count: usize,
    ) -> Result<BatchInput, InferError> {
        let Some(g) = self.gpu.as_mut() else { return Err(InferError::Run("no GPU pre-processor".into())) };
        if g.capacity() < count {
            return Err(InferError::Run(format!(
                "the GPU pre-processor holds {} images, the batch has {count}",
                g.capacity()
            )));
        }
        let per_frame = self.regions.len();
        let mut current: Option<(usize, (GpuFrame, PlaneLayout))> = None;
        for j in 0..count {
            let job = start + j;
            let f = job / per_frame;
            let frame = &frames[f];
            let source = match current {
                Some((cf, src)) if cf == f => src,
                _ => {
                    let src = g.source(frame, self.opts.gpu_input).map_err(gpu_err)?;
                    current = Some((f, src));
                    src
                }
            };
            let (src, layout) = source;
            self.letterboxes[job] = g
                .fill(src, frame.width, frame.height, frame.format, layout, self.regions[job % per_frame], j)
                .map_err(gpu_err)?;
        }
        g.synchronize().map_err(gpu_err)?;
        Ok(BatchInput::Device(g.output_ptr(0)))
    }

    /// Letterboxes `region` of `frame` on the GPU and copies the model input back to the host
    /// (diagnostics: compares the GPU path with the CPU one).
    pub fn letterbox_on_gpu(
        &mut self,
        frame: &YuvFrame<'_>,
        region: Region,
        out: &mut [f32],
    ) -> Result<Letterbox, InferError> {
        let g = self.gpu.as_mut().ok_or_else(|| InferError::Run("no GPU pre-processor".into()))?;
        let (src, layout) = g.source(frame, self.opts.gpu_input).map_err(gpu_err)?;
        let lb = g.fill(src, frame.width, frame.height, frame.format, layout, region, 0).map_err(gpu_err)?;
        g.download(0, out).map_err(gpu_err)?;
        Ok(lb)
    }
}
