//! Decoder choice: NVDEC where present, software otherwise, or what the config forces.
//!
//! `uridecodebin` picks decoders by rank, so the choice is made by re-ranking the decoder
//! factories before the pipeline is built: the chosen family is raised, the others lowered.

use gst::prelude::*;
use gstreamer as gst;

use super::options::DecoderChoice;

/// NVIDIA desktop/server decoders (gst-plugins-bad `nvcodec`).
const NVDEC: &[&str] = &["nvh264dec", "nvh265dec", "nvh264sldec", "nvh265sldec", "nvvp9dec", "nvav1dec"];
/// Jetson's decoder (JetPack).
const NVV4L2: &[&str] = &["nvv4l2decoder"];

/// The decoder family in use, for logs and health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecoderFamily {
    /// CPU decoding.
    Software,
    /// NVDEC through nvh264dec/nvh265dec.
    Nvdec,
    /// Jetson nvv4l2decoder.
    Nvv4l2,
}

impl DecoderFamily {
    /// Name in logs and health.
    pub fn as_str(self) -> &'static str {
        match self {
            DecoderFamily::Software => "software",
            DecoderFamily::Nvdec => "nvdec",
            DecoderFamily::Nvv4l2 => "nvv4l2",
        }
    }
}

fn present(names: &[&str]) -> bool {
    names.iter().any(|n| gst::ElementFactory::find(n).is_some())
}

fn set_rank(names: &[&str], rank: gst::Rank) {
    for n in names {
        if let Some(f) = gst::ElementFactory::find(n) {
            f.set_rank(rank);
        }
    }
}

/// Ranks the decoder factories for `choice` and returns the family that will be used.
/// A forced hardware family that is missing falls back to software with a warning.
pub(super) fn select(choice: DecoderChoice) -> DecoderFamily {
    let family = match choice {
        DecoderChoice::Software => DecoderFamily::Software,
        DecoderChoice::Nvv4l2 if present(NVV4L2) => DecoderFamily::Nvv4l2,
        DecoderChoice::Nvdec if present(NVDEC) => DecoderFamily::Nvdec,
        DecoderChoice::Auto if present(NVV4L2) => DecoderFamily::Nvv4l2,
        DecoderChoice::Auto if present(NVDEC) => DecoderFamily::Nvdec,
        DecoderChoice::Auto => DecoderFamily::Software,
        forced => {
            tracing::warn!(requested = ?forced, "Requested hardware decoder is not available; decoding in software.");
            DecoderFamily::Software
        }
    };
    let high = gst::Rank::PRIMARY + 100;
    match family {
        DecoderFamily::Software => {
            set_rank(NVDEC, gst::Rank::NONE);
            set_rank(NVV4L2, gst::Rank::NONE);
        }
        DecoderFamily::Nvdec => {
            set_rank(NVDEC, high);
            set_rank(NVV4L2, gst::Rank::NONE);
        }
        DecoderFamily::Nvv4l2 => {
            set_rank(NVV4L2, high);
            set_rank(NVDEC, gst::Rank::NONE);
        }
    }
    // Software decoders keep their own ranks: they remain the fallback for codecs the hardware lacks.
    family
}
