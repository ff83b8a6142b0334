//! The appliance: wiring and lifecycle ([`run`]), the control loop (`supervisor`), the
//! inference thread (`worker`), health assembly (`health`), the run summary, and the
//! commands that users run on the device: `bench`, `detect` ([`detect`]), `pitch-map` ([`pitch_map`]) and `track-mot`
//! ([`mot`]).
//!
//! `app` is the only place that knows every stage; the stages meet here and through the ring.

pub mod bench;
pub mod detect;
mod health;
pub mod mot;
pub mod pitch_map;
mod run;
mod slots;
mod summary;
mod supervisor;
mod worker;

use std::path::PathBuf;

pub use health::HealthSnapshot;
pub use run::run;
pub use summary::RunSummary;
pub use worker::FrameProcessor;

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
