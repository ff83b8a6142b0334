//! footrackd: live football video in, player and ball tracks out over MQTT.
//!
//! # Data flow
//!
//! ```text
//!  source (GStreamer thread)        ring (lock-free)         infer thread (app::worker)        mqtt thread
//!  uridecodebin ! videoconvert ──▶ [slot][slot][slot] ──▶ detect ─▶ track ─▶ encode ─try_publish─▶ rumqttc
//!  ! appsink  (copies into a slot)   drop_oldest | block     (infer)  (track)  (publish)            Connection
//! ```
//!
//! # Layout: one dependency rule
//!
//! ```text
//!  main ─▶ cmd ─▶ app ─▶ config ─▶ stages {source, infer, track, publish, control}
//!                                          ─▶ edges {ring, gpu}
//!                                          ─▶ ground {frame, state, pitch, pool, telemetry, problems, shutdown, wake}
//! ```
//!
//! A module imports only from layers to its right. Stages never import each other or
//! `config`: the source and the inference thread meet only through the [`ring`]. No two
//! top-level modules depend on each other, however indirectly. Each stage owns
//! its section type, its enums and the conversion from its section to its options;
//! [`config`] assembles the sections, validates across them and resolves paths. [`gpu`] holds
//! only CUDA plumbing and imports nothing of ours. The lab tool that renders synthetic clips is a
//! separate crate (`lab/synth`) that nothing here imports. `tests/floor_plan.rs` checks the rule.
//!
//! # Who owns what
//!
//! - [`cmd`] holds the offline commands (bench, detect, track-mot, pitch-map), built on the
//!   appliance's pieces; nothing in the appliance uses it.
//! - [`app`] builds every stage from a validated [`config::Config`], runs the supervisor loop
//!   (intents from signals and remote config, throttle, health, systemd) and the inference
//!   thread (detect, track, publish), and shuts down in order through one [`shutdown::Shutdown`].
//! - [`source`] owns the GStreamer pipeline and its bus; its appsink callback writes frames into
//!   [`ring`] slots and never waits for inference under `drop_oldest`.
//! - [`infer`] owns the model: tiling, letterboxing (CPU or GPU), the runtime, decoding and NMS.
//! - [`track`] is the pure tracker: detections per frame in, tracks with stable ids out.
//! - [`publish`] owns the MQTT connection; the frame path only ever queues without waiting.
//! - [`control`] holds signals, systemd notification, sensors and the throttle.
//! - [`frame`], [`state`], [`pitch`], [`pool`], [`telemetry`], [`problems`], [`shutdown`] and
//!   [`wake`] are the ground every layer stands on: shared types, the per-frame game state (one
//!   record per tracked object), pitch geometry, the lock-free slot pool under the ring and the
//!   MQTT queue, counters and logging, config problems, the stop signal, and the futex wake-up
//!   the lock-free queues wait on.
//!
//! The compute cores ([`track`], [`infer::post`], [`infer::pre`], [`pitch`]) are pure and synchronous.

#![warn(missing_docs, unreachable_pub)]

pub mod cmd;

pub mod app;
pub mod config;

pub mod control;
pub mod infer;
pub mod publish;
pub mod source;
pub mod track;

#[cfg(feature = "cuda")]
pub mod gpu;
pub mod ring;

pub mod frame;
pub mod pitch;
pub mod pool;
pub mod problems;
pub mod shutdown;
pub mod state;
pub mod telemetry;
pub mod wake;
