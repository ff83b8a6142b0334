//! The detector: every region of a frame letterboxed, run through the model, decoded, mapped
//! back to frame pixels, and merged with class-aware NMS. All buffers are reused between frames.

use std::time::Instant;

#[cfg(feature = "cuda")]
mod gpu;

use super::backend::Backend;
use super::error::InferError;
use super::manifest::{ModelManifest, OutputFormat};
use super::options::{DetectorOptions, Device, GpuInput, Provider};
use super::post;
use super::pre::{self, Preprocessor, Region, YuvFrame};
use super::tiling::{self, TilePlan};
use crate::frame::{Detection, ObjectClass};

/// Time spent in each step of one frame's detection.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DetectTiming {
    /// Letterboxing and colour conversion, seconds.
    pub pre_secs: f64,
    /// Model runs, seconds.
    pub infer_secs: f64,
    /// Output decoding and NMS, seconds.
    pub post_secs: f64,
    /// Model runs (regions) in this frame.
    pub runs: u32,
}

/// A YOLO-family detector: tiles, letterbox, model run (ONNX Runtime or TensorRT), decode, NMS.
pub struct Detector {
    model: Backend,
    pre: Preprocessor,
    opts: DetectorOptions,
    class_table: Vec<Option<ObjectClass>>,
    input: Vec<f32>,
    regions: Vec<Region>,
    regions_for: (u32, u32),
    tile_dets: Vec<Detection>,
    #[cfg(feature = "cuda")]
    gpu: Option<super::gpu_pre::GpuPreprocessor>,
    #[cfg(feature = "cuda")]
    letterboxes: Vec<pre::Letterbox>,
}

impl Detector {
    /// Loads the model.
    pub fn new(opts: DetectorOptions) -> Result<Self, InferError> {
        let m = &opts.manifest;
        let model = Backend::load(&opts.model, m, opts.threads, &opts.providers)?;
        let pre = Preprocessor::new(m);
        let input = vec![0.0; pre.input_len()];
        // A native TensorRT engine always takes its input in GPU memory.
        #[cfg(feature = "cuda")]
        let gpu = if model.provider() != Provider::TensorrtNative && (!model.provider().is_gpu() || !opts.gpu_preprocess) {
            None
        } else {
            let regions = (opts.tiles.columns * opts.tiles.rows + 1) as usize;
            match crate::gpu::Gpu::try_new(0).and_then(|g| super::gpu_pre::GpuPreprocessor::new(&g, m, regions, crate::frame::yuv420_bytes(1920, 1080))) {
                Ok(p) => {
                    tracing::info!("Pre-processing on the GPU (NVRTC kernel); model input stays in GPU memory.");
                    Some(p)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "GPU pre-processing unavailable; letterboxing on the CPU.");
                    None
                }
            }
        };
        Ok(Detector {
            #[cfg(feature = "cuda")]
            gpu,
            #[cfg(feature = "cuda")]
            letterboxes: Vec::with_capacity(65),
            model,
            class_table: m.class_table(),
            pre,
            input,
            regions: Vec::with_capacity(32),
            regions_for: (0, 0),
            tile_dets: Vec::with_capacity(512),
            opts,
        })
    }

    /// Changes thresholds and tiling without reloading the model.
    pub fn set_options(&mut self, score_threshold: f32, nms_iou_threshold: f32, tiles: TilePlan) {
        self.opts.score_threshold = score_threshold;
        self.opts.nms_iou_threshold = nms_iou_threshold;
        if self.opts.tiles != tiles {
            #[cfg(feature = "cuda")]
            if self.gpu.is_some() && tiles.columns * tiles.rows > self.opts.tiles.columns * self.opts.tiles.rows {
                // More regions than the GPU buffers hold: fall back to CPU letterboxing.
                tracing::warn!("More tiles than the GPU pre-processor was sized for; letterboxing on the CPU from now on.");
                self.gpu = None;
            }
            self.opts.tiles = tiles;
            self.regions_for = (0, 0);
        }
    }

    /// Chooses how frames reach the GPU (mapped read or explicit copy); no effect on the CPU path.
    pub fn set_gpu_input(&mut self, mode: GpuInput) {
        self.opts.gpu_input = mode;
    }

    /// Where pre-processing runs.
    pub fn preprocess_device(&self) -> Device {
        #[cfg(feature = "cuda")]
        if self.gpu.is_some() {
            return Device::Gpu;
        }
        Device::Cpu
    }

    /// The execution provider in use.
    pub fn provider(&self) -> Provider {
        self.model.provider()
    }

    /// Number of model runs per frame of the given size.
    pub fn runs_per_frame(&mut self, width: u32, height: u32) -> usize {
        self.plan(width, height);
        self.regions.len()
    }

    /// Merges all regions' detections (class-aware NMS) and accounts the time to post-processing.
    fn merge(&self, out: &mut Vec<Detection>, mut timing: DetectTiming) -> DetectTiming {
        let t = Instant::now();
        post::nms_in_place(out, self.opts.nms_iou_threshold);
        timing.post_secs += t.elapsed().as_secs_f64();
        timing
    }

    fn plan(&mut self, width: u32, height: u32) {
        if self.regions_for != (width, height) {
            self.opts.tiles.regions(width, height, &mut self.regions);
            self.regions_for = (width, height);
        }
    }

    /// Runs the model on every region of the frame; `out` is cleared and filled with merged detections.
    pub fn detect(&mut self, frame: &YuvFrame<'_>, out: &mut Vec<Detection>) -> Result<DetectTiming, InferError> {
        out.clear();
        self.plan(frame.width, frame.height);
        #[cfg(feature = "cuda")]
        if self.gpu.is_some() {
            return self.detect_gpu(frame, out);
        }
        let mut timing = DetectTiming::default();
        let tiled = self.regions.len() > 1;
        for ri in 0..self.regions.len() {
            let region = self.regions[ri];
            let t0 = Instant::now();
            let lb = self.pre.fill(frame, region, &mut self.input);
            let t1 = Instant::now();
            let m = &self.opts.manifest;
            let (class_table, threshold, tile_dets) = (&self.class_table, self.opts.score_threshold, &mut self.tile_dets);
            tile_dets.clear();
            self.model.run(&self.input, |shape, values| decode(m, shape, values, class_table, threshold, tile_dets))??;
            let t2 = Instant::now();
            collect(&self.tile_dets, &lb, &region, frame.width, frame.height, tiled, out);
            timing.pre_secs += (t1 - t0).as_secs_f64();
            timing.infer_secs += (t2 - t1).as_secs_f64();
            timing.post_secs += t2.elapsed().as_secs_f64();
            timing.runs += 1;
        }
        Ok(self.merge(out, timing))
    }
}

