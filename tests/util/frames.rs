//! Real decoded frames: a clip through the daemon's own GStreamer source into a blocking ring.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use footrackd::frame::{PixelFormat, yuv420_bytes};
use footrackd::ring::{FrameRing, OverflowPolicy};
use footrackd::shutdown::Shutdown;
use footrackd::source::{self, DecoderChoice, SourceOptions, SourceStats, SourceUri};

/// One decoded frame, tightly packed 4:2:0.
pub struct Frame {
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
}

/// Frames `first..first + count` of `clip`, decoded in software.
pub fn decode(clip: &Path, first: u64, count: u64) -> Vec<Frame> {
    let ring = FrameRing::new(4, yuv420_bytes(1920, 1080), OverflowPolicy::Block);
    let opts = SourceOptions {
        uri: SourceUri::File(clip.to_path_buf()),
        realtime: false,
        decoder: DecoderChoice::Software,
        stall_timeout: Duration::from_secs(5),
        reconnect_initial: Duration::from_millis(100),
        reconnect_max: Duration::from_secs(1),
        rtsp_transport: "tcp".into(),
        latency_ms: 0,
        max_frames: Some(first + count),
        gpu_frames: false,
    };
    let handle = source::spawn(opts, Arc::clone(&ring), std::thread::current(), Arc::new(SourceStats::default()), Shutdown::new()).unwrap();
    let mut out = Vec::new();
    let mut n = 0u64;
    loop {
        if let Some(f) = ring.take() {
            let s = f.slot();
            if n >= first {
                out.push(Frame { data: s.data.to_vec(), width: s.meta.width, height: s.meta.height, format: s.format });
            }
            n += 1;
            continue;
        }
        if handle.is_finished() && ring.depth() == 0 {
            break;
        }
        std::thread::park_timeout(Duration::from_millis(5));
    }
    handle.join().unwrap();
    out
}

/// Writes `dir/name`: `frames` frames of GStreamer's test pattern, 320x180 H.264 MP4 at `fps`
/// (tracks stay empty, but every frame still gets its message).
pub fn test_pattern_clip(dir: &Path, name: &str, frames: u64, fps: u32) -> std::path::PathBuf {
    let clip = dir.join(name);
    let status = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc", &format!("num-buffers={frames}"), "pattern=ball", "!"])
        .args([&format!("video/x-raw,width=320,height=180,framerate={fps}/1"), "!", "x264enc", "speed-preset=ultrafast", "!", "mp4mux", "!"])
        .arg("filesink")
        .arg(format!("location={}", clip.display()))
        .status()
        .expect("gst-launch-1.0 (scripts/setup.sh)");
    assert!(status.success(), "gst-launch-1.0 could not write {}", clip.display());
    clip
}
