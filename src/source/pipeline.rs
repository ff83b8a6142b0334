//! Builds one GStreamer pipeline: `uridecodebin ! videoconvert ! appsink` (CUDA frames straight to
//! the appsink; Jetson NVMM frames through `nvvidconv` first), wired to the ingest.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::Thread;

use gst::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;

use super::error::SourceError;
use super::ingest::Ingest;
use super::options::SourceOptions;
use super::stats::SourceStats;
use super::uri::{CsiCamera, SourceUri, redact_text};
use crate::ring::FrameRing;
use crate::shutdown::Shutdown;

fn make(name: &'static str) -> Result<gst::Element, SourceError> {
    gst::ElementFactory::make(name).build().map_err(|_| SourceError::MissingElement(name))
}

pub(super) fn build(
    opts: &SourceOptions,
    uri: &str,
    ring: &Arc<FrameRing>,
    consumer: &Thread,
    stats: &Arc<SourceStats>,
    shutdown: &Shutdown,
) -> Result<(gst::Pipeline, Arc<AtomicBool>), SourceError> {
    let pipeline = gst::Pipeline::new();
    let convert = make("videoconvert")?;
    let wiring = Wiring { ring, consumer, stats, shutdown };
    if let SourceUri::Csi(camera) = &opts.uri {
        return build_csi(&pipeline, camera, &convert, opts, &wiring);
    }
    #[cfg(feature = "cuda")]
    if opts.gpu_frames
        && opts.share_cuda_context
        && let Some(context) = super::cuda_context::shared_context()
    {
        // A bin hands its contexts to every element added later: the decoder uridecodebin
        // plugs in finds ours instead of making its own.
        pipeline.set_context(&context);
    }
    let src = make("uridecodebin")?;
    src.set_property("uri", uri);
    let system = gst::Caps::builder("video/x-raw").field("format", gst::List::new(["I420", "NV12"])).build();
    // Frames kept on the GPU: NVDEC's natural output, offered first; system memory stays
    // acceptable, so a decoder without CUDA output still negotiates.
    let cuda = gst::Caps::builder("video/x-raw").features(["memory:CUDAMemory"]).field("format", "NV12").build();
    let caps = if opts.gpu_frames {
        let mut c = cuda.clone();
        c.merge(system.clone());
        c
    } else {
        system.clone()
    };
    let sink = gst_app::AppSink::builder()
        .caps(&caps)
        .max_buffers(2)
        .drop(ring.drops_when_behind())
        .sync(opts.realtime)
        .build();
    pipeline.add_many([&src, &convert, sink.upcast_ref()]).map_err(|e| SourceError::State(e.to_string()))?;
    convert.link(&sink).map_err(|e| SourceError::State(e.to_string()))?;
    let sink_weak = sink.downgrade();
    let gpu_frames = opts.gpu_frames;

    let transport = opts.rtsp_transport.clone();
    let latency = opts.latency_ms.min(u32::MAX as u64) as u32;
    src.connect("source-setup", false, move |args| {
        if let Some(Ok(source)) = args.get(1).map(|v| v.get::<gst::Element>()) {
            if source.find_property("protocols").is_some() {
                source.set_property_from_str("protocols", &transport);
            }
            if source.find_property("latency").is_some() && source.property_type("latency") == Some(u32::static_type())
            {
                source.set_property("latency", latency);
            }
        }
        None
    });
    let convert_weak = convert.downgrade();
    let pipeline_weak = pipeline.downgrade();
    src.connect_pad_added(move |_, pad| {
        let Some(convert) = convert_weak.upgrade() else { return };
        let pad_caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let is_video = pad_caps.structure(0).is_some_and(|s| s.name().starts_with("video/"));
        if !is_video {
            return;
        }
        // A decoder that can hand over CUDA memory goes straight to the appsink (videoconvert
        // would force a copy to system memory); anything else through videoconvert.
        let target = if gpu_frames && pad_caps.can_intersect(&cuda) {
            let Some(sink) = sink_weak.upgrade() else { return };
            if let (Some(convert_src), Some(sink_pad)) = (convert.static_pad("src"), sink.static_pad("sink")) {
                let _ = convert_src.unlink(&sink_pad);
            }
            tracing::info!("Decoded frames stay in GPU memory (CUDAMemory).");
            sink.static_pad("sink")
        } else if is_nvmm(&pad_caps) {
            // Jetson's nvv4l2decoder hands over NVMM buffers, which videoconvert cannot read:
            // nvvidconv copies them once into system memory (NV12) on the way to the ring.
            let Some(pipeline) = pipeline_weak.upgrade() else { return };
            match nvmm_bridge(&pipeline, &convert) {
                Ok(bridge) => {
                    tracing::info!("NVMM frames (Jetson) converted to system memory by nvvidconv.");
                    bridge.static_pad("sink")
                }
                Err(e) => {
                    // On the bus as a missing plugin: a configuration error, not retried.
                    let src = pad.parent_element();
                    let text = format!("{e}: the decoder outputs NVMM memory; install JetPack's GStreamer plugins (nvvidconv) or set source.decoder = \"software\"");
                    if let Some(src) = src {
                        gst::element_error!(src, gst::CoreError::MissingPlugin, ["{}", text]);
                    }
                    return;
                }
            }
        } else {
            convert.static_pad("sink")
        };
        if let Some(sinkpad) = target
            && !sinkpad.is_linked()
            && let Err(e) = pad.link(&sinkpad)
        {
            tracing::warn!(error = ?e, "Cannot link the decoded video pad.");
        }
    });

    attach_sink(&pipeline, &sink, opts, &wiring)
}

