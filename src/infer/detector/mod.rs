//! The detector: every region of a frame (tiles and the whole frame) letterboxed into one batch
//! tensor, run through the model in one call (models with a fixed batch of 1: one call per
//! region), decoded, mapped back to frame pixels, and merged with NMS (people across roles, the ball apart). The CPU and
//! GPU paths differ only in where the batch is letterboxed. All buffers are reused between frames.

use std::time::Instant;

mod finder_pass;
mod focus;
#[cfg(feature = "cuda")]
mod gpu;

use super::backend::Backend;
use super::ball_finder::{BallFinder, BallFinderOptions};
use super::error::InferError;
use super::manifest::{ModelManifest, OutputFormat};
use super::options::{DetectorOptions, Device, GpuInput, Provider};
use super::post::{self, Thresholds};
use super::pre::{Letterbox, Preprocessor, Region, YuvFrame};
use super::tiling::{self, TilePlan};
use crate::frame::{Detection, ObjectClass};
use finder_pass::FinderPass;

/// Time spent in each step of one frame's detection.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DetectTiming {
    /// Letterboxing and colour conversion, seconds.
    pub pre_secs: f64,
    /// Model runs, seconds.
    pub infer_secs: f64,
    /// Output decoding and NMS, seconds.
    pub post_secs: f64,
    /// Model calls in this frame.
    pub runs: u32,
    /// Images (regions) the model saw in this frame, the padding of a held batch shape included.
    pub images: u32,
}

/// Where a batch waits for the model.
#[derive(Clone, Copy, Debug)]
enum BatchInput {
    /// In the detector's host buffer.
    Host,
    /// In GPU memory at this address.
    #[cfg_attr(not(feature = "cuda"), expect(dead_code))]
    Device(u64),
}

/// A YOLO-family detector: tiles, letterbox, model run (ONNX Runtime or TensorRT), decode, NMS.
pub struct Detector {
    model: Backend,
    pre: Preprocessor,
    opts: DetectorOptions,
    class_table: Vec<Option<ObjectClass>>,
    /// Host batch: `batch_capacity` inputs back to back.
    input: Vec<f32>,
    regions: Vec<Region>,
    letterboxes: Vec<Letterbox>,
    regions_for: (u32, u32),
    /// Most images per model call: 1 for a fixed-batch model.
    batch_limit: usize,
    tile_dets: Vec<Detection>,
    /// The ball's second look, when on.
    focus: Option<Box<focus::BallFocus>>,
    /// A second-look detector: balls only.
    ball_only: bool,
    /// The frame size for which the second look was last decided (and logged).
    focus_decided_for: (u32, u32),
    /// Whether the second look adds detail at that size.
    focus_adds_detail: bool,
    /// Fewest images of one model call, padded when fewer wait (see [`Detector::hold_batch_shape`]).
    steady: SteadyBatch,
    /// The ball finder, when on: after the detector on every frame, where the detector runs.
    finder: Option<FinderPass>,
    #[cfg(feature = "cuda")]
    gpu: Option<super::gpu_pre::GpuPreprocessor>,
}

/// The batch shape every model call keeps on a GPU provider: a call with fewer images runs at
/// this shape all the same (the extra slots are not decoded). ONNX Runtime's CUDA convolutions
/// set themselves up again whenever the input shape differs from their last call, about a second
/// for the football model on an H100: a shape that changes from call to call (one to eight
/// cameras' frames) makes every call pay it. Padding costs the GPU a little arithmetic instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SteadyBatch {
    /// Frames per call (a shared detector: the cameras it serves).
    frames: usize,
    /// Images per call (the ball's second look: its most regions).
    images: usize,
}

/// Most regions a plan can make: an 8 x 8 grid and the whole frame.
const MAX_REGIONS: usize = 65;
/// Most images in one call of a dynamic-batch model without a `max_batch` (several streams'
/// regions together); larger batches are split into equal calls.
const MAX_BATCH: usize = 128;

