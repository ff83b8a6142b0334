//! footrackd: live football video in, player and ball tracks out over MQTT.
//!
//! # Data flow
//!
//! ```text
//!  source (GStreamer thread)        ring (lock-free)         infer thread                      mqtt thread
//!  uridecodebin ! videoconvert ──▶ [slot][slot][slot] ──▶ detect ─▶ track ─▶ encode ─try_publish─▶ rumqttc
//!  ! appsink  (copies into a slot)   drop_oldest | block     (infer)  (track)  (publish)            Connection
//! ```
//!
//! # Who owns what
//!
//! - [`source`] owns the GStreamer pipeline and its bus; its appsink callback writes frames
//!   into [`ring`] slots and never waits for inference under `drop_oldest`. It reconnects live
//!   sources and counts decoded, skipped and stalled frames.
//! - [`ring`] owns the preallocated frame slots; indices move through two lock-free queues.
//! - [`worker`] (the inference thread) owns the detector ([`infer`]) and the tracker ([`track`]);
//!   it applies settings changes between frames.
//! - [`publish`] owns the MQTT connection; the frame path only ever calls `try_publish`.
//! - [`app`] builds all of these from a validated [`config::Config`], turns [`control`] intents
//!   (signals, reloads) into actions, and shuts down in order: stop the source, drain, publish
//!   `stopped`.
//! - [`frame`] holds the types every stage shares; [`telemetry`] the counters and logging.
//!
//! The compute cores ([`track`], [`infer::post`], [`infer::pre`]) are pure and synchronous.

#![warn(missing_docs)]

pub mod app;
pub mod bench;
pub mod config;
pub mod control;
pub mod frame;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod infer;
pub mod pitch;
pub mod publish;
pub mod ring;
pub mod source;
pub mod synth;
pub mod telemetry;
pub mod track;
pub mod worker;
