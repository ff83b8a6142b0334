//! The ball finder: a small network that looks for the ball alone, in the whole frame at the
//! frame's own resolution.
//!
//! The detector sees the frame shrunk (1080p to 1280x736) and misses about a quarter of the balls
//! at any score: most are 8-10 px wide, a dot the shrink blurs away. The finder reads every pixel
//! (stride 4, with a stride-8 branch for context) and says, for each 4x4 cell, how likely the
//! ball's centre lies there, where in the cell and how large the ball is. Its best peaks join the
//! detector's ball candidates; the ball check, when on, then ranks them all. It belongs to the
//! detector and runs after it, where it runs (1.2 GMAC on 1080p, 0.5 on 720p): one session for
//! every camera a shared detector serves. On a GPU the frame is letterboxed there by the
//! detector's kernel, from the decoder's GPU memory when the frame is kept there, and the model
//! reads its input in place: a 1080p input is 25 MB of floats, whose making and copying on the
//! host cost more than the model (31 fps end to end against 130 on an H100, measured).

mod manifest;

use std::path::PathBuf;

pub use manifest::BallFinderManifest;

use super::error::InferError;
#[cfg(feature = "cuda")]
use super::gpu_pre::{GpuPreprocessor, InputSpec};
use super::onnx::OnnxModel;
use super::options::{GpuInput, Provider};
use super::pre::{Letterbox, Preprocessor, Region, YuvFrame};
use crate::frame::{BBox, Detection, ObjectClass};

/// Output channels: the centre's probability, its offset in the cell (x, y), log width and height.
const OUTPUTS: usize = 5;
/// A peak this close to a detector's ball (its centre inside the ball's box grown by this much of
/// its size) is that ball: the detector's box stays, the better of the two scores is kept.
const SAME_BALL_GROW: f32 = 0.5;

/// How to build a [`BallFinder`].
#[derive(Clone, Debug)]
pub struct BallFinderOptions {
    /// The ONNX model.
    pub model: PathBuf,
    /// Its checked manifest.
    pub manifest: BallFinderManifest,
    /// Where it runs, in order of preference (the detector's: `infer.providers`).
    pub providers: Vec<Provider>,
}

/// A frame size, the model input size it takes, and the pre-processor for it.
type SizedFor = ((u32, u32), (u32, u32), Preprocessor);

/// One peak of the centre map: its probability and cell.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Peak {
    score: f32,
    x: usize,
    y: usize,
}

/// A loaded ball finder with its buffers, sized for the frame size last seen (made again only when
/// the stream's size changes).
pub struct BallFinder {
    model: OnnxModel,
    manifest: BallFinderManifest,
    /// The frame size the buffers are for, the input size and its pre-processor.
    sized_for: Option<SizedFor>,
    input: Vec<f32>,
    /// Every frame's output of the last call, one after another.
    output: Vec<f32>,
    /// Every frame's letterbox of the last call.
    letterboxes: Vec<Letterbox>,
    peaks: Vec<Peak>,
    /// Letterboxing on the GPU where the model runs there, for the current input size.
    #[cfg(feature = "cuda")]
    gpu: Option<GpuPreprocessor>,
    /// It could not be made (no NVRTC, say): the host path serves from then on.
    #[cfg(feature = "cuda")]
    gpu_failed: bool,
    /// How frames in mapped host memory reach the GPU (the detector's choice).
    #[cfg(feature = "cuda")]
    gpu_input: GpuInput,
}

impl BallFinder {
    /// Loads the model where the detector runs: on a GPU (1.2 GMAC on a 1080p frame would take a
    /// CPU core 40 ms, a whole frame period at 25 fps), else on the CPU with one thread (it shares
    /// the cores with the decoder and the detector; 0.5 GMAC on 720p).
    pub fn new(opts: BallFinderOptions) -> Result<Self, InferError> {
        let (w, h) = opts.manifest.input_size(1920, 1080);
        let model = OnnxModel::load(&opts.model, w, h, 1, &opts.providers, false, false)?;
        let top_k = opts.manifest.top_k;
        Ok(BallFinder {
            model,
            manifest: opts.manifest,
            sized_for: None,
            input: Vec::new(),
            output: Vec::new(),
            letterboxes: Vec::new(),
            peaks: Vec::with_capacity(top_k + 1),
            #[cfg(feature = "cuda")]
            gpu: None,
            #[cfg(feature = "cuda")]
            gpu_failed: false,
            #[cfg(feature = "cuda")]
            gpu_input: GpuInput::default(),
        })
    }

