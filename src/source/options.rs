//! The `[source]` section, its checks, and the options the source thread runs with.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::uri::SourceUri;
use crate::problems::Problems;

/// Which decoder GStreamer should use.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DecoderChoice {
    /// NVDEC when present (nvv4l2decoder on Jetson, nvh264dec/nvh265dec on GPU servers), software otherwise.
    #[default]
    Auto,
    /// Software decoding only (libav).
    Software,
    /// NVIDIA desktop/server NVDEC elements (`nvh264dec`, `nvh265dec`).
    Nvdec,
    /// Jetson's V4L2 decoder (`nvv4l2decoder`).
    Nvv4l2,
}

/// `[source]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSection {
    /// A file path, `file://`, `rtsp://`, `rtsps://`, `rtmp://`, `http(s)://` (HLS or progressive) or `v4l2:///dev/videoN`.
    pub uri: String,
    /// Stable name of this camera in payloads.
    pub id: String,
    /// Play files at their own frame rate, as a camera would. `false` reads them as fast as the pipeline takes them.
    pub realtime: bool,
    /// Decoder selection.
    pub decoder: DecoderChoice,
    /// A live source with no frame for this long is declared stalled and restarted.
    pub stall_timeout_ms: u64,
    /// First delay before reconnecting a lost stream; doubles on each failure.
    pub reconnect_initial_ms: u64,
    /// Longest delay between reconnect attempts.
    pub reconnect_max_ms: u64,
    /// RTSP transport: `tcp` (robust through NAT) or `udp` (lower latency).
    pub rtsp_transport: String,
    /// Network jitter buffer for RTSP, milliseconds.
    pub latency_ms: u64,
    /// With NVDEC and GPU pre-processing, keep decoded frames in GPU memory (no copy to the host
    /// and back). Needs a build with the `cuda` feature; otherwise ignored.
    pub gpu_frames: bool,
    /// With `gpu_frames`, hand the decoder the daemon's own CUDA context, so decoding and
    /// inference share one context instead of being time-sliced between two.
    pub share_cuda_context: bool,
}

impl Default for SourceSection {
    fn default() -> Self {
        SourceSection {
            uri: String::new(),
            id: "camera-1".into(),
            realtime: true,
            decoder: DecoderChoice::Auto,
            stall_timeout_ms: 5_000,
            reconnect_initial_ms: 500,
            reconnect_max_ms: 30_000,
            rtsp_transport: "tcp".into(),
            latency_ms: 200,
            gpu_frames: true,
            share_cuda_context: true,
        }
    }
}

impl SourceSection {
    /// Checks the section into `p` and returns the parsed URI ([`SourceUri::Unset`] when empty
    /// and not `required`); `None` when the URI is unusable.
    pub fn check(&self, required: bool, p: &mut Problems) -> Option<SourceUri> {
        p.check(crate::problems::is_topic_safe(&self.id), "source.id", || {
            format!("{:?} must be non-empty letters, digits, '-' or '_'", self.id)
        });
        p.check(self.stall_timeout_ms >= 500, "source.stall_timeout_ms", || {
            format!("{} is below the minimum of 500", self.stall_timeout_ms)
        });
        p.check(self.reconnect_initial_ms >= 10, "source.reconnect_initial_ms", || {
            format!("{} is below the minimum of 10", self.reconnect_initial_ms)
        });
        p.check(self.reconnect_max_ms >= self.reconnect_initial_ms, "source.reconnect_max_ms", || {
            format!("{} is below source.reconnect_initial_ms ({})", self.reconnect_max_ms, self.reconnect_initial_ms)
        });
        p.check(matches!(self.rtsp_transport.as_str(), "tcp" | "udp"), "source.rtsp_transport", || {
            format!("{:?} must be \"tcp\" or \"udp\"", self.rtsp_transport)
        });
        if self.uri.trim().is_empty() {
            p.check(!required, "source.uri", || "is empty: give a file path or a stream URI".into());
            return Some(SourceUri::Unset);
        }
        match SourceUri::parse(&self.uri) {
            Ok(u) => Some(u),
            Err(e) => {
                p.check(false, "source.uri", || e.to_string());
                None
            }
        }
    }
}

/// Settings of the source thread.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// What to read.
    pub uri: SourceUri,
    /// Play files at their own rate.
    pub realtime: bool,
    /// Decoder selection.
    pub decoder: DecoderChoice,
    /// Declare a live source stalled after this long without a frame.
    pub stall_timeout: Duration,
    /// First reconnect delay.
    pub reconnect_initial: Duration,
    /// Longest reconnect delay.
    pub reconnect_max: Duration,
    /// `tcp` or `udp` for RTSP.
    pub rtsp_transport: String,
    /// RTSP jitter buffer, ms.
    pub latency_ms: u64,
    /// Stop after this many decoded frames.
    pub max_frames: Option<u64>,
    /// Ask the decoder for frames in GPU memory (`video/x-raw(memory:CUDAMemory)`); the ring's
    /// slots must then be device buffers. Set by the application when the detector
    /// pre-processes on the GPU and the slots allow it.
    pub gpu_frames: bool,
    /// With `gpu_frames`: the decoder uses the daemon's CUDA context.
    pub share_cuda_context: bool,
}

impl SourceOptions {
    /// The options of a checked section, its parsed URI, and an optional frame limit.
    pub fn from_section(s: &SourceSection, uri: SourceUri, max_frames: Option<u64>) -> Self {
        SourceOptions {
            uri,
            realtime: s.realtime,
            decoder: s.decoder,
            stall_timeout: Duration::from_millis(s.stall_timeout_ms),
            reconnect_initial: Duration::from_millis(s.reconnect_initial_ms),
            reconnect_max: Duration::from_millis(s.reconnect_max_ms),
            rtsp_transport: s.rtsp_transport.clone(),
            latency_ms: s.latency_ms,
            max_frames,
            gpu_frames: false,
            share_cuda_context: s.share_cuda_context,
        }
    }
}
