//! The source thread: builds the pipeline, watches its bus, and restarts live sources on error,
//! end of stream or stall with exponential back-off, until the input ends or shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use gst::prelude::*;
use gstreamer as gst;

use super::decoder::{self, DecoderFamily};
use super::error::SourceError;
use super::options::SourceOptions;
use super::pipeline::{build, error_of};
use super::stats::{SourceState, SourceStats};
use super::uri::{SourceUri, redact};
use crate::frame::monotonic_ns;
use crate::ring::FrameRing;
use crate::shutdown::Shutdown;

/// A running source.
pub struct SourceHandle {
    thread: Option<JoinHandle<Result<(), SourceError>>>,
    decoder: DecoderFamily,
}

impl SourceHandle {
    /// The decoder family chosen.
    pub fn decoder(&self) -> DecoderFamily {
        self.decoder
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

/// Chooses (and ranks) the decoder family for `choice`, as [`spawn`] will; GStreamer must be
/// initialised ([`init`]).
pub fn choose_decoder(choice: super::options::DecoderChoice) -> DecoderFamily {
    decoder::select(choice)
}

/// Starts decoding into `ring`, waking `consumer` after each frame, until the input ends or
/// `shutdown` is triggered.
pub fn spawn(
    opts: SourceOptions,
    ring: Arc<FrameRing>,
    consumer: Thread,
    stats: Arc<SourceStats>,
    shutdown: Shutdown,
) -> Result<SourceHandle, SourceError> {
    init()?;
    let uri = to_uri(&opts.uri)?;
    for name in ["uridecodebin", "videoconvert", "appsink", "capsfilter"] {
        if gst::ElementFactory::find(name).is_none() {
            return Err(SourceError::MissingElement(name));
        }
    }
    let decoder = decoder::select(opts.decoder);
    let mut opts = opts;
    // Only NVDEC hands over CUDA memory.
    opts.gpu_frames &= decoder == DecoderFamily::Nvdec;
    tracing::info!(decoder = decoder.as_str(), gpu_frames = opts.gpu_frames, uri = %redact(&uri), "Source starting.");
    let thread = std::thread::Builder::new().name("source".into()).spawn(move || {
        let r = run(&opts, &uri, &ring, &consumer, &stats, &shutdown);
        stats.set_state(SourceState::Stopped);
        consumer.unpark();
        r
    })?;
    Ok(SourceHandle { thread: Some(thread), decoder })
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
        // Read by nvarguscamerasrc, not through a URI handler (the pipeline builds it).
        SourceUri::Csi(_) => Ok(uri.redacted()),
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

fn run(
    opts: &SourceOptions,
    uri: &str,
    ring: &Arc<FrameRing>,
    consumer: &Thread,
    stats: &Arc<SourceStats>,
    shutdown: &Shutdown,
) -> Result<(), SourceError> {
    let live = opts.uri.is_live();
    let mut backoff = Duration::ZERO;
    loop {
        stats.set_state(SourceState::Starting);
        let run_started = monotonic_ns();
        let end = match build(opts, uri, ring, consumer, stats, shutdown) {
            Ok((pipeline, limit_hit)) => {
                let end = watch(&pipeline, opts, live, stats, shutdown, &limit_hit);
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
            RunEnd::Stalled => {
                tracing::warn!(timeout_ms = opts.stall_timeout.as_millis() as u64, "Source stalled; reconnecting.")
            }
            RunEnd::Error(e) => tracing::warn!(error = %e, "Source failed; reconnecting."),
        }
        stats.set_state(SourceState::Retrying);
        stats.reconnects.fetch_add(1, Relaxed);
        let ran_for = Duration::from_nanos(monotonic_ns().saturating_sub(run_started));
        backoff = next_backoff(backoff, ran_for, opts.reconnect_initial, opts.reconnect_max);
        tracing::info!(retry_in_ms = backoff.as_millis() as u64, "Source retrying.");
        if shutdown.wait_timeout(backoff) {
            return Ok(());
        }
    }
}

/// How long the pipeline must have run before a failure counts as a new outage.
const STABLE_RUN: Duration = Duration::from_secs(30);

/// The wait before the next attempt: the first after a stable run waits `initial`; each further
/// failure in a row doubles the wait, up to `max`.
fn next_backoff(previous: Duration, ran_for: Duration, initial: Duration, max: Duration) -> Duration {
    if ran_for >= STABLE_RUN || previous.is_zero() { initial } else { (previous * 2).min(max) }
}

fn watch(
    pipeline: &gst::Pipeline,
    opts: &SourceOptions,
    live: bool,
    stats: &SourceStats,
    shutdown: &Shutdown,
    limit_hit: &AtomicBool,
) -> RunEnd {
    let Some(bus) = pipeline.bus() else { return RunEnd::Error(SourceError::State("pipeline has no bus".into())) };
    let started = monotonic_ns();
    loop {
        if shutdown.is_triggered() {
            return RunEnd::Stopped;
        }
        if limit_hit.load(Relaxed) {
            return RunEnd::FrameLimit;
        }
        // No frame for too long: a live source has stalled (restarted by the caller); a file that
        // gives neither frames, an error nor its end (a truncated file whose demuxer waits
        // forever) ends with a clear error instead of a hang. A file's allowance is generous: a
        // slow consumer holds its decoder back one frame per inference at most.
        let timeout = opts.stall_timeout.as_nanos() as u64;
        let allowed = match (live, stats.state() == SourceState::Running) {
            (true, true) => timeout,
            // The first frame of a network stream may take longer (connection, key frame).
            (true, false) => 2 * timeout,
            (false, _) => (4 * timeout).max(20_000_000_000),
        };
        if monotonic_ns().saturating_sub(stats.last_frame_mono_ns.load(Relaxed).max(started)) > allowed {
            if !live {
                return RunEnd::Error(SourceError::NoProgress(allowed / 1_000_000_000));
            }
            stats.stalls.fetch_add(1, Relaxed);
            return RunEnd::Stalled;
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
                tracing::warn!(element = %msg.src().map(|s| s.path_string().to_string()).unwrap_or_default(), warning = %super::uri::redact_text(&w.error().to_string()), "Source pipeline warning.");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_to_the_cap_and_starts_afresh_after_a_stable_run() {
        let (initial, max) = (Duration::from_millis(500), Duration::from_secs(30));
        let quick = Duration::from_secs(1);
        let mut b = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..9 {
            b = next_backoff(b, quick, initial, max);
            seen.push(b.as_millis());
        }
        assert_eq!(seen, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        // A failure after half a minute of frames is a new outage.
        assert_eq!(next_backoff(max, Duration::from_secs(60), initial, max), initial);
    }
}
