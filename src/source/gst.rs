//! The GStreamer source: `uridecodebin ! videoconvert ! appsink`, one decoded frame per
//! callback copied into a ring slot, with reconnection for live sources.
//!
//! The appsink callback runs on GStreamer's streaming thread and never blocks under the
//! `drop_oldest` policy; under `block` (offline files) it waits for a free slot, which is how a
//! file is read no faster than it is processed. A dedicated thread owns the pipeline and its
//! bus: it reports errors with the element that raised them, restarts live sources on error,
//! end of stream or stall with exponential back-off, and stops on request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gst_video::prelude::*;

use super::decoder::{self, DecoderFamily};
use super::stats::{SourceState, SourceStats};
use crate::config::{Config, DecoderChoice, SourceUri};
use crate::frame::{FrameMeta, PixelFormat, monotonic_ns, unix_ns};
use crate::ring::{FrameRing, FrameSlot, PushRefused};

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

/// Settings of the source, from `[source]` and the command line.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// What to read.
    pub uri: SourceUri,
    /// Play files at their own rate.
    pub realtime: bool,
    /// Decoder selection.
    pub decoder: DecoderChoice,
    /// Declare a live source stalled after this long without a frame.
    pub stall_timeout: Duration,
    /// First reconnect delay.
    pub reconnect_initial: Duration,
    /// Longest reconnect delay.
    pub reconnect_max: Duration,
    /// `tcp` or `udp` for RTSP.
    pub rtsp_transport: String,
    /// RTSP jitter buffer, ms.
    pub latency_ms: u64,
    /// Stop after this many decoded frames.
    pub max_frames: Option<u64>,
}

impl SourceOptions {
    /// The options in a validated config.
    pub fn from_config(cfg: &Config, max_frames: Option<u64>) -> Self {
        let s = &cfg.source;
        SourceOptions {
            uri: cfg.source_uri.clone(),
            realtime: s.realtime,
            decoder: s.decoder,
            stall_timeout: Duration::from_millis(s.stall_timeout_ms),
            reconnect_initial: Duration::from_millis(s.reconnect_initial_ms),
            reconnect_max: Duration::from_millis(s.reconnect_max_ms),
            rtsp_transport: s.rtsp_transport.clone(),
            latency_ms: s.latency_ms,
            max_frames,
        }
    }
}

/// A running source.
pub struct SourceHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), SourceError>>>,
    stats: Arc<SourceStats>,
    decoder: DecoderFamily,
}

impl SourceHandle {
    /// Counters and state.
    pub fn stats(&self) -> &Arc<SourceStats> {
        &self.stats
    }

    /// The decoder family chosen.
    pub fn decoder(&self) -> DecoderFamily {
        self.decoder
    }

    /// Asks the source to stop (returns at once).
    pub fn request_stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// Whether the decode thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits for the decode thread and returns how it ended.
    pub fn join(mut self) -> Result<(), SourceError> {
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(SourceError::State("decode thread panicked".into())),
            None => Ok(()),
        }
    }
}

/// Initialises GStreamer once; safe to call repeatedly.
pub fn init() -> Result<(), SourceError> {
    gst::init().map_err(|e| SourceError::Init(e.to_string()))
}

/// Starts decoding into `ring`, waking `consumer` after each frame.
pub fn spawn(opts: SourceOptions, ring: Arc<FrameRing>, consumer: Thread, stats: Arc<SourceStats>) -> Result<SourceHandle, SourceError> {
    init()?;
    let uri = to_uri(&opts.uri)?;
    for name in ["uridecodebin", "videoconvert", "appsink", "capsfilter"] {
        if gst::ElementFactory::find(name).is_none() {
            return Err(SourceError::MissingElement(name));
        }
    }
    let decoder = decoder::select(opts.decoder);
    tracing::info!(decoder = decoder.as_str(), uri = %redact(&uri), "Source starting.");
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let stats = Arc::clone(&stats);
        let stop = Arc::clone(&stop);
        std::thread::Builder::new().name("source".into()).spawn(move || {
            let r = run(&opts, &uri, &ring, &consumer, &stats, &stop);
            stats.set_state(SourceState::Stopped);
            consumer.unpark();
            r
        })?
    };
    Ok(SourceHandle { stop, thread: Some(thread), stats, decoder })
}

