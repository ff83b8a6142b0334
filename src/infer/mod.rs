//! Detection: frames in, player and ball boxes out.
//!
//! [`OnnxDetector`] cuts a frame into regions ([`tiling`]), letterboxes each into the model input
//! ([`pre`]), runs the model ([`onnx`]), decodes its output ([`post`]), maps boxes back to frame
//! pixels, and merges everything with class-aware NMS. All buffers are reused between frames.

pub mod backend;
pub mod manifest;
pub mod onnx;
pub mod post;
pub mod pre;
pub mod providers;
pub mod tiling;
#[cfg(feature = "tensorrt")]
pub mod trt;

use std::path::PathBuf;
use std::time::Instant;

use crate::config::Config;
use crate::frame::{Detection, ObjectClass};
use manifest::{ModelManifest, OutputFormat};
use pre::{Preprocessor, Region, YuvFrame};
use tiling::TilePlan;

/// Why detection failed.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// The ONNX Runtime library could not be loaded.
    #[error("{0}")]
    Runtime(String),
    /// The model file could not be loaded.
    #[error("cannot load model {path}: {message}")]
    Model {
        /// Model path.
        path: PathBuf,
        /// ONNX Runtime's message.
        message: String,
    },
    /// A run failed.
    #[error("inference failed: {0}")]
    Run(String),
    /// The model's output shape does not match its manifest.
    #[error("model output shape {shape:?} does not match the manifest ({expected})")]
    OutputShape {
        /// Shape seen.
        shape: Vec<i64>,
        /// What the manifest implies.
        expected: String,
    },
}

impl InferError {
    /// Whether retrying may help (a run failure might be transient; a missing model never is).
    pub fn is_transient(&self) -> bool {
        matches!(self, InferError::Run(_))
    }
}

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

/// Settings of a detector, taken from `[infer]`.
#[derive(Clone, Debug)]
pub struct DetectorOptions {
    /// Model path.
    pub model: PathBuf,
    /// Its manifest.
    pub manifest: ModelManifest,
    /// Score threshold.
    pub score_threshold: f32,
    /// NMS IoU threshold.
    pub nms_iou_threshold: f32,
    /// Regions to run.
    pub tiles: TilePlan,
    /// ONNX Runtime threads.
    pub threads: usize,
    /// Execution providers.
    pub providers: Vec<String>,
    /// Letterbox on the GPU when the provider is a GPU one.
    pub gpu_preprocess: bool,
}

impl DetectorOptions {
    /// The options in a validated config.
    pub fn from_config(cfg: &Config) -> Self {
        DetectorOptions {
            model: cfg.model_path.clone(),
            manifest: cfg.manifest.clone(),
            score_threshold: cfg.infer.score_threshold,
            nms_iou_threshold: cfg.infer.nms_iou_threshold,
            tiles: TilePlan {
                columns: cfg.infer.tile_columns,
                rows: cfg.infer.tile_rows,
                overlap_frac: cfg.infer.tile_overlap_frac,
                full_frame: cfg.infer.full_frame,
            },
            threads: cfg.infer.threads,
            providers: cfg.infer.providers.clone(),
            gpu_preprocess: cfg.infer.gpu_preprocess,
        }
    }
}

/// How a frame reaches the GPU pre-processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuInput {
    /// Read in place from device-mapped pinned memory when the frame lives there.
    Mapped,
    /// One explicit host-to-device copy per frame.
    Copy,
}

/// A YOLO-family detector on ONNX Runtime.
pub struct OnnxDetector {
    model: backend::Backend,
    pre: Preprocessor,
    opts: DetectorOptions,
    class_table: Vec<Option<ObjectClass>>,
    input: Vec<f32>,
    regions: Vec<Region>,
    regions_for: (u32, u32),
    tile_dets: Vec<Detection>,
    #[cfg(feature = "cuda")]
    gpu: Option<crate::gpu::GpuPreprocessor>,
    #[cfg(feature = "cuda")]
    letterboxes: Vec<pre::Letterbox>,
    gpu_input: GpuInput,
}

