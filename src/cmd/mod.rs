//! The offline commands: what a user runs by hand next to the appliance, not the appliance
//! itself. Each one is built from the appliance's own pieces (its detector, tracker, pitch
//! geometry and run loop), never from copies, so what they measure is what the daemon does.
//!
//! - [`bench`]: `footrackd bench`, the pipeline against its physical limit.
//! - [`detect`]: `footrackd detect`, the detector on still images.
//! - [`calibrate`]: `footrackd calibrate`, the pitch keypoint model and its fit on still images.
//! - [`track_mot`]: `footrackd track-mot`, the tracker on MOTChallenge detections.
//! - [`pitch_map`]: `footrackd pitch-map`, boxes through a calibration to metres.
//! - [`mot_text`]: the MOTChallenge text format the last two read.
//!
//! `cmd` sits above [`crate::app`]: it may use the appliance, the appliance never uses it.

pub mod bench;
pub mod calibrate;
pub mod detect;
pub mod mot_text;
pub mod pitch_map;
pub mod track_mot;
