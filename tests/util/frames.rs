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