/// Loads the ball finder where the detector runs, reading frames on the GPU as the detector does
/// (`gpu_input`); a model that does not load names its key.
fn load_finder(opts: BallFinderOptions, gpu_input: GpuInput) -> Result<BallFinder, InferError> {
    let model = opts.model.clone();
    let mut finder = BallFinder::new(opts).map_err(|e| match e {
        InferError::Model { path, message } => {
            InferError::Model { path, message: format!("{message} (infer.ball_finder_model; \"\" turns it off)") }
        }
        other => other,
    })?;
    finder.set_gpu_input(gpu_input);
    tracing::info!(
        model = %model.display(),
        provider = finder.provider().as_str(),
        "The ball looked for in the whole frame at full resolution, after the detector."
    );
    Ok(finder)
}

/// Images per call when `jobs` images are split into equal calls of at most `limit`: one batch
/// shape in the steady state (a new shape makes the runtime plan and allocate again).
fn per_call(jobs: usize, limit: usize) -> usize {
    let limit = limit.max(1);
    let calls = jobs.div_ceil(limit).max(1);
    jobs.div_ceil(calls).max(1)
}

impl Detector {
    /// Loads the model (and the ball's second-look model and the ball finder, when they are on).
    pub fn new(opts: DetectorOptions) -> Result<Self, InferError> {
        let focus = opts.ball_focus.as_ref().map(|f| focus::BallFocus::new(&opts, f)).transpose()?;
        if let Some(f) = &opts.ball_focus {
            tracing::info!(model = %f.model.display(), regions = f.regions, zoom = f.zoom, "The ball gets a second look where it is expected.");
        }
        let finder = opts.ball_finder.clone().map(|f| load_finder(f, opts.gpu_input)).transpose()?;
        let mut detector = Self::build(opts, false)?;
        detector.focus = focus.map(Box::new);
        detector.finder = finder.map(FinderPass::new);
        Ok(detector)
    }

    /// Loads one model; `ball_only` for a second-look detector.
    fn build(opts: DetectorOptions, ball_only: bool) -> Result<Self, InferError> {
        let m = &opts.manifest;
        let model = Backend::load(&opts.model, m, opts.threads, &opts.providers, opts.io_binding, opts.cuda_graph)?;
        let pre = Preprocessor::new(m);
        let batch_limit = if m.dynamic_batch { m.max_batch.unwrap_or(MAX_BATCH).clamp(1, MAX_BATCH) } else { 1 };
        let planned = opts.tiles.region_count();
        if batch_limit == 1 && planned > 1 {
            tracing::info!(model = %opts.model.display(), regions = planned, "The model takes one image per call (no dynamic_batch in its manifest): one call per region.");
        } else {
            tracing::info!(regions = planned, batch_limit, "All regions of a frame run as one batch.");
        }
        #[cfg(feature = "cuda")]
        let gpu = gpu::preprocessor_for(&model, &opts, planned.min(batch_limit));
        Ok(Detector {
            #[cfg(feature = "cuda")]
            gpu,
            model,
            class_table: m.class_table(),
            input: Vec::new(),
            pre,
            regions: Vec::with_capacity(MAX_REGIONS),
            letterboxes: Vec::with_capacity(MAX_REGIONS),
            regions_for: (0, 0),
            batch_limit,
            tile_dets: Vec::with_capacity(512),
            focus: None,
            ball_only,
            focus_decided_for: (0, 0),
            focus_adds_detail: false,
            steady: SteadyBatch::default(),
            finder: None,
            opts,
        })
    }

    /// The scores decoded: with a second look, weak ball candidates too (dropped after it); a
    /// second-look detector decodes balls alone.
    fn thresholds(&self) -> Thresholds {
        let t = self.opts.score_threshold;
        match (self.ball_only, self.focus.is_some()) {
            (true, _) => Thresholds { people: f32::INFINITY, ball: t },
            (false, true) => Thresholds { people: t, ball: t.min(focus::CANDIDATE_SCORE) },
            (false, false) => Thresholds::all(t),
        }
    }

    /// Changes thresholds and tiling without reloading the model.
    pub fn set_options(&mut self, score_threshold: f32, nms_iou_threshold: f32, tiles: TilePlan) {
        self.opts.score_threshold = score_threshold;
        self.opts.nms_iou_threshold = nms_iou_threshold;
        if let Some(f) = self.focus.as_mut() {
            f.set_score_threshold(score_threshold, nms_iou_threshold);
        }
        if self.opts.tiles != tiles {
            self.opts.tiles = tiles;
            self.regions_for = (0, 0);
        }
    }

