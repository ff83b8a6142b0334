//! Still images (JPEG, PNG, anything GStreamer decodes) as I420 frames: what `footrackd detect`
//! feeds the detector, decoded by the same GStreamer the video path uses.

use std::path::Path;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use crate::frame::{PixelFormat, yuv420_bytes};

/// A decoded still: tightly packed I420 planes.
#[derive(Clone, Debug)]
pub struct StillImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Y plane, then U, then V.
    pub i420: Vec<u8>,
}

/// Why a still could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum StillError {
    /// The file does not exist or cannot be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The image.
        path: String,
        /// Why.
        reason: String,
    },
    /// GStreamer could not decode it (not an image, or a format without a plugin).
    #[error("cannot decode {path}: {reason}")]
    Undecodable {
        /// The image.
        path: String,
        /// GStreamer's message.
        reason: String,
    },
}

/// Decodes the first picture of `path` to I420.
pub fn decode_still(path: &Path) -> Result<StillImage, StillError> {
    let shown = path.display().to_string();
    let unreadable = |reason: String| StillError::Unreadable { path: shown.clone(), reason };
    let undecodable = |reason: String| StillError::Undecodable { path: shown.clone(), reason };
    std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    gst::init().map_err(|e| undecodable(e.to_string()))?;
    let pipeline = gst::parse::launch("filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=I420 ! appsink name=sink sync=false max-buffers=1")
        .map_err(|e| undecodable(format!("{e} (install the GStreamer plugins: scripts/setup.sh)")))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| undecodable("not a pipeline".into()))?;
    let result = pull_first(&pipeline, path).map_err(undecodable);
    let _ = pipeline.set_state(gst::State::Null);
    result
}

fn pull_first(pipeline: &gst::Pipeline, path: &Path) -> Result<StillImage, String> {
    let src = pipeline.by_name("src").ok_or("no filesrc")?;
    src.set_property("location", path.to_string_lossy().as_ref());
    let sink =
        pipeline.by_name("sink").ok_or("no appsink")?.downcast::<gst_app::AppSink>().map_err(|_| "not an appsink")?;
    pipeline.set_state(gst::State::Playing).map_err(|e| e.to_string())?;
    let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) else {
        return Err(bus_error(pipeline).unwrap_or_else(|| "no picture decoded".into()));
    };
    let buffer = sample.buffer().ok_or("sample without a buffer")?;
    let caps = sample.caps().ok_or("sample without caps")?;
    let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| e.to_string())?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).map_err(|e| e.to_string())?;
    let mut i420 = vec![0u8; yuv420_bytes(info.width(), info.height())];
    super::ingest::copy_planes(&frame, PixelFormat::I420, &mut i420).map_err(|e| e.to_string())?;
    Ok(StillImage { width: info.width(), height: info.height(), i420 })
}

fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    while let Some(msg) = bus.timed_pop(gst::ClockTime::ZERO) {
        if let gst::MessageView::Error(err) = msg.view() {
            return Some(err.error().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_garbage_files_are_clear_errors() {
        let missing = decode_still(Path::new("/nonexistent/frame.jpg")).unwrap_err();
        assert!(matches!(missing, StillError::Unreadable { .. }), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("noise.jpg");
        std::fs::write(&garbage, b"this is not a picture").unwrap();
        let err = decode_still(&garbage).unwrap_err();
        assert!(matches!(err, StillError::Undecodable { .. }), "{err}");
        assert!(err.to_string().contains("noise.jpg"), "{err}");
    }
}
