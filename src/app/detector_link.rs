//! Where a camera's frames are detected: by a detector of its own (one camera), or by the
//! detector all cameras share (`shared_detector`, several cameras).

use super::shared_detector::DetectorClient;
use crate::config::Config;
use crate::frame::{Detection, YuvFrame};
use crate::infer::{DetectTiming, Detector, InferError};

/// A camera's detector: its own, or its mailbox at the shared one.
pub struct DetectorLink(Link);

enum Link {
    Own(Box<Detector>),
    Shared(DetectorClient),
}

impl From<Detector> for DetectorLink {
    fn from(d: Detector) -> Self {
        DetectorLink(Link::Own(Box::new(d)))
    }
}

impl DetectorLink {
    /// The camera's mailbox at the shared detector.
    pub(super) fn shared(client: DetectorClient) -> Self {
        DetectorLink(Link::Shared(client))
    }

    /// Whether this camera loads and changes its own model (settings changes load it here);
    /// a shared one is changed once, for every camera, by the appliance.
    pub(super) fn owns_model(&self) -> bool {
        matches!(self.0, Link::Own(_))
    }

    /// Detects on one frame, with the ball's second look also at `hint`.
    pub(super) fn detect_with_hint(
        &mut self,
        frame: &YuvFrame<'_>,
        hint: Option<(f32, f32)>,
        out: &mut Vec<Detection>,
    ) -> Result<DetectTiming, InferError> {
        match &mut self.0 {
            Link::Own(d) => d.detect_with_hint(frame, hint, out),
            Link::Shared(c) => c.detect_with_hint(frame, hint, out),
        }
    }

    /// Takes a prepared change: a new model if one was loaded, then thresholds and regions (a
    /// shared detector is changed by the appliance instead).
    pub(super) fn apply(&mut self, loaded: Option<Detector>, cfg: &Config) {
        if let Link::Own(d) = &mut self.0 {
            super::processor::apply_to_detector(d, loaded, cfg);
        }
    }
}