impl OnnxDetector {
    /// Loads the model.
    pub fn new(opts: DetectorOptions) -> Result<Self, InferError> {
        let m = &opts.manifest;
        let model = backend::Backend::load(&opts.model, m, opts.threads, &opts.providers)?;
        let pre = Preprocessor::new(m);
        let input = vec![0.0; pre.input_len()];
        // A native TensorRT engine always takes its input in GPU memory.
        #[cfg(feature = "cuda")]
        let gpu = if model.provider() != "tensorrt-native" && (model.provider() == "cpu" || !opts.gpu_preprocess) {
            None
        } else {
            let regions = (opts.tiles.columns * opts.tiles.rows + 1) as usize;
            match crate::gpu::Gpu::try_new(0).and_then(|g| crate::gpu::GpuPreprocessor::new(&g, m, regions, crate::ring::FrameSlot::bytes_for(1920, 1080))) {
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
        Ok(OnnxDetector {
            #[cfg(feature = "cuda")]
            gpu,
            #[cfg(feature = "cuda")]
            letterboxes: Vec::with_capacity(65),
            gpu_input: GpuInput::Mapped,
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
        self.gpu_input = mode;
    }

    /// Where pre-processing runs: `gpu` or `cpu`.
    pub fn preprocess_device(&self) -> &'static str {
        #[cfg(feature = "cuda")]
        if self.gpu.is_some() {
            return "gpu";
        }
        "cpu"
    }

    /// The execution provider in use.
    pub fn provider(&self) -> &'static str {
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
fn collect(tile_dets: &[Detection], lb: &pre::Letterbox, region: &Region, width: u32, height: u32, tiled: bool, out: &mut Vec<Detection>) {
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

/// Where the GPU reads `frame`: in place from mapped pinned memory, or after one upload.
#[cfg(feature = "cuda")]
fn gpu_source(g: &mut crate::gpu::GpuPreprocessor, frame: &YuvFrame<'_>, mode: GpuInput) -> Result<crate::gpu::preprocess::GpuFrame, InferError> {
    match (frame.device, mode) {
        (Some(ptr), GpuInput::Mapped) => Ok(crate::gpu::preprocess::GpuFrame::Device(ptr)),
        _ => g.upload(frame.data).map_err(|e| InferError::Run(e.to_string())),
    }
}

#[cfg(feature = "cuda")]
impl OnnxDetector {
    /// The GPU path: letterbox every region with one kernel launch each (input read in place from
    /// mapped memory, or after one upload), then run the model on each region's device buffer.
    fn detect_gpu(&mut self, frame: &YuvFrame<'_>, out: &mut Vec<Detection>) -> Result<DetectTiming, InferError> {
        let mut timing = DetectTiming::default();
        let tiled = self.regions.len() > 1;
        let t0 = Instant::now();
        let gpu_err = |e: crate::gpu::GpuError| InferError::Run(e.to_string());
        let Some(g) = self.gpu.as_mut() else { return Err(InferError::Run("no GPU pre-processor".into())) };
        let source = gpu_source(g, frame, self.gpu_input)?;
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

    /// Letterboxes region `index` of the current plan on the GPU and copies it back (tests).
    pub fn gpu_letterbox_for_test(&mut self, frame: &YuvFrame<'_>, region: Region, out: &mut [f32]) -> Result<pre::Letterbox, InferError> {
        let gpu_err = |e: crate::gpu::GpuError| InferError::Run(e.to_string());
        let g = self.gpu.as_mut().ok_or_else(|| InferError::Run("no GPU pre-processor".into()))?;
        let source = gpu_source(g, frame, self.gpu_input)?;
        let lb = g.fill(source, frame.width, frame.height, frame.format, region, 0).map_err(gpu_err)?;
        g.download(0, out).map_err(gpu_err)?;
        Ok(lb)
    }
}

/// Decodes one output according to the manifest; an error when its shape does not match.
fn decode(
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
