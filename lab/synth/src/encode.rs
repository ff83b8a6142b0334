//! H.264 MP4 output through GStreamer: `appsrc ! x264enc ! h264parse ! mp4mux ! filesink`,
//! with the credits of the cut-outs in the file's tags.

use std::path::Path;

use gst::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;

/// Why encoding failed.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// A GStreamer element is missing (x264enc is in gstreamer1.0-plugins-ugly).
    #[error("GStreamer element {0:?} is missing: install gstreamer1.0-plugins-ugly/bad (scripts/setup.sh)")]
    MissingElement(&'static str),
    /// The pipeline failed.
    #[error("encoding failed: {0}")]
    Pipeline(String),
}

/// An open MP4 being written.
pub struct Mp4Writer {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    frame_ns: u64,
    frames: u64,
}

fn make(name: &'static str) -> Result<gst::Element, EncodeError> {
    gst::ElementFactory::make(name).build().map_err(|_| EncodeError::MissingElement(name))
}

impl Mp4Writer {
    /// Opens `path` for `width` x `height` I420 frames at `fps`, `bitrate_kbps`, with `comment` and `copyright` tags.
    pub fn create(
        path: &Path,
        width: u32,
        height: u32,
        fps: u32,
        bitrate_kbps: u32,
        comment: &str,
        copyright: &str,
    ) -> Result<Self, EncodeError> {
        gst::init().map_err(|e| EncodeError::Pipeline(e.to_string()))?;
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", width as i32)
            .field("height", height as i32)
            .field("framerate", gst::Fraction::new(fps as i32, 1))
            .build();
        let src =
            gst_app::AppSrc::builder().caps(&caps).format(gst::Format::Time).block(true).max_bytes(64 << 20).build();
        let enc = make("x264enc")?;
        enc.set_property("bitrate", bitrate_kbps);
        enc.set_property_from_str("speed-preset", "faster");
        enc.set_property("key-int-max", fps * 2);
        // One thread keeps the bitstream byte-identical from run to run.
        enc.set_property("threads", 1u32);
        let parse = make("h264parse")?;
        let mux = make("mp4mux")?;
        let sink = make("filesink")?;
        sink.set_property("location", path.to_string_lossy().to_string());
        if let Some(setter) = mux.dynamic_cast_ref::<gst::TagSetter>() {
            let mut tags = gst::TagList::new();
            {
                let t = tags.get_mut().ok_or_else(|| EncodeError::Pipeline("tag list".into()))?;
                t.add::<gst::tags::Comment>(&comment, gst::TagMergeMode::Replace);
                t.add::<gst::tags::Copyright>(&copyright, gst::TagMergeMode::Replace);
            }
            setter.merge_tags(&tags, gst::TagMergeMode::Replace);
        }
        let pipeline = gst::Pipeline::new();
        pipeline
            .add_many([src.upcast_ref(), &enc, &parse, &mux, &sink])
            .map_err(|e| EncodeError::Pipeline(e.to_string()))?;
        gst::Element::link_many([src.upcast_ref(), &enc, &parse, &mux, &sink])
            .map_err(|e| EncodeError::Pipeline(e.to_string()))?;
        pipeline.set_state(gst::State::Playing).map_err(|e| EncodeError::Pipeline(e.to_string()))?;
        Ok(Mp4Writer { pipeline, src, frame_ns: 1_000_000_000 / fps as u64, frames: 0 })
    }

    /// Appends one I420 frame.
    pub fn push(&mut self, i420: &[u8]) -> Result<(), EncodeError> {
        let mut buf = gst::Buffer::from_slice(i420.to_vec());
        {
            let b = buf.get_mut().ok_or_else(|| EncodeError::Pipeline("buffer not writable".into()))?;
            b.set_pts(gst::ClockTime::from_nseconds(self.frames * self.frame_ns));
            b.set_duration(gst::ClockTime::from_nseconds(self.frame_ns));
        }
        self.frames += 1;
        self.src.push_buffer(buf).map(|_| ()).map_err(|e| EncodeError::Pipeline(format!("{e:?}")))
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<(), EncodeError> {
        self.src.end_of_stream().map_err(|e| EncodeError::Pipeline(format!("{e:?}")))?;
        let bus = self.pipeline.bus().ok_or_else(|| EncodeError::Pipeline("no bus".into()))?;
        let result = loop {
            let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(60)) else {
                break Err(EncodeError::Pipeline("timed out".into()));
            };
            match msg.view() {
                gst::MessageView::Eos(_) => break Ok(()),
                gst::MessageView::Error(e) => {
                    break Err(EncodeError::Pipeline(format!("{} ({:?})", e.error(), e.debug())));
                }
                _ => {}
            }
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }
}
