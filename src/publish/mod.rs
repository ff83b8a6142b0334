//! Publishing over MQTT: topics, payloads and the connection.

pub mod mqtt;
pub mod payload;
pub mod topics;

pub use mqtt::{IncomingMessage, PublishStats, Publisher, status};
pub use topics::Topics;
