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

/// JPEG encoding of I420 frames through one GStreamer pipeline kept between pictures (made
/// again when the frame size changes): snapshots and the live view pay no pipeline start-up.
#[derive(Default)]
pub(super) struct JpegEncoder {
    current: Option<JpegPipeline>,
}

struct JpegPipeline {
    size: (u32, u32),
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    sink: gst_app::AppSink,
    encoder: gst::Element,
    quality: u8,
}

impl Drop for JpegPipeline {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn snapshot_error(e: String) -> AnnotateError {
    AnnotateError::Writer(format!("JPEG: {e}"))
}

impl JpegPipeline {
    fn new(width: u32, height: u32) -> Result<Self, AnnotateError> {
        let fail = snapshot_error;
        gst::init().map_err(|e| fail(e.to_string()))?;
        let desc = format!(
            "appsrc name=src format=time caps=video/x-raw,format=I420,width={width},height={height},framerate=0/1 \
             ! jpegenc name=enc ! appsink name=sink sync=false max-buffers=2"
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
        let encoder = pipeline.by_name("enc").ok_or_else(|| fail("no jpegenc".into()))?;
        pipeline.set_state(gst::State::Playing).map_err(|e| fail(e.to_string()))?;
        Ok(JpegPipeline { size: (width, height), pipeline, src, sink, encoder, quality: 0 })
    }

    fn encode(&mut self, i420: &[u8], quality: u8) -> Result<Vec<u8>, AnnotateError> {
        let fail = snapshot_error;
        if self.quality != quality {
            self.encoder.set_property("quality", quality.clamp(1, 100) as i32);
            self.quality = quality;
        }
        self.src.push_buffer(gst::Buffer::from_slice(i420.to_vec())).map_err(|e| fail(e.to_string()))?;
        let sample = self
            .sink
            .try_pull_sample(gst::ClockTime::from_seconds(10))
            .ok_or_else(|| fail("no JPEG came out".into()))?;
        let buffer = sample.buffer().ok_or_else(|| fail("empty sample".into()))?;
        let map = buffer.map_readable().map_err(|e| fail(e.to_string()))?;
        Ok(map.as_slice().to_vec())
    }
}

impl JpegEncoder {
    /// Encodes one `width` x `height` I420 frame at `quality` (1-100).
    pub(super) fn encode(
        &mut self,
        i420: &[u8],
        width: u32,
        height: u32,
        quality: u8,
    ) -> Result<Vec<u8>, AnnotateError> {
        if self.current.as_ref().is_none_or(|p| p.size != (width, height)) {
            self.current = None;
            self.current = Some(JpegPipeline::new(width, height)?);
        }
        let Some(p) = self.current.as_mut() else { return Err(snapshot_error("no encoder".into())) };
        let result = p.encode(i420, quality);
        if result.is_err() {
            // Made again for the next picture.
            self.current = None;
        }
        result
    }
}