    /// Keeps one batch shape for calls of up to `frames` frames (a shared detector serving
    /// `frames` cameras): fewer frames are padded to it. Only on a GPU provider, where a change
    /// of shape costs a set-up (see [`SteadyBatch`]); on the CPU padding would cost compute and
    /// a change of shape costs nothing. Returns whether the shape is held.
    pub fn hold_batch_shape(&mut self, frames: usize) -> bool {
        let hold = self.model.provider().is_gpu() && frames > 1;
        self.pad_batches_to(if hold { frames } else { 0 });
        hold
    }

    /// Runs every call at the shape of `frames` frames whatever the provider (0: each call at its
    /// own size); [`Detector::hold_batch_shape`] chooses it for a GPU.
    pub fn pad_batches_to(&mut self, frames: usize) {
        self.steady.frames = frames;
    }

    /// Keeps one batch shape of `images` images for every call (the ball's second look, whose
    /// regions vary from frame to frame); GPU providers only, as [`Detector::hold_batch_shape`].
    fn hold_batch_images(&mut self, images: usize) {
        let hold = self.model.provider().is_gpu() && images > 1;
        self.steady.images = if hold { images } else { 0 };
    }

    /// Chooses how frames reach the GPU (mapped read or explicit copy); no effect on the CPU path.
    pub fn set_gpu_input(&mut self, mode: GpuInput) {
        self.opts.gpu_input = mode;
        if let Some(f) = self.finder.as_mut() {
            f.set_gpu_input(mode);
        }
    }

