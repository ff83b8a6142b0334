//! `footrackd bench`: the physical limit of one stream on this machine (decode alone, the model
//! alone at the batch the pipeline uses), the detector alone, and the whole pipeline end to end,
//! all in one run, so that every figure is a ratio against a limit measured beside it.
//! `--streams N` adds N copies of the clip through one batched detector: the aggregate rate
//! and how many 25 fps streams it sustains.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::app::{RunOptions, RunSummary};
use crate::config::Config;
use crate::control::sensors::process_memory_mb;
use crate::frame::{PixelFormat, yuv420_bytes};
use crate::infer::Detector;
use crate::infer::pre::YuvFrame;
use crate::ring::{FrameRing, OverflowPolicy, ReadSlot};
use crate::shutdown::Shutdown;
use crate::source::{self, SourceHandle, SourceStats};
use crate::track::Tracker;

/// What to measure.
#[derive(Clone, Copy, Debug)]
pub struct BenchOptions {
    /// Frames per pass (and per stream).
    pub frames: u64,
    /// Repetitions of the model-only and detector-only measurements.
    pub inference_runs: u32,
    /// Streams for the multi-stream pass (0 or 1: none).
    pub streams: usize,
}

/// The model alone at one batch size.
#[derive(Clone, Debug, Serialize)]
pub struct ModelThroughput {
    /// Images per model call.
    pub batch: usize,
    /// Milliseconds per call.
    pub ms_per_call: f64,
    /// Images per second.
    pub images_per_sec: f64,
    /// Frames per second (images per second over images per frame).
    pub frames_per_sec: f64,
}

/// Several copies of the clip through one process and one batched detector.
#[derive(Clone, Debug, Serialize)]
pub struct StreamsReport {
    /// Streams run.
    pub streams: usize,
    /// Frames processed per second, all streams together (decode, detection and tracking).
    pub aggregate_fps: f64,
    /// The slowest stream's frames per second.
    pub slowest_stream_fps: f64,
    /// Streams this machine sustains at 25 fps: all of them when the slowest keeps 25 fps,
    /// otherwise the aggregate rate over 25.
    pub streams_at_25_fps: usize,
    /// The model alone at the batch of all streams' regions.
    pub model_only: ModelThroughput,
    /// GPU memory in use on device 0 (cudaMemGetInfo: every process) while the streams were
    /// still open, MiB; `None` without a GPU.
    pub gpu_memory_used_mb: Option<f64>,
}

/// Everything `bench` measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The clip.
    pub input: String,
    /// Decoder family used.
    pub decoder: String,
    /// Execution providers requested.
    pub providers: Vec<String>,
    /// Provider in use.
    pub provider: String,
    /// Where pre-processing ran: `gpu` or `cpu`.
    pub preprocess: String,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Model images per frame (tiles and the whole frame).
    pub regions_per_frame: usize,
    /// Decode (and copy into the ring) alone, frames per second.
    pub decode_only_fps: f64,
    /// Whether decoded frames stayed in GPU memory (NVDEC to CUDA memory, GPU ring slots).
    pub gpu_frames: bool,
    /// The model alone at the batch the pipeline uses (one frame's regions).
    pub model_only: ModelThroughput,
    /// The physical limit for one stream: min(decode-only, model-only frames per second).
    pub physical_limit_fps: f64,
    /// The detector alone (letterbox, model, decode, NMS) on one decoded frame, frames per second.
    pub detector_only_fps: f64,
    /// End to end, frames per second.
    pub end_to_end_fps: f64,
    /// End to end after the first 10 frames (warm-up excluded), frames per second.
    pub end_to_end_steady_fps: Option<f64>,
    /// Steady end-to-end fps over the physical limit.
    pub end_to_end_over_limit: f64,
    /// Steady end-to-end fps over detector-only fps (1.0 = no pipeline overhead).
    pub end_to_end_over_detector: f64,
    /// Per processed frame, ms, by stage (decode from the decode-only pass).
    pub stage_ms: Vec<(String, f64)>,
    /// Capture-to-publish latency p50/p95/p99 after warm-up, ms.
    pub latency_ms: [Option<f64>; 3],
    /// Latency of the first 10 frames (start-up and warm-up): p50 and max, ms.
    pub warmup_latency_ms: [Option<f64>; 2],
    /// Frames processed end to end.
    pub frames: u64,
    /// Detections per frame end to end, on average (two paths on one clip must agree).
    pub mean_detections: f64,
    /// Of the end-to-end messages: share giving a track a team, and share with pitch positions.
    pub share_with_team: f64,
    /// Share of end-to-end messages with a homography.
    pub share_with_homography: f64,
    /// The multi-stream pass, when asked for.
    pub streams: Option<StreamsReport>,
    /// Peak resident memory of this process, MiB.
    pub peak_rss_mb: Option<f64>,
    /// GPU memory in use on device 0 at the end, MiB (CUDA builds on a GPU machine).
    pub gpu_memory_used_mb: Option<f64>,
    /// Every GPU through NVML at the end of the run (temperature, memory, utilisation, NVDEC).
    pub gpus: Vec<crate::control::nvml::GpuReading>,
}

