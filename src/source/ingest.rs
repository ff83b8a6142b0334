//! The appsink callback: one decoded frame copied into a ring slot, with the ingress rate limit.
//!
//! Runs on GStreamer's streaming thread and never blocks under the `drop_oldest` policy; under
//! `block` (offline files) it waits for a free slot, which is how a file is read no faster than
//! it is processed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::Thread;
use std::time::Duration;

use gst_video::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::rate_gate::RateGate;
use super::stats::{SourceState, SourceStats};
use crate::frame::{FrameMeta, PixelFormat, PlaneLayout, monotonic_ns, unix_ns};
use crate::ring::{FrameRing, FrameSlot, PushRefused};
use crate::shutdown::Shutdown;

/// State of the appsink callback.
pub(super) struct Ingest {
    pub(super) ring: Arc<FrameRing>,
    pub(super) consumer: Thread,
    pub(super) stats: Arc<SourceStats>,
    pub(super) shutdown: Shutdown,
    pub(super) limit_hit: Arc<AtomicBool>,
    pub(super) max_frames: Option<u64>,
    pub(super) info: Option<(gst::Caps, gst_video::VideoInfo)>,
    /// The ingress rate limit's schedule.
    pub(super) rate: RateGate,
    /// Host staging for system-memory frames bound for GPU slots (grown once).
    pub(super) staging: Vec<u8>,
}

impl Ingest {
    pub(super) fn on_sample(&mut self, sink: &gst_app::AppSink) -> Result<gst::FlowSuccess, gst::FlowError> {
        let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
        if self.limit_hit.load(Relaxed) || self.shutdown.is_triggered() {
            return Err(gst::FlowError::Eos);
        }
        let capture_mono_ns = monotonic_ns();
        let capture_unix_ns = unix_ns();
        let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
        let caps = sample.caps().ok_or(gst::FlowError::NotNegotiated)?;
        if self.info.as_ref().is_none_or(|(c, _)| c != caps) {
            let info = gst_video::VideoInfo::from_caps(caps).map_err(|_| gst::FlowError::NotNegotiated)?;
            let fps = info.fps();
            if fps.denom() > 0 && fps.numer() > 0 {
                self.stats.fps_milli.store((fps.numer() as u64 * 1000) / fps.denom() as u64, Relaxed);
            }
            tracing::info!(width = info.width(), height = info.height(), format = ?info.format(), fps = %fps, "Source negotiated.");
            self.info = Some((caps.to_owned(), info));
        }
        let number = self.stats.decoded.fetch_add(1, Relaxed);
        self.stats.last_frame_mono_ns.store(capture_mono_ns, Relaxed);
        self.stats.set_state(SourceState::Running);
        if let Some(max) = self.max_frames
            && number + 1 >= max
        {
            self.limit_hit.store(true, Relaxed);
        }
        let pts_ns = buffer.pts().map(|t| t.nseconds());

        // Ingress rate limit (throttle / infer.max_fps): stream time when known, else wall time.
        let min_interval = self.stats.min_interval_ns.load(Relaxed);
        if !self.rate.admit(pts_ns.unwrap_or(capture_mono_ns), min_interval) {
            self.stats.skipped_rate.fetch_add(1, Relaxed);
            return Ok(gst::FlowSuccess::Ok);
        }

        let Some((caps, info)) = &self.info else { return Err(gst::FlowError::NotNegotiated) };
        let format = match info.format() {
            gst_video::VideoFormat::I420 => PixelFormat::I420,
            gst_video::VideoFormat::Nv12 => PixelFormat::Nv12,
            _ => return Err(gst::FlowError::NotNegotiated),
        };
        // Under `block` the decoder waits here for inference to free a slot; it wakes on the
        // release, and every 50 ms to see whether a shutdown was asked for.
        let mut slot = loop {
            match self.ring.acquire_within(Duration::from_millis(50)) {
                Ok(s) => break s,
                Err(PushRefused::Full) => {
                    if self.shutdown.is_triggered() {
                        return Err(gst::FlowError::Flushing);
                    }
                    self.consumer.unpark();
                }
            }
        };
        let s = slot.slot();
        s.layout = store(buffer, caps, info, format, s, &mut self.staging).map_err(|e| {
            tracing::error!(error = %e, "Cannot store the decoded frame.");
            gst::FlowError::Error
        })?;
        s.meta =
            FrameMeta { number, pts_ns, capture_unix_ns, capture_mono_ns, width: info.width(), height: info.height() };
        s.format = format;
        slot.publish();
        self.consumer.unpark();
        Ok(gst::FlowSuccess::Ok)
    }
}

/// Stores a decoded frame in the slot: CUDA frames device to device into a GPU slot, system
/// memory frames packed into a host slot (or packed into `staging` and uploaded to a GPU slot).
/// Returns the planes' layout in the slot.
#[cfg_attr(not(feature = "cuda"), expect(unused_variables, clippy::ptr_arg))]
fn store(
    buffer: &gst::BufferRef,
    caps: &gst::Caps,
    info: &gst_video::VideoInfo,
    format: PixelFormat,
    slot: &mut FrameSlot,
    staging: &mut Vec<u8>,
) -> Result<PlaneLayout, String> {
    let packed = PlaneLayout::packed(info.width(), info.height(), format);
    #[cfg(feature = "cuda")]
    if let crate::ring::SlotBuffer::Device(dst) = &mut slot.data {
        if super::cuda_frames::is_cuda(caps) {
            return super::cuda_frames::copy_nv12(buffer, info, dst);
        }
        // System memory after all (a codec NVDEC lacks): pack on the host, upload once.
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info).map_err(|e| e.to_string())?;
        staging.resize(crate::frame::yuv420_bytes(info.width(), info.height()), 0);
        copy_planes(&frame, format, staging).map_err(|e| e.to_string())?;
        dst.reserve(staging.len()).and_then(|()| dst.copy_from_host(0, staging)).map_err(|e| e.to_string())?;
        return Ok(packed);
    }
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info).map_err(|e| e.to_string())?;
    // Resizing to the same length does not reallocate once the slot has grown.
    slot.data
        .resize(crate::frame::yuv420_bytes(info.width(), info.height()))
        .map_err(|_| "frame larger than the ring's pinned slots".to_string())?;
    copy_planes(&frame, format, &mut slot.data).map_err(|e| e.to_string())?;
    Ok(packed)
}

/// Copies a mapped frame's planes, honouring strides, into `out`, tightly packed.
pub(super) fn copy_planes(
    frame: &gst_video::VideoFrameRef<&gst::BufferRef>,
    format: PixelFormat,
    out: &mut [u8],
) -> Result<(), gst::glib::BoolError> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let strides = frame.plane_stride();
    let planes: &[(usize, usize)] = match format {
        PixelFormat::I420 => &[(w, h), (cw, ch), (cw, ch)],
        PixelFormat::Nv12 => &[(w, h), (cw * 2, ch)],
    };
    let mut offset = 0usize;
    for (p, &(row_bytes, rows)) in planes.iter().enumerate() {
        let src = frame.plane_data(p as u32)?;
        let stride = strides[p] as usize;
        for r in 0..rows {
            let from = r * stride;
            let to = offset + r * row_bytes;
            out[to..to + row_bytes].copy_from_slice(&src[from..from + row_bytes]);
        }
        offset += row_bytes * rows;
    }
    Ok(())
}
