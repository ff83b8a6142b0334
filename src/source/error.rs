//! Why a source failed for good.

/// Why the source failed for good.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// GStreamer could not be initialised.
    #[error("cannot initialise GStreamer: {0}")]
    Init(String),
    /// An element is missing (a plugin package is not installed).
    #[error("GStreamer element {0:?} is missing: install the GStreamer plugin packages (scripts/setup.sh)")]
    MissingElement(&'static str),
    /// The input file does not exist.
    #[error("input file {0} does not exist")]
    FileMissing(String),
    /// The pipeline reported an error.
    #[error("GStreamer error from {element}: {message} ({debug})")]
    Pipeline {
        /// Path of the element that failed.
        element: String,
        /// The error.
        message: String,
        /// GStreamer's debug detail.
        debug: String,
    },
    /// The pipeline could not be started.
    #[error("cannot start the pipeline: {0}")]
    State(String),
    /// The decoded video cannot be negotiated into frames footrackd reads (a decoder whose
    /// output needs a missing converter, caps no element accepts): a configuration problem that
    /// retrying does not fix.
    #[error("the decoded video cannot be negotiated ({0}); check source.decoder and the platform's GStreamer plugins")]
    Negotiation(String),
    /// A file gave no frame for this many seconds, with neither an error nor its end.
    #[error("the input gave no frame for {0} s, with neither an error nor its end (a truncated or unplayable file?)")]
    NoProgress(u64),
    /// No source configured.
    #[error("no source configured (source.uri is empty)")]
    NoSource,
    /// The decode thread could not be spawned.
    #[error("cannot start the decode thread: {0}")]
    Spawn(#[from] std::io::Error),
}

impl SourceError {
    /// Whether a live source should retry after this error.
    pub fn is_transient(&self) -> bool {
        matches!(self, SourceError::Pipeline { .. } | SourceError::State(_))
    }
}
