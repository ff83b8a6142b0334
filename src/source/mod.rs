//! Video input: GStreamer decode into the frame ring, with decoder choice and reconnection.
//!
//! [`spawn`] starts the source thread ([`run`]: pipeline, bus, retries), which builds a
//! pipeline ([`pipeline`]) whose appsink callback ([`ingest`]) copies each decoded frame into a
//! ring slot. The source knows nothing of the stages after the ring.

#[cfg(feature = "cuda")]
mod cuda_context;
#[cfg(feature = "cuda")]
mod cuda_frames;
mod decoder;
mod error;
mod ingest;
mod options;
mod pipeline;
mod rate_gate;
mod run;
mod stats;
mod still;
mod uri;

pub use decoder::DecoderFamily;
pub use error::SourceError;
pub use options::{DecoderChoice, SourceOptions, SourceSection};
pub use run::{SourceHandle, choose_decoder, init, spawn};
pub use stats::{SourceState, SourceStats};
pub use still::{StillError, StillImage, decode_still};
pub use uri::{CsiCamera, SourceUri, SourceUriError, redact, redact_text};
