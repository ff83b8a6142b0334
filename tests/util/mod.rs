//! Test harness: a real mosquitto broker on a free port, an MQTT recorder, and daemon runs.

pub mod broker;
pub mod daemon;
pub mod frames;
pub mod proxy;
pub mod recorder;
pub mod rtsp;

use std::path::PathBuf;

/// The repository root (the workspace root; these helpers also serve the lab crate's tests).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if manifest.join("Cargo.lock").is_file() { manifest } else { manifest.join("../..") }
}

/// `../shared/data` beside the checkout, where the real clips and models live.
pub fn shared_data() -> PathBuf {
    repo_root().join("../shared/data")
}

/// A real broadcast clip (1280x720, 29.97 fps, LaLiga; internal testing only, never shipped).
pub fn broadcast_clip() -> PathBuf {
    shared_data().join("video-broadcast-laliga-sports_analysis/soccer.mp4")
}

/// IoU of two `[x1, y1, x2, y2]` boxes, by the daemon's own [`footrackd::frame::BBox::iou`].
pub fn iou(a: &[f32], b: &[f32]) -> f32 {
    let bbox = |v: &[f32]| footrackd::frame::BBox { x1: v[0], y1: v[1], x2: v[2], y2: v[3] };
    bbox(a).iou(&bbox(b))
}
