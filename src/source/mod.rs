//! Video input: GStreamer decode into the frame ring, with decoder choice and reconnection.

pub mod decoder;
pub mod gst;
pub mod stats;

pub use decoder::DecoderFamily;
pub use gst::{SourceError, SourceHandle, SourceOptions, spawn};
pub use stats::{SourceState, SourceStats};