    /// Whether the ball finder runs after the detector.
    pub fn finds_the_ball(&self) -> bool {
        self.finder.is_some()
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

    /// Regions (model images) per frame of the given size.
    pub fn regions_per_frame(&mut self, width: u32, height: u32) -> usize {
        self.plan(width, height, 1);
        self.regions.len()
    }

    /// Plans the regions for a frame size and room for `frames` frames per call; buffers grow
    /// here, on a change of size, tiling or frame count only.
    fn plan(&mut self, width: u32, height: u32, frames: usize) {
        if self.regions_for != (width, height) {
            self.opts.tiles.regions(width, height, &mut self.regions);
            self.regions_for = (width, height);
        }
        let jobs = self.regions.len() * frames.max(1);
        if self.letterboxes.len() < jobs {
            self.letterboxes.resize(jobs, Letterbox::fit(Region { x: 0, y: 0, w: 1, h: 1 }, 1, 1));
        }
        let batch = per_call(jobs.max(self.steady.images), self.batch_limit);
        if self.input.len() < batch * self.pre.input_len() {
            self.input.resize(batch * self.pre.input_len(), 0.0);
        }
        #[cfg(feature = "cuda")]
        self.grow_gpu_batch(batch);
    }

    /// Runs the model on every region of the frame; `out` is cleared and filled with merged detections.
    pub fn detect(&mut self, frame: &YuvFrame<'_>, out: &mut Vec<Detection>) -> Result<DetectTiming, InferError> {
        self.detect_with_hint(frame, None, out)
    }

    /// [`Detector::detect`], with the ball's second look also at `ball_hint` (frame pixels: where
    /// the ball tracker expects the ball).
    pub fn detect_with_hint(
        &mut self,
        frame: &YuvFrame<'_>,
        ball_hint: Option<(f32, f32)>,
        out: &mut Vec<Detection>,
    ) -> Result<DetectTiming, InferError> {
        self.detect_many_with_hints(std::slice::from_ref(frame), &[ball_hint], std::slice::from_mut(out))
    }

    /// Whether the ball gets a second look.
    pub fn looks_twice_at_the_ball(&self) -> bool {
        self.focus.is_some()
    }

    /// Runs a second-look detector on `regions` of one frame (instead of its tiling plan).
    fn detect_regions(
        &mut self,
        frame: &YuvFrame<'_>,
        regions: &[Region],
        out: &mut Vec<Detection>,
    ) -> Result<DetectTiming, InferError> {
        self.regions.clear();
        self.regions.extend_from_slice(regions);
        self.regions_for = (frame.width, frame.height);
        out.clear();
        let result = self.run_planned(std::slice::from_ref(frame), std::slice::from_mut(out));
        // The next planned call plans its own regions again.
        self.regions_for = (0, 0);
        result
    }

    /// Runs the model on every region of several frames of one size (several streams) in as few
    /// calls as the model's batch allows; `outs[i]` is cleared and filled with frame `i`'s
    /// merged detections.
    pub fn detect_many(
        &mut self,
        frames: &[YuvFrame<'_>],
        outs: &mut [Vec<Detection>],
    ) -> Result<DetectTiming, InferError> {
        self.detect_many_with_hints(frames, &[], outs)
    }

    /// [`Detector::detect_many`] with a ball hint per frame (`hints[i]` for frame `i`; missing
    /// ones are none): the whole-frame pass, the ball's second look frame by frame, then the ball
    /// finder on the frames together.
    pub fn detect_many_with_hints(
        &mut self,
        frames: &[YuvFrame<'_>],
        hints: &[Option<(f32, f32)>],
        outs: &mut [Vec<Detection>],
    ) -> Result<DetectTiming, InferError> {
        let mut timing = self.detect_and_look(frames, hints, outs)?;
        if let Some(pass) = self.finder.as_mut() {
            // The manifest's `max_batch` frames a call on a GPU (1 as shipped), one on the CPU.
            timing.infer_secs += pass.run(frames, outs, self.opts.score_threshold);
            timing.runs += 1;
        }
        Ok(timing)
    }

    /// The whole-frame pass, then the ball's second look frame by frame.
    fn detect_and_look(
        &mut self,
        frames: &[YuvFrame<'_>],
        hints: &[Option<(f32, f32)>],
        outs: &mut [Vec<Detection>],
    ) -> Result<DetectTiming, InferError> {
        let Some(first) = frames.first() else { return Ok(DetectTiming::default()) };
        if outs.len() < frames.len() || frames.iter().any(|f| (f.width, f.height) != (first.width, first.height)) {
            return Err(InferError::Run("detect_many needs one output per frame and frames of one size".into()));
        }
        for out in outs.iter_mut() {
            out.clear();
        }
        let mut timing = self.run_planned(frames, outs)?;
        let threshold = self.opts.score_threshold;
        if self.focus.is_some() && !self.focus_runs_at(first.width, first.height) {
            // The whole-frame pass kept weak balls as places to look: none is looked at.
            for out in outs.iter_mut() {
                out.retain(|d| d.class != ObjectClass::Ball || d.score >= threshold);
            }
            return Ok(timing);
        }
        let Some(focus) = self.focus.as_mut() else { return Ok(timing) };
        for (i, (frame, out)) in frames.iter().zip(outs.iter_mut()).enumerate() {
            let t = focus.look(frame, hints.get(i).copied().flatten(), out)?;
            let started = Instant::now();
            post::nms_in_place(out, self.opts.nms_iou_threshold);
            // Weak candidates served as places to look; only balls above the threshold stay.
            out.retain(|d| d.class != ObjectClass::Ball || d.score >= threshold);
            timing.pre_secs += t.pre_secs;
            timing.infer_secs += t.infer_secs;
            timing.post_secs += t.post_secs + started.elapsed().as_secs_f64();
            timing.runs += t.runs;
            timing.images += t.images;
        }
        Ok(timing)
    }

    /// Whether the second look runs on frames of this size (decided, and logged, once per size).
    fn focus_runs_at(&mut self, width: u32, height: u32) -> bool {
        let Some(focus) = self.focus.as_ref() else { return false };
        if self.focus_decided_for != (width, height) {
            let (iw, ih) = (self.opts.manifest.input_width as f32, self.opts.manifest.input_height as f32);
            let scale =
                self.regions.iter().map(|r| (iw / r.w as f32).min(ih / r.h as f32)).fold(f32::INFINITY, f32::min);
            self.focus_adds_detail = focus.adds_detail(scale);
            self.focus_decided_for = (width, height);
            if self.focus_adds_detail {
                tracing::info!(width, height, scale, "The ball gets a second look at full resolution.");
            } else {
                tracing::info!(
                    width,
                    height,
                    scale,
                    "No second look at the ball: the whole-frame pass already sees these frames at full resolution."
                );
            }
        }
        self.focus_adds_detail
    }

    /// Runs the planned regions of `frames` (cleared outputs) in as few calls as the batch allows.
    fn run_planned(
        &mut self,
        frames: &[YuvFrame<'_>],
        outs: &mut [Vec<Detection>],
    ) -> Result<DetectTiming, InferError> {
        let Some(first) = frames.first() else { return Ok(DetectTiming::default()) };
        let planned_frames = frames.len().max(self.steady.frames);
        self.plan(first.width, first.height, planned_frames);
        let jobs = self.regions.len() * frames.len();
        let steady_jobs = (self.regions.len() * planned_frames).max(self.steady.images);
        let per_call = per_call(steady_jobs.max(jobs), self.batch_limit);
        let held = self.steady != SteadyBatch::default();
        let mut timing = DetectTiming::default();
        let mut start = 0;
        while start < jobs {
            let count = per_call.min(jobs - start);
            // With a held shape the last call is padded: its extra slots hold older inputs.
            let images = if held { per_call } else { count };
            let t0 = Instant::now();
            let input = self.letterbox_batch(frames, start, count)?;
            let t1 = Instant::now();
            let decode_secs = self.run_batch(input, (first.width, first.height), (start, count, images), outs)?;
            timing.pre_secs += (t1 - t0).as_secs_f64();
            timing.infer_secs += t1.elapsed().as_secs_f64() - decode_secs;
            timing.post_secs += decode_secs;
            timing.runs += 1;
            timing.images += images as u32;
            start += count;
        }
        let t = Instant::now();
        for out in outs.iter_mut() {
            post::nms_in_place(out, self.opts.nms_iou_threshold);
        }
        timing.post_secs += t.elapsed().as_secs_f64();
        Ok(timing)
    }

    /// The model alone on one letterboxed batch of `frame`'s regions, `runs` times: seconds per
    /// call and images per call (no pre- or post-processing timed).
    pub fn time_model(
        &mut self,
        frame: &YuvFrame<'_>,
        frames_per_call: usize,
        runs: u32,
    ) -> Result<(f64, usize), InferError> {
        let copies = vec![*frame; frames_per_call.max(1)];
        self.plan(frame.width, frame.height, copies.len());
        let count = per_call(self.regions.len() * copies.len(), self.batch_limit);
        let input = self.letterbox_batch(&copies, 0, count)?;
        let call = |model: &mut Backend, host: &[f32]| match input {
            BatchInput::Host => model.run(host, count, |_, v| v.len()),
            BatchInput::Device(ptr) => model.run_device(ptr, count, |_, v| v.len()),
        };
        let host_len = count * self.pre.input_len();
        for _ in 0..3 {
            call(&mut self.model, &self.input[..host_len])?;
        }
        let t = Instant::now();
        for _ in 0..runs.max(1) {
            call(&mut self.model, &self.input[..host_len])?;
        }
        Ok((t.elapsed().as_secs_f64() / runs.max(1) as f64, count))
    }

    /// Letterboxes jobs `start..start + count` (job = frame * regions + region) into the batch
    /// (on the GPU when it pre-processes).
    fn letterbox_batch(
        &mut self,
        frames: &[YuvFrame<'_>],
        start: usize,
        count: usize,
    ) -> Result<BatchInput, InferError> {
        #[cfg(feature = "cuda")]
        if self.gpu.is_some() {
            return self.letterbox_batch_gpu(frames, start, count);
        }
        let (len, per_frame) = (self.pre.input_len(), self.regions.len());
        if frames.iter().any(|f| !f.on_host()) {
            return Err(InferError::Run("the frame is in GPU memory but pre-processing runs on the CPU".into()));
        }
        for j in 0..count {
            let job = start + j;
            let region = self.regions[job % per_frame];
            self.letterboxes[job] =
                self.pre.fill(&frames[job / per_frame], region, &mut self.input[j * len..(j + 1) * len]);
        }
        Ok(BatchInput::Host)
    }

    /// One model call on a letterboxed batch; decodes each image and appends its detections in
    /// frame pixels to its frame's output. Returns the seconds spent decoding.
    /// `jobs` is (first job, jobs to decode, images in the call): the call may carry more images
    /// than it decodes (a held batch shape).
    fn run_batch(
        &mut self,
        input: BatchInput,
        (width, height): (u32, u32),
        (start, count, images): (usize, usize, usize),
        outs: &mut [Vec<Detection>],
    ) -> Result<f64, InferError> {
        let threshold = self.thresholds();
        let Detector { model, input: host, opts, class_table, tile_dets, letterboxes, regions, pre, .. } = self;
        let per_frame = regions.len();
        let tiled = per_frame > 1;
        let m = &opts.manifest;
        let read = |shape: &[i64], values: &[f32]| -> Result<f64, InferError> {
            let t = Instant::now();
            let per_image = check_output(m, shape, values.len(), images)?;
            for j in 0..count {
                let job = start + j;
                tile_dets.clear();
                decode(m, &shape[1..], &values[j * per_image..(j + 1) * per_image], class_table, threshold, tile_dets);
                collect(
                    tile_dets,
                    &letterboxes[job],
                    &regions[job % per_frame],
                    width,
                    height,
                    tiled,
                    &mut outs[job / per_frame],
                );
            }
            Ok(t.elapsed().as_secs_f64())
        };
        match input {
            BatchInput::Host => model.run(&host[..images * pre.input_len()], images, read)?,
            BatchInput::Device(ptr) => model.run_device(ptr, images, read)?,
        }
    }
}

/// Maps one region's detections to frame pixels and appends them, dropping people cut by an
/// inner tile border (a neighbouring tile or the whole-frame pass sees them whole).
fn collect(
    tile_dets: &[Detection],
    lb: &Letterbox,
    region: &Region,
    width: u32,
    height: u32,
    tiled: bool,
    out: &mut Vec<Detection>,
) {
    let whole_frame = region.w == width && region.h == height;
    for d in tile_dets {
        let mut d = *d;
        d.bbox = lb.to_frame(d.bbox).clipped(width as f32, height as f32);
        if d.bbox.area() <= 0.0 {
            continue;
        }
        if tiled
            && !whole_frame
            && d.class.is_person()
            && tiling::touches_inner_edge(&d.bbox, region, width, height, 2.0)
        {
            continue;
        }
        out.push(d);
    }
}

/// Checks a batch output's shape against the manifest; returns the values per image.
fn check_output(m: &ModelManifest, shape: &[i64], values: usize, batch: usize) -> Result<usize, InferError> {
    let (ok, expected) = match m.format {
        OutputFormat::Yolox => {
            let rows: usize = m.strides.iter().map(|&s| ((m.input_width / s) * (m.input_height / s)) as usize).sum();
            let ok = shape.len() == 3 && shape[1] as usize == rows && shape[2] as usize == 5 + m.num_classes;
            (ok, format!("[{batch}, {rows}, {}]", 5 + m.num_classes))
        }
        OutputFormat::Yolov8 => {
            let ok = shape.len() == 3 && shape[1] as usize == 4 + m.num_classes && shape[2] > 0;
            (ok, format!("[{batch}, {}, N]", 4 + m.num_classes))
        }
    };
    if !ok || shape[0] != batch as i64 || !values.is_multiple_of(batch) {
        return Err(InferError::OutputShape { shape: shape.to_vec(), expected });
    }
    Ok(values / batch)
}

/// Decodes one image's output (`shape` without the batch dimension), already checked.
fn decode(
    m: &ModelManifest,
    shape: &[i64],
    values: &[f32],
    class_table: &[Option<ObjectClass>],
    threshold: Thresholds,
    out: &mut Vec<Detection>,
) {
    match m.format {
        OutputFormat::Yolox => {
            post::decode_yolox(values, m.input_width, m.input_height, &m.strides, class_table, threshold, out)
        }
        OutputFormat::Yolov8 => post::decode_yolov8(values, shape[1] as usize, class_table, threshold, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_batches_split_into_equal_calls() {
        assert_eq!(per_call(12, 128), 12);
        assert_eq!(per_call(96, 65), 48);
        assert_eq!(per_call(72, 65), 36);
        assert_eq!(per_call(5, 1), 1);
        assert_eq!(per_call(130, 128), 65);
    }

    #[test]
    fn an_output_of_the_wrong_batch_or_shape_is_a_clear_error() {
        let m = ModelManifest::load_beside(std::path::Path::new("models/yolox_nano.onnx")).unwrap();
        let cols = 5 + m.num_classes as i64;
        assert_eq!(check_output(&m, &[3, 3549, cols], 3 * 3549 * cols as usize, 3).unwrap(), 3549 * cols as usize);
        assert!(matches!(
            check_output(&m, &[1, 3549, cols], 3549 * cols as usize, 3),
            Err(InferError::OutputShape { .. })
        ));
        assert!(matches!(check_output(&m, &[3, 3549, 85], 3 * 3549 * 85, 3), Err(InferError::OutputShape { .. })));
    }
}
