//! `footrackd bench`: the pipeline on a clip as fast as it goes, stage by stage, beside the
//! model's inference-only throughput on the same machine, so that overhead is a ratio.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{RunOptions, RunSummary};
use crate::config::Config;
use crate::control::sensors::process_memory_mb;
use crate::frame::{PixelFormat, yuv420_bytes};
use crate::infer::Detector;
use crate::infer::pre::YuvFrame;
use crate::ring::{FrameRing, OverflowPolicy};
use crate::shutdown::Shutdown;
use crate::source::{self, SourceStats};

/// Everything `bench` measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The clip.
    pub input: String,
    /// Decoder family used.
    pub decoder: String,
    /// Execution providers requested.
    pub providers: Vec<String>,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Model runs per frame (tiles + whole frame).
    pub runs_per_frame: usize,
    /// Decode (and copy into the ring) alone, frames per second.
    pub decode_only_fps: f64,
    /// The detector alone on one decoded frame, repeated: frames per second (all tiles).
    pub inference_only_fps: f64,
    /// End to end, frames per second.
    pub end_to_end_fps: f64,
    /// End to end after the first 10 frames (warm-up excluded), frames per second.
    pub end_to_end_steady_fps: Option<f64>,
    /// Inference provider in use and where pre-processing ran.
    pub provider: String,
    /// `gpu` or `cpu`.
    pub preprocess: String,
    /// Steady end-to-end fps (or overall, if too short) divided by inference-only fps (1.0 = no pipeline overhead).
    pub end_to_end_over_inference_only: f64,
    /// Per processed frame, ms, by stage (decode from the decode-only pass).
    pub stage_ms: Vec<(String, f64)>,
    /// Capture-to-publish latency p50/p95/p99, ms.
    pub latency_ms: [Option<f64>; 3],
    /// Frames processed end to end.
    pub frames: u64,
    /// Peak resident memory of this process, MiB.
    pub peak_rss_mb: Option<f64>,
    /// GPU memory in use on device 0 at the end, MiB (CUDA builds on a GPU machine).
    pub gpu_memory_used_mb: Option<f64>,
}

/// One decoded frame kept for the inference-only pass.
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

/// Decodes up to `max_frames` of `cfg`'s source as fast as possible; returns fps and a late frame.
fn decode_pass(cfg: &Config, max_frames: u64) -> Result<DecodePass> {
    let ring = FrameRing::new(4, yuv420_bytes(1920, 1080), OverflowPolicy::Block);
    let stats = Arc::new(SourceStats::default());
    let mut opts = cfg.source_options(Some(max_frames));
    opts.realtime = false;
    let consumer = std::thread::current();
    let started = Instant::now();
    let handle = source::spawn(opts, Arc::clone(&ring), consumer, Arc::clone(&stats), Shutdown::new()).context("source")?;
    let decoder = handle.decoder().as_str();
    let mut last = None;
    let mut first_at: Option<Instant> = None;
    let mut n = 0u64;
    loop {
        if let Some(frame) = ring.take() {
            first_at.get_or_insert_with(Instant::now);
            n += 1;
            let s = frame.slot();
            if n == 1 || n.is_multiple_of(50) {
                last = Some(StillFrame { data: s.data.to_vec(), width: s.meta.width, height: s.meta.height, format: s.format });
            }
            continue;
        }
        if handle.is_finished() && ring.depth() == 0 {
            break;
        }
        std::thread::park_timeout(std::time::Duration::from_millis(5));
    }
    handle.join().context("source")?;
    // Frames after the first over the time since the first: start-up (pipeline build, file open) excluded.
    let secs = first_at.map_or(started.elapsed().as_secs_f64(), |f| f.elapsed().as_secs_f64()).max(1e-6);
    Ok(DecodePass { fps: (n.saturating_sub(1)) as f64 / secs, frame: last, decoder })
}

/// Runs the benchmark.
pub fn run(cfg: Config, max_frames: u64, inference_runs: u32) -> Result<BenchReport> {
    source::init().context("GStreamer")?;
    let DecodePass { fps: decode_fps, frame, decoder } = decode_pass(&cfg, max_frames)?;
    let StillFrame { data, width, height, format } = frame.context("the clip gave no frames")?;

    let mut detector = Detector::new(cfg.detector_options()).context("detector")?;
    let yuv = YuvFrame::new(&data, width, height, format).context("frame buffer too small")?;
    let mut dets = Vec::with_capacity(512);
    for _ in 0..3 {
        detector.detect(&yuv, &mut dets)?;
    }
    let t = Instant::now();
    for _ in 0..inference_runs.max(1) {
        detector.detect(&yuv, &mut dets)?;
    }
    let inference_only_fps = inference_runs.max(1) as f64 / t.elapsed().as_secs_f64();
    let runs_per_frame = detector.regions_per_frame(width, height);
    let (provider, preprocess) = (detector.provider().as_str().to_string(), detector.preprocess_device().as_str().to_string());
    drop(detector);

    let (_tx, rx) = std::sync::mpsc::channel();
    let summary: RunSummary = super::run(cfg.clone(), rx, RunOptions { max_frames: Some(max_frames), config_path: None, with_env: false })?;
    let mut stage_ms = vec![("decode".to_string(), if decode_fps > 0.0 { 1000.0 / decode_fps } else { 0.0 })];
    stage_ms.extend(summary.stage_ms.iter().map(|(n, ms)| (n.to_string(), *ms)));
    Ok(BenchReport {
        input: format!("{:?}", cfg.source_uri),
        decoder: decoder.to_string(),
        providers: cfg.infer.providers.iter().map(|p| p.as_str().to_string()).collect(),
        width,
        height,
        runs_per_frame,
        decode_only_fps: decode_fps,
        inference_only_fps,
        end_to_end_fps: summary.fps(),
        end_to_end_steady_fps: summary.steady_fps,
        provider,
        preprocess,
        end_to_end_over_inference_only: summary.steady_fps.unwrap_or(summary.fps()) / inference_only_fps,
        stage_ms,
        latency_ms: summary.latency_ms,
        frames: summary.processed,
        peak_rss_mb: process_memory_mb(std::path::Path::new("/proc"), "VmHWM:"),
        gpu_memory_used_mb: crate::infer::gpu_memory_used_mb(),
    })
}

impl BenchReport {
    /// Human-readable lines.
    pub fn render(&self) -> String {
        let f = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1}"));
        let mut s = format!(
            "input {} ({}x{}), decoder {}, provider {} (asked {:?}), pre-processing on {}, {} model runs per frame\n",
            self.input, self.width, self.height, self.decoder, self.provider, self.providers, self.preprocess, self.runs_per_frame
        );
        s.push_str(&format!(
            "end-to-end {:.2} fps over {} frames ({} fps after warm-up); inference-only {:.2} fps; ratio {:.2}; decode-only {:.1} fps\n",
            self.end_to_end_fps,
            self.frames,
            f(self.end_to_end_steady_fps),
            self.inference_only_fps,
            self.end_to_end_over_inference_only,
            self.decode_only_fps
        ));
        s.push_str("per frame ms:");
        for (n, ms) in &self.stage_ms {
            s.push_str(&format!(" {n} {ms:.2}"));
        }
        s.push_str(&format!(
            "\nlatency ms p50 {} p95 {} p99 {}; peak RSS {} MiB; GPU memory {} MiB",
            f(self.latency_ms[0]),
            f(self.latency_ms[1]),
            f(self.latency_ms[2]),
            f(self.peak_rss_mb),
            f(self.gpu_memory_used_mb)
        ));
        s
    }
}