    /// Where the model runs.
    pub fn provider(&self) -> Provider {
        self.model.provider()
    }

    /// How frames in mapped host memory reach the GPU (the detector's `infer.gpu_input`).
    #[cfg_attr(not(feature = "cuda"), expect(unused_variables))]
    pub fn set_gpu_input(&mut self, mode: GpuInput) {
        #[cfg(feature = "cuda")]
        {
            self.gpu_input = mode;
        }
    }

    /// Looks for the ball in `frame` and adds its peaks of at least `min_score` (the detector's
    /// threshold) to `dets` as balls: a peak on a detector's ball raises that ball's score to the
    /// peak's if higher, any other is a new ball candidate. Returns how many were added. A frame
    /// in GPU memory is read there when the model runs on the GPU; on the CPU the frame must be
    /// on the host.
    pub fn find(
        &mut self,
        frame: &YuvFrame<'_>,
        dets: &mut Vec<Detection>,
        min_score: f32,
    ) -> Result<usize, InferError> {
        self.find_many(std::slice::from_ref(frame), std::slice::from_mut(dets), min_score)
    }

    /// [`BallFinder::find`] for several frames of one size (the cameras of a shared detector):
    /// on a GPU they are letterboxed into consecutive slots and run the manifest's `max_batch` at a
    /// time (1 as shipped: see its manifest); on the CPU one frame at a time. `outs[i]`
    /// takes frame `i`'s balls. Returns how many were added in all.
    pub fn find_many(
        &mut self,
        frames: &[YuvFrame<'_>],
        outs: &mut [Vec<Detection>],
        min_score: f32,
    ) -> Result<usize, InferError> {
        let Some(first) = frames.first() else { return Ok(0) };
        if outs.len() < frames.len() || frames.iter().any(|f| (f.width, f.height) != (first.width, first.height)) {
            return Err(InferError::Run("the ball finder needs one output per frame and frames of one size".into()));
        }
        let (mut added, most) = (0, self.manifest.max_batch.max(1));
        for (frames, outs) in frames.chunks(most).zip(outs.chunks_mut(most)) {
            added += self.find_batch(frames, outs, min_score)?;
        }
        Ok(added)
    }

    /// [`BallFinder::find_many`] for at most `max_batch` frames.
    fn find_batch(
        &mut self,
        frames: &[YuvFrame<'_>],
        outs: &mut [Vec<Detection>],
        min_score: f32,
    ) -> Result<usize, InferError> {
        self.run(frames)?;
        let (ow, oh) = self.output_size();
        let per_frame = OUTPUTS * ow * oh;
        let stride = self.manifest.stride as usize;
        let floor = self.manifest.min_score.max(min_score);
        let mut added = 0;
        for (i, out) in outs.iter_mut().enumerate().take(frames.len()) {
            let lb = self.letterboxes[i];
            let output = &self.output[i * per_frame..(i + 1) * per_frame];
            // Only cells on the frame's content, not on the padding.
            let (cw, ch) =
                ((lb.content_w as usize).div_ceil(stride).min(ow), (lb.content_h as usize).div_ceil(stride).min(oh));
            collect_peaks(&output[..ow * oh], ow, (cw, ch), floor, self.manifest.top_k, &mut self.peaks);
            added += merge_peaks(&self.peaks, output, (ow, oh), stride, lb, out);
        }
        Ok(added)
    }

    /// Makes the buffers for `frames` (of one size) where the size or the count changed: the
    /// input size and its pre-processor, room for every frame's output and letterbox.
    fn size_for(&mut self, (width, height): (u32, u32), frames: usize) {
        if self.sized_for.as_ref().is_none_or(|(s, _, _)| *s != (width, height)) {
            let m = &self.manifest;
            let input = m.input_size(width, height);
            let pre = Preprocessor::for_input(input, m.color_order, m.normalisation(), m.pad_value);
            self.sized_for = Some(((width, height), input, pre));
            self.output.clear();
            // The GPU letterboxer is made again for the new input size.
            #[cfg(feature = "cuda")]
            {
                self.gpu = None;
            }
        }
        let (ow, oh) = self.output_size();
        let len = frames * OUTPUTS * ow * oh;
        if self.output.len() < len {
            self.output.resize(len, 0.0);
        }
        if self.letterboxes.len() < frames {
            self.letterboxes.resize(frames, Letterbox::fit(Region { x: 0, y: 0, w: 1, h: 1 }, 1, 1));
        }
    }

    /// Pre-processes the whole frames and runs the model; frame `i`'s output lands in
    /// `self.output` at `i` frame outputs in, its letterbox in `self.letterboxes[i]`.
    fn run(&mut self, frames: &[YuvFrame<'_>]) -> Result<(), InferError> {
        let first = &frames[0];
        self.size_for((first.width, first.height), frames.len());
        let Some((_, (iw, ih), pre)) = self.sized_for.as_mut() else {
            return Err(InferError::Run("the ball finder's buffers were not made".into()));
        };
        let whole = Region { x: 0, y: 0, w: first.width, h: first.height };
        let (iw, ih) = (*iw as usize, *ih as usize);
        let stride = self.manifest.stride as usize;
        let per_frame = OUTPUTS * (iw / stride) * (ih / stride);
        let shape = |n: usize| [n as i64, OUTPUTS as i64, (ih / stride) as i64, (iw / stride) as i64];
        #[cfg(feature = "cuda")]
        if let Some(g) = gpu_preprocessor(
            self.model.provider(),
            (&mut self.gpu, &mut self.gpu_failed),
            &self.manifest,
            (iw, ih),
            (frames.len(), first.data.len()),
        ) {
            for (i, frame) in frames.iter().enumerate() {
                let (src, layout) = g.source(frame, self.gpu_input).map_err(gpu_err)?;
                self.letterboxes[i] =
                    g.fill(src, frame.width, frame.height, frame.format, layout, whole, i).map_err(gpu_err)?;
            }
            g.synchronize().map_err(gpu_err)?;
            let n = frames.len();
            return self.model.run_device_shaped(
                g.output_ptr(0),
                [n, 3, ih, iw],
                copy_output(shape(n), &mut self.output[..n * per_frame]),
            )?;
        }
        for (i, frame) in frames.iter().enumerate() {
            if !frame.on_host() {
                return Err(InferError::Run(
                    "the frame is in GPU memory only, and the ball finder cannot letterbox there (it runs on the CPU, or its GPU letterboxer could not be made)".into(),
                ));
            }
            // The host input is made only where it is used (25 MB of floats for 1080p), one frame
            // at a time.
            self.input.resize(pre.input_len(), 0.0);
            self.letterboxes[i] = pre.fill(frame, whole, &mut self.input);
            let output = &mut self.output[i * per_frame..(i + 1) * per_frame];
            self.model.run_shaped(&self.input, [1, 3, ih, iw], copy_output(shape(1), output))??;
        }
        Ok(())
    }

    fn output_size(&self) -> (usize, usize) {
        let (iw, ih) = self.sized_for.as_ref().map_or((0, 0), |(_, s, _)| *s);
        let stride = self.manifest.stride;
        ((iw / stride) as usize, (ih / stride) as usize)
    }
}

/// The GPU letterboxer for an `input` (width, height) when the model runs on the GPU: made on the
/// first frame and again after a change of size; where it cannot be made (no NVRTC, say) the
/// host path serves from then on, said once.
#[cfg(feature = "cuda")]
fn gpu_preprocessor<'a>(
    provider: Provider,
    (slot, failed): (&'a mut Option<GpuPreprocessor>, &mut bool),
    manifest: &BallFinderManifest,
    (width, height): (usize, usize),
    (frames, frame_bytes): (usize, usize),
) -> Option<&'a mut GpuPreprocessor> {
    if !provider.is_gpu() || *failed {
        return None;
    }
    // More frames than slots: made again with room for them (the batch grows to the camera count).
    if slot.as_ref().is_some_and(|g| g.capacity() < frames) {
        *slot = None;
    }
    if slot.is_none() {
        let spec = InputSpec {
            size: (width as u32, height as u32),
            normalisation: manifest.normalisation(),
            pad_value: manifest.pad_value,
            color_order: manifest.color_order,
        };
        match crate::gpu::Gpu::try_new(0).and_then(|g| GpuPreprocessor::for_input(&g, &spec, frames, frame_bytes)) {
            Ok(p) => {
                tracing::info!(width, height, frames, "The ball finder letterboxes on the GPU.");
                *slot = Some(p);
            }
            Err(e) => {
                tracing::warn!(error = %e, "The ball finder cannot letterbox on the GPU; it does so on the CPU.");
                *failed = true;
            }
        }
    }
    slot.as_mut()
}

#[cfg(feature = "cuda")]
fn gpu_err(e: crate::gpu::GpuError) -> InferError {
    InferError::Run(e.to_string())
}

/// Copies a model output of `expected` shape into `output` (of just its length), or says why not.
fn copy_output(expected: [i64; 4], output: &mut [f32]) -> impl FnOnce(&[i64], &[f32]) -> Result<(), InferError> + '_ {
    move |shape, values| {
        if shape != expected || values.len() != output.len() {
            return Err(InferError::OutputShape { shape: shape.to_vec(), expected: format!("{expected:?}") });
        }
        output.copy_from_slice(values);
        Ok(())
    }
}

/// Adds `peaks` of one frame's `output` (`(ow, oh)` cells of `stride` pixels, letterboxed as
/// `lb`) to `dets` as balls: a peak on a detector's ball raises that ball's score to the peak's if
/// higher, any other is a new ball. Returns how many were added.
fn merge_peaks(
    peaks: &[Peak],
    output: &[f32],
    (ow, oh): (usize, usize),
    stride: usize,
    lb: Letterbox,
    dets: &mut Vec<Detection>,
) -> usize {
    let mut added = 0;
    for p in peaks {
        let at = |c: usize| output[c * ow * oh + p.y * ow + p.x];
        let (cx, cy) = ((p.x as f32 + at(1)) * stride as f32, (p.y as f32 + at(2)) * stride as f32);
        let (w, h) = (at(3).clamp(-2.0, 6.0).exp() / 2.0, at(4).clamp(-2.0, 6.0).exp() / 2.0);
        let bbox = lb.to_frame(BBox { x1: cx - w, y1: cy - h, x2: cx + w, y2: cy + h });
        let (px, py) = bbox.center();
        let same = dets.iter_mut().find(|d| {
            let b = d.bbox;
            let grow = SAME_BALL_GROW * (b.x2 - b.x1).max(b.y2 - b.y1);
            d.class == ObjectClass::Ball
                && (b.x1 - grow..=b.x2 + grow).contains(&px)
                && (b.y1 - grow..=b.y2 + grow).contains(&py)
        });
        match same {
            Some(d) => d.score = d.score.max(p.score),
            None => {
                dets.push(Detection { bbox, score: p.score, class: ObjectClass::Ball });
                added += 1;
            }
        }
    }
    added
}

/// The `top_k` best local maxima (3x3) of `heat` (`width` cells a row) within the first
/// `(cw, ch)` cells that are at least `min_score`, best first, into `out` (no allocation once
/// `out` holds `top_k + 1`).
fn collect_peaks(
    heat: &[f32],
    width: usize,
    (cw, ch): (usize, usize),
    min_score: f32,
    top_k: usize,
    out: &mut Vec<Peak>,
) {
    out.clear();
    for y in 0..ch {
        for x in 0..cw {
            let score = heat[y * width + x];
            if score < min_score || (out.len() == top_k && out.last().is_some_and(|p| p.score >= score)) {
                continue;
            }
            let is_peak = (y.saturating_sub(1)..(y + 2).min(ch)).all(|ny| {
                (x.saturating_sub(1)..(x + 2).min(cw)).all(|nx| {
                    let n = heat[ny * width + nx];
                    // Ties go to the first cell in reading order.
                    n < score || (n == score && (ny, nx) >= (y, x))
                })
            });
            if is_peak {
                let at = out.partition_point(|p| p.score >= score);
                out.insert(at, Peak { score, x, y });
                out.truncate(top_k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_are_local_maxima_best_first_within_the_content_and_bounded() {
        let (w, h) = (6, 4);
        let mut heat = vec![0.0; w * h];
        heat[w + 1] = 0.9; // a peak
        heat[w + 2] = 0.5; // its shoulder: not a peak
        heat[2 * w + 4] = 0.6; // a second peak
        heat[3 * w + 5] = 0.99; // outside the content (padding)
        heat[3] = 0.01; // below min_score
        let mut out = Vec::with_capacity(3);
        collect_peaks(&heat, w, (5, 3), 0.05, 2, &mut out);
        assert_eq!(out, vec![Peak { score: 0.9, x: 1, y: 1 }, Peak { score: 0.6, x: 4, y: 2 }]);
        collect_peaks(&heat, w, (5, 3), 0.05, 1, &mut out);
        assert_eq!(out, vec![Peak { score: 0.9, x: 1, y: 1 }]);
        // A plateau gives one peak, not two.
        let flat = vec![0.3; w * h];
        collect_peaks(&flat, w, (w, h), 0.05, 4, &mut out);
        assert_eq!(out, vec![Peak { score: 0.3, x: 0, y: 0 }]);
    }
}
