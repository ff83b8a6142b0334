//! The annotated video file: I420 frames through GStreamer's x264 into MP4.

use std::path::Path;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::AnnotateError;

/// An MP4 being written.
pub(super) struct VideoWriter {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    frame_ns: u64,
    frames: u64,
}

impl VideoWriter {
    /// Starts writing `path` for `width` x `height` I420 frames at `fps`.
    pub(super) fn create(path: &Path, width: u32, height: u32, fps: f32) -> Result<Self, AnnotateError> {
        let fail = |e: String| AnnotateError::Writer(format!("{}: {e}", path.display()));
        gst::init().map_err(|e| fail(e.to_string()))?;
        let fps_milli = (fps.clamp(1.0, 240.0) * 1000.0).round() as i32;
        let desc = format!(
            "appsrc name=src format=time caps=video/x-raw,format=I420,width={width},height={height},framerate={fps_milli}/1000 \
             ! videoconvert ! x264enc speed-preset=ultrafast tune=zerolatency key-int-max=50 ! mp4mux ! filesink name=sink"
        );
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| fail(format!("{e} (x264enc and mp4mux: scripts/setup.sh installs them)")))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| fail("not a pipeline".into()))?;
        let sink = pipeline.by_name("sink").ok_or_else(|| fail("no filesink".into()))?;
        sink.set_property("location", path.to_string_lossy().as_ref());
        let src = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| fail("no appsrc".into()))?;
        pipeline.set_state(gst::State::Playing).map_err(|e| fail(e.to_string()))?;
        Ok(VideoWriter { pipeline, src, frame_ns: (1e12 / fps_milli as f64) as u64, frames: 0 })
    }

    /// Appends one frame.
    pub(super) fn push(&mut self, i420: &[u8]) -> Result<(), AnnotateError> {
        let mut buffer = gst::Buffer::from_slice(i420.to_vec());
        if let Some(b) = buffer.get_mut() {
            b.set_pts(gst::ClockTime::from_nseconds(self.frames * self.frame_ns));
            b.set_duration(gst::ClockTime::from_nseconds(self.frame_ns));
        }
        self.frames += 1;
        self.src.push_buffer(buffer).map(|_| ()).map_err(|e| AnnotateError::Writer(e.to_string()))
    }

    /// Finishes the file (end of stream, wait for the muxer) and returns the frames written.
    pub(super) fn finish(self) -> Result<u64, AnnotateError> {
        let _ = self.src.end_of_stream();
        let mut result = Ok(self.frames);
        if let Some(bus) = self.pipeline.bus() {
            match bus
                .timed_pop_filtered(gst::ClockTime::from_seconds(30), &[gst::MessageType::Eos, gst::MessageType::Error])
            {
                Some(msg) => {
                    if let gst::MessageView::Error(e) = msg.view() {
                        result = Err(AnnotateError::Writer(e.error().to_string()));
                    }
                }
                None => result = Err(AnnotateError::Writer("the muxer did not finish within 30 s".into())),
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }
}

/// Encodes one I420 frame as JPEG (for snapshots).
pub(super) fn encode_jpeg(i420: &[u8], width: u32, height: u32, quality: u32) -> Result<Vec<u8>, AnnotateError> {
    let fail = |e: String| AnnotateError::Writer(format!("snapshot: {e}"));
    let desc = format!(
        "appsrc name=src format=time caps=video/x-raw,format=I420,width={width},height={height},framerate=1/1 \
         ! videoconvert ! jpegenc quality={quality} ! appsink name=sink sync=false"
    );
    let pipeline = gst::parse::launch(&desc)
        .map_err(|e| fail(e.to_string()))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| fail("not a pipeline".into()))?;
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .ok_or_else(|| fail("no appsrc".into()))?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| fail("no appsink".into()))?;
    pipeline.set_state(gst::State::Playing).map_err(|e| fail(e.to_string()))?;
    let result = src
        .push_buffer(gst::Buffer::from_slice(i420.to_vec()))
        .map_err(|e| fail(e.to_string()))
        .and_then(|_| {
            sink.try_pull_sample(gst::ClockTime::from_seconds(10)).ok_or_else(|| fail("no JPEG came out".into()))
        })
        .and_then(|sample| {
            let buffer = sample.buffer().ok_or_else(|| fail("empty sample".into()))?;
            let map = buffer.map_readable().map_err(|e| fail(e.to_string()))?;
            Ok(map.as_slice().to_vec())
        });
    let _ = pipeline.set_state(gst::State::Null);
    result
}
