//! Test harness: a real mosquitto broker on a free port, an MQTT recorder, and daemon runs.

pub mod broker;
pub mod daemon;
pub mod recorder;

use std::path::PathBuf;

/// `../shared/data` beside the checkout, where the real clips and models live.
pub fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

/// A real broadcast clip (1280x720, 29.97 fps, LaLiga; internal testing only, never shipped).
pub fn broadcast_clip() -> PathBuf {
    shared_data().join("video-broadcast-laliga-sports_analysis/soccer.mp4")
}
