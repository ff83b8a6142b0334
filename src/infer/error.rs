//! Why detection failed.

use std::path::PathBuf;

/// Why detection failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum InferError {
    /// The ONNX Runtime library could not be loaded.
    #[error("{0}")]
    Runtime(String),
    /// The model file could not be loaded.
    #[error("cannot load model {path}: {message}")]
    Model {
        /// Model path.
        path: PathBuf,
        /// ONNX Runtime's message.
        message: String,
    },
    /// A run failed.
    #[error("inference failed: {0}")]
    Run(String),
    /// The model's output shape does not match its manifest.
    #[error("model output shape {shape:?} does not match the manifest ({expected})")]
    OutputShape {
        /// Shape seen.
        shape: Vec<i64>,
        /// What the manifest implies.
        expected: String,
    },
}

impl InferError {
    /// Whether retrying may help (a run failure might be transient; a missing model never is).
    pub fn is_transient(&self) -> bool {
        matches!(self, InferError::Run(_))
    }
}