/// One decoded frame kept for the model-only and detector-only passes.
struct StillFrame {
    data: Vec<u8>,
    width: u32,
    height: u32,
    format: PixelFormat,
}

/// What the decode-only pass measured.
struct DecodePass {
    fps: f64,
    frame: Option<StillFrame>,
    decoder: &'static str,
}

fn start_source(
    cfg: &Config,
    max_frames: u64,
    ring: &Arc<FrameRing>,
    shutdown: &Shutdown,
    gpu_frames: bool,
) -> Result<SourceHandle> {
    let mut opts = cfg.source_options(Some(max_frames));
    opts.realtime = false;
    opts.gpu_frames = gpu_frames;
    source::spawn(opts, Arc::clone(ring), std::thread::current(), Arc::new(SourceStats::default()), shutdown.clone())
        .context("source")
}

/// Decodes up to `max_frames` of `cfg`'s source as fast as possible, into GPU slots when
/// `gpu_frames` (NVDEC to CUDA memory) or host slots; returns fps and a late frame (host slots only).
fn decode_pass(cfg: &Config, max_frames: u64, gpu_frames: bool) -> Result<DecodePass> {
    let gpu_ring = if gpu_frames { crate::app::gpu_frame_ring(4, OverflowPolicy::Block) } else { None };
    let on_gpu = gpu_ring.is_some();
    let ring = gpu_ring.unwrap_or_else(|| FrameRing::new(4, yuv420_bytes(1920, 1080), OverflowPolicy::Block));
    let started = Instant::now();
    let handle = start_source(cfg, max_frames, &ring, &Shutdown::new(), on_gpu)?;
    let decoder = handle.decoder().as_str();
    let mut last = None;
    let mut first_at: Option<Instant> = None;
    let mut n = 0u64;
    loop {
        if let Some(frame) = ring.take() {
            first_at.get_or_insert_with(Instant::now);
            n += 1;
            let s = frame.slot();
            if !s.data.is_device_only() && (n == 1 || n.is_multiple_of(50)) {
                last = Some(StillFrame {
                    data: s.data.to_vec(),
                    width: s.meta.width,
                    height: s.meta.height,
                    format: s.format,
                });
            }
            continue;
        }
        if handle.is_finished() && ring.depth() == 0 {
            break;
        }
        std::thread::park_timeout(Duration::from_millis(5));
    }
    handle.join().context("source")?;
    // Frames after the first over the time since the first: start-up (pipeline build, file open) excluded.
    let secs = first_at.map_or(started.elapsed().as_secs_f64(), |f| f.elapsed().as_secs_f64()).max(1e-6);
    Ok(DecodePass { fps: (n.saturating_sub(1)) as f64 / secs, frame: last, decoder })
}

fn model_throughput(
    detector: &mut Detector,
    yuv: &YuvFrame<'_>,
    frames_per_call: usize,
    runs: u32,
) -> Result<ModelThroughput> {
    let (secs, batch) = detector.time_model(yuv, frames_per_call, runs)?;
    let images_per_sec = batch as f64 / secs.max(1e-9);
    let per_frame = detector.regions_per_frame(yuv.width, yuv.height).max(1);
    Ok(ModelThroughput {
        batch,
        ms_per_call: secs * 1e3,
        images_per_sec,
        frames_per_sec: images_per_sec / per_frame as f64,
    })
}