/// Where decoded frames go: the ring, the thread it wakes, the counters and the stop token.
struct Wiring<'a> {
    ring: &'a Arc<FrameRing>,
    consumer: &'a Thread,
    stats: &'a Arc<SourceStats>,
    shutdown: &'a Shutdown,
}

/// `nvarguscamerasrc sensor-id=N ! video/x-raw(memory:NVMM),... ! nvvidconv ! NV12 ! videoconvert
/// ! appsink`: a Jetson CSI camera, converted once into system memory on its way to the ring.
fn build_csi(
    pipeline: &gst::Pipeline,
    camera: &CsiCamera,
    convert: &gst::Element,
    opts: &SourceOptions,
    wiring: &Wiring<'_>,
) -> Result<(gst::Pipeline, Arc<AtomicBool>), SourceError> {
    let src = make("nvarguscamerasrc")?;
    src.set_property("sensor-id", camera.sensor as i32);
    let mode = make("capsfilter")?;
    mode.set_property("caps", csi_caps(camera));
    let sink = gst_app::AppSink::builder()
        .caps(&gst::Caps::builder("video/x-raw").field("format", gst::List::new(["I420", "NV12"])).build())
        .max_buffers(2)
        .drop(wiring.ring.drops_when_behind())
        .sync(false)
        .build();
    pipeline.add_many([&src, &mode, convert, sink.upcast_ref()]).map_err(|e| SourceError::State(e.to_string()))?;
    let bridge = nvmm_bridge(pipeline, convert)?;
    gst::Element::link_many([&src, &mode, &bridge]).map_err(|e| SourceError::Negotiation(e.to_string()))?;
    convert.link(&sink).map_err(|e| SourceError::Negotiation(e.to_string()))?;
    tracing::info!(
        sensor = camera.sensor,
        width = camera.width,
        height = camera.height,
        fps = camera.fps,
        "CSI camera through nvarguscamerasrc and nvvidconv."
    );
    attach_sink(pipeline, &sink, opts, wiring)
}