/// Maps one region's detections to frame pixels and appends them, dropping people cut by an
/// inner tile border (a neighbouring tile or the whole-frame pass sees them whole).
pub(super) fn collect(tile_dets: &[Detection], lb: &pre::Letterbox, region: &Region, width: u32, height: u32, tiled: bool, out: &mut Vec<Detection>) {
    let whole_frame = region.w == width && region.h == height;
    for d in tile_dets {
        let mut d = *d;
        d.bbox = lb.to_frame(d.bbox).clipped(width as f32, height as f32);
        if d.bbox.area() <= 0.0 {
            continue;
        }
        if tiled && !whole_frame && d.class.is_person() && tiling::touches_inner_edge(&d.bbox, region, width, height, 2.0) {
            continue;
        }
        out.push(d);
    }
}

/// Decodes one output according to the manifest; an error when its shape does not match.
pub(super) fn decode(
    m: &ModelManifest,
    shape: &[i64],
    values: &[f32],
    class_table: &[Option<ObjectClass>],
    threshold: f32,
    out: &mut Vec<Detection>,
) -> Result<(), InferError> {
    match m.format {
        OutputFormat::Yolox => {
            let rows: usize = m.strides.iter().map(|&s| ((m.input_width / s) * (m.input_height / s)) as usize).sum();
            let ok = shape.len() == 3 && shape[1] as usize == rows && shape[2] as usize == 5 + m.num_classes;
            if !ok {
                return Err(InferError::OutputShape { shape: shape.to_vec(), expected: format!("[1, {rows}, {}]", 5 + m.num_classes) });
            }
            post::decode_yolox(values, m.input_width, m.input_height, &m.strides, class_table, threshold, out);
        }
        OutputFormat::Yolov8 => {
            let ok = shape.len() == 3 && shape[1] as usize == 4 + m.num_classes;
            if !ok {
                return Err(InferError::OutputShape { shape: shape.to_vec(), expected: format!("[1, {}, N]", 4 + m.num_classes) });
            }
            post::decode_yolov8(values, shape[2] as usize, class_table, threshold, out);
        }
    }
    Ok(())
}