/// Runs the benchmark.
pub fn run(cfg: Config, opts: BenchOptions) -> Result<BenchReport> {
    source::init().context("GStreamer")?;
    let mut detector = Detector::new(cfg.detector_options()).context("detector")?;
    let gpu_frames = crate::app::gpu_frames_wanted(&cfg, &detector);
    let DecodePass { fps: decode_fps, frame, decoder } = decode_pass(&cfg, opts.frames, gpu_frames)?;
    // Frames decoded to GPU memory have no host copy: take the still frame from a short host pass.
    let frame = match frame {
        Some(f) => Some(f),
        None => decode_pass(&cfg, 60, false)?.frame,
    };
    let StillFrame { data, width, height, format } = frame.context("the clip gave no frames")?;

    let yuv = YuvFrame::new(&data, width, height, format).context("frame buffer too small")?;
    let model_only = model_throughput(&mut detector, &yuv, 1, opts.inference_runs)?;
    let mut dets = Vec::with_capacity(512);
    for _ in 0..3 {
        detector.detect(&yuv, &mut dets)?;
    }
    let t = Instant::now();
    for _ in 0..opts.inference_runs.max(1) {
        detector.detect(&yuv, &mut dets)?;
    }
    let detector_only_fps = opts.inference_runs.max(1) as f64 / t.elapsed().as_secs_f64();
    let regions_per_frame = detector.regions_per_frame(width, height);
    let (provider, preprocess) =
        (detector.provider().as_str().to_string(), detector.preprocess_device().as_str().to_string());
    let streams = if opts.streams > 1 {
        let model = model_throughput(&mut detector, &yuv, opts.streams, opts.inference_runs)?;
        Some(run_streams(&cfg, &mut detector, &yuv, opts.streams, opts.frames, model)?)
    } else {
        None
    };
    drop(detector);

    let (_tx, rx) = std::sync::mpsc::channel();
    let summary: RunSummary = crate::app::run(
        crate::config::Cameras::one(cfg.clone()),
        rx,
        RunOptions { max_frames: Some(opts.frames), config_path: None, with_env: false, annotate: None },
    )?
    .swap_remove(0);
    let mut stage_ms = vec![("decode".to_string(), if decode_fps > 0.0 { 1000.0 / decode_fps } else { 0.0 })];
    stage_ms.extend(summary.stage_ms.iter().map(|(n, ms)| (n.to_string(), *ms)));
    let physical_limit_fps = decode_fps.min(model_only.frames_per_sec);
    let e2e = summary.steady_fps.unwrap_or(summary.fps());
    Ok(BenchReport {
        input: cfg.source_uri.redacted(),
        decoder: decoder.to_string(),
        providers: cfg.infer.providers.iter().map(|p| p.as_str().to_string()).collect(),
        provider,
        preprocess,
        width,
        height,
        regions_per_frame,
        decode_only_fps: decode_fps,
        gpu_frames,
        model_only,
        physical_limit_fps,
        detector_only_fps,
        end_to_end_fps: summary.fps(),
        end_to_end_steady_fps: summary.steady_fps,
        end_to_end_over_limit: e2e / physical_limit_fps.max(1e-9),
        end_to_end_over_detector: e2e / detector_only_fps.max(1e-9),
        stage_ms,
        latency_ms: summary.steady_latency_ms,
        warmup_latency_ms: summary.warmup_latency_ms,
        frames: summary.processed,
        mean_detections: summary.mean_detections,
        share_with_team: summary.frames_with_team as f64 / summary.processed.max(1) as f64,
        share_with_homography: summary.frames_with_homography as f64 / summary.processed.max(1) as f64,
        streams,
        peak_rss_mb: process_memory_mb(std::path::Path::new("/proc"), "VmHWM:"),
        gpu_memory_used_mb: crate::infer::gpu_memory_used_mb(),
        gpus: crate::control::nvml::Nvml::load(&cfg.throttle.nvml_library).map(|n| n.read()).unwrap_or_default(),
    })
}