/// The NVMM caps asked of a CSI camera.
pub(super) fn csi_caps(camera: &CsiCamera) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .features(["memory:NVMM"])
        .field("width", camera.width as i32)
        .field("height", camera.height as i32)
        .field("framerate", gst::Fraction::new(camera.fps as i32, 1))
        .field("format", "NV12")
        .build()
}

/// Wires the ingest to `sink` and starts the pipeline.
fn attach_sink(
    pipeline: &gst::Pipeline,
    sink: &gst_app::AppSink,
    opts: &SourceOptions,
    wiring: &Wiring<'_>,
) -> Result<(gst::Pipeline, Arc<AtomicBool>), SourceError> {
    let Wiring { ring, consumer, stats, shutdown } = *wiring;
    let limit_hit = Arc::new(AtomicBool::new(false));
    let mut ingest = Ingest {
        ring: Arc::clone(ring),
        consumer: consumer.clone(),
        stats: Arc::clone(stats),
        shutdown: shutdown.clone(),
        limit_hit: Arc::clone(&limit_hit),
        max_frames: opts.max_frames,
        info: None,
        rate: Default::default(),
        staging: Vec::new(),
    };
    sink.set_callbacks(gst_app::AppSinkCallbacks::builder().new_sample(move |sink| ingest.on_sample(sink)).build());

    pipeline.set_state(gst::State::Playing).map_err(|_| {
        let detail = pipeline
            .bus()
            .and_then(|b| b.pop_filtered(&[gst::MessageType::Error]))
            .map(|m| error_of(&m))
            .map(|e| e.to_string())
            .unwrap_or_else(|| "state change refused".into());
        let _ = pipeline.set_state(gst::State::Null);
        SourceError::State(detail)
    })?;
    Ok((pipeline.clone(), limit_hit))
}

/// Whether decoded caps are in Jetson NVMM memory.
pub(super) fn is_nvmm(caps: &gst::CapsRef) -> bool {
    caps.features(0).is_some_and(|f| f.contains("memory:NVMM"))
}

/// Adds `nvvidconv ! video/x-raw,format=NV12` in front of `convert`; returns nvvidconv.
fn nvmm_bridge(pipeline: &gst::Pipeline, convert: &gst::Element) -> Result<gst::Element, SourceError> {
    let nvvidconv = make("nvvidconv")?;
    let filter = make("capsfilter")?;
    filter.set_property("caps", gst::Caps::builder("video/x-raw").field("format", "NV12").build());
    pipeline.add_many([&nvvidconv, &filter]).map_err(|e| SourceError::State(e.to_string()))?;
    gst::Element::link_many([&nvvidconv, &filter, convert]).map_err(|e| SourceError::State(e.to_string()))?;
    for e in [&nvvidconv, &filter] {
        e.sync_state_with_parent().map_err(|e| SourceError::State(e.to_string()))?;
    }
    Ok(nvvidconv)
}

