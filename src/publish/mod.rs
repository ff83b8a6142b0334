//! Publishing over MQTT: topics, versioned payloads and the connection thread.
//!
//! The frame path only queues ([`Publisher::publish_tracks`]); the connection thread owns the
//! broker session. The publisher knows nothing of the stages that produce what it sends.
//! [`annotate`] publishes a picture instead: an annotated video to check by eye; [`http`] serves
//! the local face (metrics, health, live view) on a thread of its own.

pub mod annotate;
pub mod http;
mod mqtt;
mod options;
pub mod payload;
pub mod queue;
mod tls;
mod topics;

pub use mqtt::{IncomingMessage, PublishError, PublishStats, Publisher, status};
pub use options::PublishSection;
pub use tls::{SYSTEM_CA_BUNDLE, TlsError};
pub use topics::Topics;
