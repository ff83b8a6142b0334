//! The appliance's run path: wiring and lifecycle ([`run`]; several cameras in `appliance`, one
//! detector shared through `shared_detector`, each camera's threads in `pipeline`), the control loop (`supervisor`)
//! and the probation of remote changes (`probation`), the inference thread (`worker`, `processor`, and `in_flight` for two frames at once), health
//! assembly (`health`), what the local HTTP face shows (`face`), the frame ring's memory (`slots`)
//! and the run summary. The offline
//! commands (bench, detect, track-mot, pitch-map) live in [`crate::cmd`], built on these pieces.
//!
//! `app` is the only place that knows every stage; the stages meet here and through the ring.

mod appliance;
mod detector_link;
mod face;
mod health;
mod host_pixels;
mod in_flight;
mod mailbox;
mod pipeline;
mod probation;
mod processor;
mod run;
mod shared_detector;
mod shared_keypoints;
mod slots;
mod summary;
mod supervisor;
mod worker;

use std::path::PathBuf;

pub use detector_link::DetectorLink;
pub use health::HealthSnapshot;
pub use processor::FrameProcessor;
pub use run::run;
pub use slots::{gpu_frame_ring, gpu_frames_wanted};
pub use summary::RunSummary;

/// Options of one run that are not part of the configuration.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop after this many decoded frames.
    pub max_frames: Option<u64>,
    /// The file to re-read on SIGHUP.
    pub config_path: Option<PathBuf>,
    /// Whether `FOOTRACKD_*` overrides apply on reload.
    pub with_env: bool,
    /// Write an annotated video here (boxes, ids, teams, roles, ball trail, minimap).
    pub annotate: Option<PathBuf>,
}