/// Hides credentials in a URI for logs.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &uri[..s], &uri[at + 1..]),
        _ => uri.to_string(),
    }
}

fn to_uri(uri: &SourceUri) -> Result<String, SourceError> {
    match uri {
        SourceUri::Unset => Err(SourceError::NoSource),
        SourceUri::File(p) => {
            let abs = std::fs::canonicalize(p).map_err(|_| SourceError::FileMissing(p.display().to_string()))?;
            if !abs.is_file() {
                return Err(SourceError::FileMissing(p.display().to_string()));
            }
            gst::glib::filename_to_uri(&abs, None).map(|u| u.to_string()).map_err(|e| SourceError::Init(e.to_string()))
        }
        SourceUri::V4l2(p) => Ok(format!("v4l2://{}", p.display())),
        SourceUri::Rtsp(u) | SourceUri::Rtmp(u) | SourceUri::Http(u) => Ok(u.clone()),
    }
}

/// What ended one run of the pipeline.
enum RunEnd {
    Eos,
    Stopped,
    FrameLimit,
    Stalled,
    Error(SourceError),
}

fn run(opts: &SourceOptions, uri: &str, ring: &Arc<FrameRing>, consumer: &Thread, stats: &Arc<SourceStats>, stop: &Arc<AtomicBool>) -> Result<(), SourceError> {
    let live = opts.uri.is_live();
    let mut backoff = opts.reconnect_initial;
    loop {
        stats.set_state(SourceState::Starting);
        let end = match build(opts, uri, ring, consumer, stats, stop) {
            Ok((pipeline, limit_hit)) => {
                let end = watch(&pipeline, opts, live, stats, stop, &limit_hit);
                let _ = pipeline.set_state(gst::State::Null);
                end
            }
            Err(e) => RunEnd::Error(e),
        };
        match end {
            RunEnd::Stopped | RunEnd::FrameLimit => return Ok(()),
            RunEnd::Eos if !live => return Ok(()),
            RunEnd::Error(e) if !live || !e.is_transient() => return Err(e),
            RunEnd::Eos => tracing::warn!("Live source ended; reconnecting."),
            RunEnd::Stalled => tracing::warn!(timeout_ms = opts.stall_timeout.as_millis() as u64, "Source stalled; reconnecting."),
            RunEnd::Error(e) => tracing::warn!(error = %e, "Source failed; reconnecting."),
        }
        stats.set_state(SourceState::Retrying);
        stats.reconnects.fetch_add(1, Relaxed);
        let until = Instant::now() + backoff;
        while Instant::now() < until {
            if stop.load(Relaxed) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        backoff = (backoff * 2).min(opts.reconnect_max);
        if stats.last_frame_mono_ns.load(Relaxed) > 0 {
            // Frames flowed at some point: the next failure starts the back-off afresh.
            backoff = backoff.min(opts.reconnect_initial * 2);
        }
    }
}

fn make(name: &'static str) -> Result<gst::Element, SourceError> {
    gst::ElementFactory::make(name).build().map_err(|_| SourceError::MissingElement(name))
}

fn build(
    opts: &SourceOptions,
    uri: &str,
    ring: &Arc<FrameRing>,
    consumer: &Thread,
    stats: &Arc<SourceStats>,
    stop: &Arc<AtomicBool>,
) -> Result<(gst::Pipeline, Arc<AtomicBool>), SourceError> {
    let pipeline = gst::Pipeline::new();
    let src = make("uridecodebin")?;
    src.set_property("uri", uri);
    let convert = make("videoconvert")?;
    let caps = gst::Caps::builder("video/x-raw").field("format", gst::List::new(["I420", "NV12"])).build();
    let sink = gst_app::AppSink::builder().caps(&caps).max_buffers(2).drop(ring.policy() == crate::config::OverflowPolicy::DropOldest).sync(opts.realtime).build();
    pipeline
        .add_many([&src, &convert, sink.upcast_ref()])
        .map_err(|e| SourceError::State(e.to_string()))?;
    convert.link(&sink).map_err(|e| SourceError::State(e.to_string()))?;

    let transport = opts.rtsp_transport.clone();
    let latency = opts.latency_ms.min(u32::MAX as u64) as u32;
    src.connect("source-setup", false, move |args| {
        if let Some(Ok(source)) = args.get(1).map(|v| v.get::<gst::Element>()) {
            if source.find_property("protocols").is_some() {
                source.set_property_from_str("protocols", &transport);
            }
            if source.find_property("latency").is_some() && source.property_type("latency") == Some(u32::static_type()) {
                source.set_property("latency", latency);
            }
        }
        None
    });
    let convert_weak = convert.downgrade();
    src.connect_pad_added(move |_, pad| {
        let Some(convert) = convert_weak.upgrade() else { return };
        let is_video = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
            .unwrap_or(false);
        if let Some(sinkpad) = convert.static_pad("sink")
            && is_video
            && !sinkpad.is_linked()
            && let Err(e) = pad.link(&sinkpad)
        {
            tracing::warn!(error = ?e, "Cannot link the decoded video pad.");
        }
    });

    let limit_hit = Arc::new(AtomicBool::new(false));
    let mut ingest = Ingest {
        ring: Arc::clone(ring),
        consumer: consumer.clone(),
        stats: Arc::clone(stats),
        stop: Arc::clone(stop),
        limit_hit: Arc::clone(&limit_hit),
        max_frames: opts.max_frames,
        info: None,
        last_let_in_ns: None,
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
    Ok((pipeline, limit_hit))
}

fn error_of(msg: &gst::Message) -> SourceError {
    match msg.view() {
        gst::MessageView::Error(err) => SourceError::Pipeline {
            element: msg.src().map(|s| s.path_string().to_string()).unwrap_or_else(|| "?".into()),
            message: err.error().to_string(),
            debug: err.debug().map(|d| d.to_string()).unwrap_or_default(),
        },
        _ => SourceError::State("unexpected message".into()),
    }
}

fn watch(pipeline: &gst::Pipeline, opts: &SourceOptions, live: bool, stats: &SourceStats, stop: &AtomicBool, limit_hit: &AtomicBool) -> RunEnd {
    let Some(bus) = pipeline.bus() else { return RunEnd::Error(SourceError::State("pipeline has no bus".into())) };
    let started = monotonic_ns();
    loop {
        if stop.load(Relaxed) {
            return RunEnd::Stopped;
        }
        if limit_hit.load(Relaxed) {
            return RunEnd::FrameLimit;
        }
        if live {
            let last = stats.last_frame_mono_ns.load(Relaxed).max(started);
            let timeout = opts.stall_timeout.as_nanos() as u64;
            // The first frame of a network stream may take longer (connection, key frame).
            let allowed = if stats.state() == SourceState::Running { timeout } else { 2 * timeout };
            if monotonic_ns().saturating_sub(last) > allowed {
                stats.stalls.fetch_add(1, Relaxed);
                return RunEnd::Stalled;
            }
        }
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(50)) else { continue };
        match msg.view() {
            gst::MessageView::Eos(_) => return RunEnd::Eos,
            gst::MessageView::Error(_) => {
                let e = error_of(&msg);
                tracing::error!(error = %e, "Source pipeline error.");
                return RunEnd::Error(e);
            }
            gst::MessageView::Warning(w) => {
                tracing::warn!(element = %msg.src().map(|s| s.path_string().to_string()).unwrap_or_default(), warning = %w.error(), "Source pipeline warning.");
            }
            _ => {}
        }
    }
}

/// State of the appsink callback.
struct Ingest {
    ring: Arc<FrameRing>,
    consumer: Thread,
    stats: Arc<SourceStats>,
    stop: Arc<AtomicBool>,
    limit_hit: Arc<AtomicBool>,
    max_frames: Option<u64>,
    info: Option<(gst::Caps, gst_video::VideoInfo)>,
    last_let_in_ns: Option<u64>,
}

impl Ingest {
    fn on_sample(&mut self, sink: &gst_app::AppSink) -> Result<gst::FlowSuccess, gst::FlowError> {
        let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
        if self.limit_hit.load(Relaxed) || self.stop.load(Relaxed) {
            return Err(gst::FlowError::Eos);
        }
        let capture_mono_ns = monotonic_ns();
        let capture_unix_ns = unix_ns();
        let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
        let caps = sample.caps().ok_or(gst::FlowError::NotNegotiated)?;
        if self.info.as_ref().is_none_or(|(c, _)| c != caps) {
            let info = gst_video::VideoInfo::from_caps(caps).map_err(|_| gst::FlowError::NotNegotiated)?;
            let fps = info.fps();
            if fps.denom() > 0 && fps.numer() > 0 {
                self.stats.fps_milli.store((fps.numer() as u64 * 1000) / fps.denom() as u64, Relaxed);
            }
            tracing::info!(width = info.width(), height = info.height(), format = ?info.format(), fps = %fps, "Source negotiated.");
            self.info = Some((caps.to_owned(), info));
        }
        let number = self.stats.decoded.fetch_add(1, Relaxed);
        self.stats.last_frame_mono_ns.store(capture_mono_ns, Relaxed);
        self.stats.set_state(SourceState::Running);
        if let Some(max) = self.max_frames
            && number + 1 >= max
        {
            self.limit_hit.store(true, Relaxed);
        }
        let pts_ns = buffer.pts().map(|t| t.nseconds());

        // Ingress rate limit (throttle / infer.max_fps): stream time when known, else wall time.
        let min_interval = self.stats.min_interval_ns.load(Relaxed);
        let now_ns = pts_ns.unwrap_or(capture_mono_ns);
        if min_interval > 0
            && let Some(last) = self.last_let_in_ns
            && now_ns >= last
            && now_ns - last + min_interval / 20 < min_interval
        {
            self.stats.skipped_rate.fetch_add(1, Relaxed);
            return Ok(gst::FlowSuccess::Ok);
        }
        self.last_let_in_ns = Some(now_ns);

        let Some((_, info)) = &self.info else { return Err(gst::FlowError::NotNegotiated) };
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info).map_err(|_| gst::FlowError::Error)?;
        let format = match info.format() {
            gst_video::VideoFormat::I420 => PixelFormat::I420,
            gst_video::VideoFormat::Nv12 => PixelFormat::Nv12,
            _ => return Err(gst::FlowError::NotNegotiated),
        };
        let mut slot = loop {
            match self.ring.acquire() {
                Ok(s) => break s,
                Err(PushRefused::Full) => {
                    if self.stop.load(Relaxed) {
                        return Err(gst::FlowError::Flushing);
                    }
                    self.stats.waited_full.fetch_add(1, Relaxed);
                    self.consumer.unpark();
                    std::thread::sleep(Duration::from_micros(500));
                }
            }
        };
        let s = slot.slot();
        copy_planes(&frame, format, s).map_err(|_| gst::FlowError::Error)?;
        s.meta = FrameMeta { number, pts_ns, capture_unix_ns, capture_mono_ns, width: info.width(), height: info.height() };
        s.format = format;
        slot.publish();
        self.consumer.unpark();
        Ok(gst::FlowSuccess::Ok)
    }
}

/// Copies a mapped frame's planes, honouring strides, into the slot's tightly packed buffer.
fn copy_planes(frame: &gst_video::VideoFrameRef<&gst::BufferRef>, format: PixelFormat, slot: &mut FrameSlot) -> Result<(), gst::glib::BoolError> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    // Resizing to the same length does not reallocate once the slot has grown.
    slot.data.resize(FrameSlot::bytes_for(w as u32, h as u32)).map_err(|_| gst::glib::bool_error!("frame larger than the ring's pinned slots"))?;
    let strides = frame.plane_stride();
    let planes: &[(usize, usize)] = match format {
        PixelFormat::I420 => &[(w, h), (cw, ch), (cw, ch)],
        PixelFormat::Nv12 => &[(w, h), (cw * 2, ch)],
    };
    let mut offset = 0usize;
    for (p, &(row_bytes, rows)) in planes.iter().enumerate() {
        let src = frame.plane_data(p as u32)?;
        let stride = strides[p] as usize;
        for r in 0..rows {
            let from = r * stride;
            let to = offset + r * row_bytes;
            slot.data[to..to + row_bytes].copy_from_slice(&src[from..from + row_bytes]);
        }
        offset += row_bytes * rows;
    }
    Ok(())
}