/// `n` copies of the clip decoded concurrently; each round takes the next frame of every stream
/// (waiting for the slower ones, so every call has the same batch shape) and detects them all in
/// one batched call, then tracks each stream on its own. The batch shapes are warmed up on a
/// still frame before the clock starts.
fn run_streams(
    cfg: &Config,
    detector: &mut Detector,
    still: &YuvFrame<'_>,
    n: usize,
    frames: u64,
    model_only: ModelThroughput,
) -> Result<StreamsReport> {
    let copies = vec![*still; n];
    let mut outs: Vec<Vec<_>> = (0..n).map(|_| Vec::with_capacity(512)).collect();
    for _ in 0..3 {
        detector.detect_many(&copies, &mut outs)?;
    }
    let shutdown = Shutdown::new();
    let rings: Vec<Arc<FrameRing>> = (0..n)
        .map(|_| FrameRing::new(cfg.ring.slots.max(2), yuv420_bytes(1920, 1080), OverflowPolicy::Block))
        .collect();
    let handles = rings.iter().map(|r| start_source(cfg, frames, r, &shutdown, false)).collect::<Result<Vec<_>>>()?;
    let mut trackers: Vec<Tracker> = (0..n).map(|_| Tracker::new(cfg.tracker_options(25.0))).collect();
    let mut processed = vec![0u64; n];
    let mut done = vec![false; n];
    let mut held: Vec<(usize, ReadSlot)> = Vec::with_capacity(n);
    let mut first_at: Option<Instant> = None;
    loop {
        held.clear();
        for (i, ring) in rings.iter().enumerate() {
            while !done[i] {
                if let Some(frame) = ring.take() {
                    held.push((i, frame));
                    break;
                }
                if handles[i].is_finished() && ring.depth() == 0 {
                    done[i] = true;
                } else {
                    std::thread::park_timeout(Duration::from_millis(1));
                }
            }
        }
        if held.is_empty() {
            break;
        }
        first_at.get_or_insert_with(Instant::now);
        let frames: Vec<YuvFrame<'_>> = held
            .iter()
            .filter_map(|(_, f)| {
                YuvFrame::new(&f.slot().data, f.slot().meta.width, f.slot().meta.height, f.slot().format)
            })
            .collect();
        detector.detect_many(&frames, &mut outs[..frames.len()])?;
        for (k, (i, _)) in held.iter().enumerate().take(frames.len()) {
            trackers[*i].step(1.0, &outs[k]);
            processed[*i] += 1;
        }
    }
    // Every stream's ring, decoder and the detector are still open here.
    let gpu_memory_used_mb = crate::infer::gpu_memory_used_mb();
    for h in handles {
        h.join().context("source")?;
    }
    let secs = first_at.map_or(1e-9, |f| f.elapsed().as_secs_f64()).max(1e-9);
    let aggregate_fps = processed.iter().sum::<u64>() as f64 / secs;
    let slowest_stream_fps = processed.iter().copied().min().unwrap_or(0) as f64 / secs;
    let streams_at_25_fps = if slowest_stream_fps >= 25.0 { n } else { (aggregate_fps / 25.0).floor() as usize };
    Ok(StreamsReport {
        streams: n,
        aggregate_fps,
        slowest_stream_fps,
        streams_at_25_fps,
        model_only,
        gpu_memory_used_mb,
    })
}

impl BenchReport {
    /// Human-readable lines.
    pub fn render(&self) -> String {
        let f = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1}"));
        let m = &self.model_only;
        let mut s = format!(
            "input {} ({}x{}), decoder {} (frames in GPU memory: {}), provider {} (asked {:?}), pre-processing on {}, {} model images per frame\n",
            self.input,
            self.width,
            self.height,
            self.decoder,
            self.gpu_frames,
            self.provider,
            self.providers,
            self.preprocess,
            self.regions_per_frame
        );
        s.push_str(&format!(
            "limit: decode-only {:.1} fps; model-only {:.0} images/s = {:.1} frames/s at batch {} ({:.2} ms per call); physical limit {:.1} fps\n",
            self.decode_only_fps, m.images_per_sec, m.frames_per_sec, m.batch, m.ms_per_call, self.physical_limit_fps
        ));
        s.push_str(&format!(
            "end-to-end {:.2} fps over {} frames ({:.1} detections per frame) ({} fps after warm-up) = {:.2} of the limit; detector-only {:.2} fps (end-to-end / detector-only {:.2})\n",
            self.end_to_end_fps,
            self.frames,
            self.mean_detections,
            f(self.end_to_end_steady_fps),
            self.end_to_end_over_limit,
            self.detector_only_fps,
            self.end_to_end_over_detector
        ));
        s.push_str("per frame ms:");
        for (n, ms) in &self.stage_ms {
            s.push_str(&format!(" {n} {ms:.2}"));
        }
        s.push_str(&format!(
            "\nlatency ms after warm-up p50 {} p95 {} p99 {}; warm-up (first 10 frames) p50 {} max {}; peak RSS {} MiB; GPU memory {} MiB",
            f(self.latency_ms[0]),
            f(self.latency_ms[1]),
            f(self.latency_ms[2]),
            f(self.warmup_latency_ms[0]),
            f(self.warmup_latency_ms[1]),
            f(self.peak_rss_mb),
            f(self.gpu_memory_used_mb)
        ));
        if let Some(st) = &self.streams {
            s.push_str(&format!(
                "\nstreams: {} at once: {:.1} fps aggregate, slowest stream {:.1} fps, {} streams at 25 fps; model-only at batch {}: {:.0} images/s; GPU memory while open {} MiB",
                st.streams,
                st.aggregate_fps,
                st.slowest_stream_fps,
                st.streams_at_25_fps,
                st.model_only.batch,
                st.model_only.images_per_sec,
                f(st.gpu_memory_used_mb)
            ));
        }
        s
    }
}
