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
        share_cuda_context: false,
    };
    let handle = source::spawn(
        opts,
        Arc::clone(&ring),
        std::thread::current(),
        Arc::new(SourceStats::default()),
        Shutdown::new(),
    )
    .unwrap();
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
    test_pattern_encode(dir, name, frames, fps, (320, 180), &["mp4mux"])
}

/// As [`test_pattern_clip`] at `width` x `height`.
pub fn test_pattern_clip_sized(
    dir: &Path,
    name: &str,
    frames: u64,
    fps: u32,
    width: u32,
    height: u32,
) -> std::path::PathBuf {
    test_pattern_encode(dir, name, frames, fps, (width, height), &["mp4mux"])
}

/// Writes `dir/name`: an H.264 byte stream whose resolution changes mid-stream, one part per
/// `(width, height, frames)` (each part starts with its own SPS/PPS, as a camera's after a
/// settings change).
pub fn resolution_change_stream(dir: &Path, name: &str, parts: &[(u32, u32, u64)]) -> std::path::PathBuf {
    let mut bytes = Vec::new();
    for (i, &(w, h, frames)) in parts.iter().enumerate() {
        let part = test_pattern_encode(
            dir,
            &format!("{name}.part{i}"),
            frames,
            10,
            (w, h),
            &["video/x-h264,stream-format=byte-stream,alignment=au"],
        );
        bytes.extend(std::fs::read(&part).unwrap());
    }
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn test_pattern_encode(
    dir: &Path,
    name: &str,
    frames: u64,
    fps: u32,
    (width, height): (u32, u32),
    tail: &[&str],
) -> std::path::PathBuf {
    let clip = dir.join(name);
    let mut cmd = std::process::Command::new("gst-launch-1.0");
    cmd.args(["-q", "videotestsrc", &format!("num-buffers={frames}"), "pattern=ball", "!"]);
    cmd.args([
        &format!("video/x-raw,width={width},height={height},framerate={fps}/1"),
        "!",
        "x264enc",
        "speed-preset=ultrafast",
        "!",
    ]);
    for t in tail {
        cmd.args([*t, "!"]);
    }
    let status = cmd
        .arg("filesink")
        .arg(format!("location={}", clip.display()))
        .status()
        .expect("gst-launch-1.0 (scripts/setup.sh)");
    assert!(status.success(), "gst-launch-1.0 could not write {}", clip.display());
    clip
}

/// Writes a 320x180 PNG test picture (GStreamer's `videotestsrc`) to `path`.
pub fn write_test_png(path: &Path) {
    let status = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc", "num-buffers=1", "pattern=ball", "!", "video/x-raw,width=320,height=180", "!"])
        .args(["videoconvert", "!", "pngenc", "!", "filesink"])
        .arg(format!("location={}", path.display()))
        .status()
        .expect("gst-launch-1.0 (scripts/setup.sh)");
    assert!(status.success(), "gst-launch-1.0 could not write {}", path.display());
}