pub(super) fn error_of(msg: &gst::Message) -> SourceError {
    match msg.view() {
        gst::MessageView::Error(err) if is_negotiation(&err.error(), err.debug().as_deref()) => {
            SourceError::Negotiation(redact_text(&format!(
                "{} ({})",
                err.error(),
                err.debug().as_deref().unwrap_or("")
            )))
        }
        gst::MessageView::Error(err) => SourceError::Pipeline {
            element: msg.src().map(|s| s.path_string().to_string()).unwrap_or_else(|| "?".into()),
            // GStreamer quotes the failing location, credentials included: never log them.
            message: redact_text(&err.error().to_string()),
            debug: err.debug().map(|d| redact_text(&d)).unwrap_or_default(),
        },
        _ => SourceError::State("unexpected message".into()),
    }
}
/// Whether a pipeline error means the video cannot be negotiated (retrying will not help): a
/// missing plugin, or a streaming thread that stopped with `not-negotiated`.
fn is_negotiation(error: &gst::glib::Error, debug: Option<&str>) -> bool {
    error.matches(gst::CoreError::MissingPlugin)
        || error.matches(gst::CoreError::Negotiation)
        || error.matches(gst::StreamError::CodecNotFound)
        || debug.is_some_and(|d| d.contains("not-negotiated"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvmm_caps_are_recognised_and_system_caps_are_not() {
        gst::init().unwrap();
        let nvmm = gst::Caps::builder("video/x-raw").features(["memory:NVMM"]).field("format", "NV12").build();
        let system = gst::Caps::builder("video/x-raw").field("format", "NV12").build();
        let cuda = gst::Caps::builder("video/x-raw").features(["memory:CUDAMemory"]).field("format", "NV12").build();
        assert!(is_nvmm(&nvmm));
        assert!(!is_nvmm(&system));
        assert!(!is_nvmm(&cuda));
    }

    #[test]
    fn without_nvvidconv_the_bridge_names_the_missing_element() {
        gst::init().unwrap();
        if gst::ElementFactory::find("nvvidconv").is_some() {
            return; // a Jetson: the element exists
        }
        let pipeline = gst::Pipeline::new();
        let convert = make("videoconvert").unwrap();
        pipeline.add(&convert).unwrap();
        let err = nvmm_bridge(&pipeline, &convert).unwrap_err();
        assert!(matches!(err, SourceError::MissingElement("nvvidconv")), "{err}");
        assert!(!err.is_transient());
    }

    #[test]
    fn caps_nothing_can_produce_are_a_negotiation_error_not_a_retry() {
        gst::init().unwrap();
        // A source forced into NVMM memory it cannot produce (as a Jetson decoder's output
        // reaching an element that cannot read it): the real not-negotiated error of GStreamer.
        // Linked without the caps check (as a decoder's pad-added link is), so the failure comes
        // where it does in the field: the streaming thread stops with not-negotiated.
        let pipeline = gst::Pipeline::new();
        let src = gst::ElementFactory::make("videotestsrc").property("num-buffers", 5).build().unwrap();
        let nvmm_only = gst::ElementFactory::make("capsfilter")
            .property(
                "caps",
                gst::Caps::builder("video/x-raw").features(["memory:NVMM"]).field("format", "NV12").build(),
            )
            .build()
            .unwrap();
        let sink = make("fakesink").unwrap();
        pipeline.add_many([&src, &nvmm_only, &sink]).unwrap();
        src.static_pad("src")
            .unwrap()
            .link_full(&nvmm_only.static_pad("sink").unwrap(), gst::PadLinkCheck::empty())
            .unwrap();
        nvmm_only
            .static_pad("src")
            .unwrap()
            .link_full(&sink.static_pad("sink").unwrap(), gst::PadLinkCheck::empty())
            .unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let msg = bus
            .timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Error, gst::MessageType::Eos])
            .expect("an error");
        pipeline.set_state(gst::State::Null).unwrap();
        let err = error_of(&msg);
        assert!(matches!(err, SourceError::Negotiation(_)), "{err}");
        assert!(!err.is_transient(), "a negotiation failure must not be retried forever");
    }

    #[test]
    fn csi_cameras_ask_nvarguscamerasrc_for_nvmm_in_their_mode_or_name_it_missing() {
        gst::init().unwrap();
        let cam = CsiCamera { sensor: 1, width: 1280, height: 720, fps: 60 };
        let caps = csi_caps(&cam);
        assert!(is_nvmm(&caps));
        assert_eq!(
            caps.to_string(),
            "video/x-raw(memory:NVMM), width=(int)1280, height=(int)720, framerate=(fraction)60/1, format=(string)NV12"
        );
        if gst::ElementFactory::find("nvarguscamerasrc").is_none() {
            // Not a Jetson: the camera source is named as missing, a permanent error.
            let e = make("nvarguscamerasrc").unwrap_err();
            assert!(matches!(e, SourceError::MissingElement("nvarguscamerasrc")) && !e.is_transient(), "{e}");
        }
    }
}
