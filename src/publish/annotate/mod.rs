//! `footrackd run --annotate out.mp4`, `publish.snapshot_every_secs` and the HTTP face's live
//! view: a picture to check tracking and calibration by eye, as a video file, as periodic JPEG
//! snapshots (retained on the `snapshot` topic, and written to a file when asked) for a remote
//! check of a live appliance, or as the newest JPEG for the local face ([`LiveView`]).
//!
//! Boxes coloured by team (A red, B blue) and role (goalkeeper magenta, referee yellow), track
//! ids, the ball with its trail, and a minimap of the pitch with every mapped track. Drawing and
//! encoding run on their own thread; the frame path only copies the frame into a free buffer of
//! a small pool and hands it over without waiting: when the thread falls behind, frames are
//! dropped and counted, never waited for. Only the frames some output wants are copied (every
//! frame for a video; a snapshot's; the live view's, at its rate). Off (the default), none of
//! this exists.

mod draw;
mod live;
mod video;

pub use live::{LivePicture, LiveView, Viewer};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Instant;

use draw::{BLACK, BLUE, Canvas, GREY, MAGENTA, PITCH, RED, WHITE, YELLOW};

use rumqttc::QoS;

use super::Publisher;
use crate::frame::{ObjectClass, PixelFormat, Team, TrackRecord, YuvFrame};
use crate::state::FrameState;

/// Periodic JPEG snapshots of the annotated picture.
pub struct SnapshotOptions {
    /// Interval between snapshots, seconds of video.
    pub every_secs: f64,
    /// Also write each snapshot here (replaced atomically).
    pub path: Option<PathBuf>,
    /// Published retained on `topic` through this publisher.
    pub publisher: Arc<Publisher>,
    /// The snapshot topic.
    pub topic: String,
}

/// The live picture of the HTTP face.
pub struct LiveOptions {
    /// Where the newest picture goes.
    pub view: Arc<LiveView>,
    /// Its JPEG quality, 1-100.
    pub jpeg_quality: u8,
}

/// JPEG quality of MQTT snapshots.
const SNAPSHOT_QUALITY: u8 = 75;

/// Frames that may wait for the drawing thread.
const POOL: usize = 4;
/// Ball positions kept for the trail.
const TRAIL: usize = 25;

/// Why annotation failed.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    /// The video could not be written.
    #[error("annotated video: {0}")]
    Writer(String),
    /// The drawing thread could not start.
    #[error("cannot start the annotation thread: {0}")]
    Spawn(#[from] std::io::Error),
}

/// A frame handed to the drawing thread.
struct Job {
    i420: Vec<u8>,
    width: u32,
    height: u32,
    fps: f32,
    /// The records published for this frame (the same ones the MQTT message carries).
    tracks: Vec<TrackRecord>,
    pitch_size: (f32, f32),
    /// Which outputs take this frame.
    to: Outputs,
}

/// The outputs one frame goes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Outputs {
    video: bool,
    snapshot: bool,
    live: bool,
}

impl Outputs {
    fn any(self) -> bool {
        self.video || self.snapshot || self.live
    }
}

/// What the annotation thread did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnnotateSummary {
    /// Frames written.
    pub written: u64,
    /// Frames dropped because the thread was behind (or the frame was not on the host).
    pub dropped: u64,
}

/// The frame path's end of the annotation thread.
pub struct Annotator {
    /// Whether a video is written (it takes every frame).
    video: bool,
    /// Seconds of video between snapshots (`None`: no snapshots).
    snapshot_every_secs: Option<f64>,
    /// The live view, and when it last took a frame (monotonic).
    live: Option<Arc<LiveView>>,
    last_live: Option<Instant>,
    /// Frames seen, and the stream's rate as last known.
    frames: u64,
    fps: f32,
    jobs: Option<SyncSender<Job>>,
    free: Receiver<Job>,
    current: Option<Job>,
    spare: Vec<Job>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<Result<u64, AnnotateError>>>,
}

impl Annotator {
    /// Starts the drawing thread, writing the video `path`, `snapshots` and/or the `live` view.
    pub fn start(
        path: Option<PathBuf>,
        snapshots: Option<SnapshotOptions>,
        live: Option<LiveOptions>,
    ) -> Result<Self, AnnotateError> {
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(POOL);
        let (free_tx, free_rx) = sync_channel::<Job>(POOL);
        for _ in 0..POOL {
            let _ = free_tx.send(Job {
                i420: Vec::new(),
                width: 0,
                height: 0,
                fps: 25.0,
                tracks: Vec::with_capacity(64),
                pitch_size: (105.0, 68.0),
                to: Outputs::default(),
            });
        }
        let (video, snapshot_every_secs) = (path.is_some(), snapshots.as_ref().map(|s| s.every_secs));
        let live_view = live.as_ref().map(|l| Arc::clone(&l.view));
        let thread = std::thread::Builder::new()
            .name("annotate".into())
            .spawn(move || draw_loop(path, snapshots, live, jobs_rx, free_tx))?;
        Ok(Annotator {
            video,
            snapshot_every_secs,
            live: live_view,
            last_live: None,
            frames: 0,
            fps: 25.0,
            jobs: Some(jobs_tx),
            free: free_rx,
            current: None,
            spare: Vec::with_capacity(POOL),
            dropped: Arc::new(AtomicU64::new(0)),
            thread: Some(thread),
        })
    }

    /// The outputs that want this frame.
    fn outputs_now(&mut self) -> Outputs {
        let n = self.frames;
        self.frames += 1;
        let snapshot = self.snapshot_every_secs.is_some_and(|secs| {
            let every = (secs * self.fps as f64).round().max(1.0) as u64;
            n.is_multiple_of(every)
        });
        let live = self.live.as_ref().is_some_and(|v| {
            let now = Instant::now();
            let due = self.last_live.is_none_or(|t| now.duration_since(t).as_nanos() as u64 >= v.interval_ns());
            if due {
                self.last_live = Some(now);
            }
            due
        });
        Outputs { video: self.video, snapshot, live }
    }

    /// Copies this frame's pixels into a free buffer when an output wants the frame; `None`
    /// pixels (a frame kept on the GPU) or no free buffer: the frame is dropped and counted.
    pub fn begin_frame(&mut self, pixels: Option<&YuvFrame<'_>>) {
        if let Some(job) = self.current.take() {
            self.spare.push(job);
        }
        let to = self.outputs_now();
        if !to.any() {
            return;
        }
        let job = match pixels {
            Some(_) => self.spare.pop().or_else(|| self.free.try_recv().ok()),
            None => None,
        };
        let (Some(p), Some(mut job)) = (pixels, job) else {
            self.dropped.fetch_add(1, Relaxed);
            return;
        };
        copy_i420(p, &mut job.i420);
        (job.width, job.height, job.to) = (p.width, p.height, to);
        self.current = Some(job);
    }

    /// Adds this frame's published records and hands the frame to the drawing thread.
    pub fn finish_frame(&mut self, state: &FrameState, pitch_size: (f32, f32), fps: f32) {
        self.fps = fps;
        let Some(mut job) = self.current.take() else { return };
        job.tracks.clear();
        job.tracks.extend(state.reported().copied());
        (job.fps, job.pitch_size) = (fps, pitch_size);
        let Some(jobs) = self.jobs.as_ref() else { return };
        match jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) | Err(TrySendError::Disconnected(job)) => {
                self.dropped.fetch_add(1, Relaxed);
                self.spare.push(job);
            }
        }
    }

    /// Finishes the video; returns what was written and dropped.
    pub fn finish(mut self) -> Result<AnnotateSummary, AnnotateError> {
        self.close()
    }

    fn close(&mut self) -> Result<AnnotateSummary, AnnotateError> {
        self.jobs = None;
        let written = match self.thread.take() {
            Some(t) => t.join().map_err(|_| AnnotateError::Writer("the annotation thread panicked".into()))??,
            None => 0,
        };
        Ok(AnnotateSummary { written, dropped: self.dropped.load(Relaxed) })
    }
}

impl Drop for Annotator {
    fn drop(&mut self) {
        if self.thread.is_some() {
            match self.close() {
                Ok(s) => tracing::info!(written = s.written, dropped = s.dropped, "Annotated video finished."),
                Err(e) => tracing::error!(error = %e, "Annotated video failed."),
            }
        }
    }
}

/// Packs any host 4:2:0 frame as I420.
fn copy_i420(p: &YuvFrame<'_>, out: &mut Vec<u8>) {
    let (w, h) = (p.width as usize, p.height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    out.resize(w * h + 2 * cw * ch, 0);
    let l = &p.layout;
    for y in 0..h {
        let from = y * l.y_stride as usize;
        if let Some(row) = p.data.get(from..from + w) {
            out[y * w..(y + 1) * w].copy_from_slice(row);
        }
    }
    for y in 0..ch {
        for x in 0..cw {
            let (u, v) = match p.format {
                PixelFormat::I420 => {
                    let at = l.uv_offset + y * l.uv_stride as usize + x;
                    (p.data.get(at).copied(), p.data.get(at + ch * l.uv_stride as usize).copied())
                }
                PixelFormat::Nv12 => {
                    let at = l.uv_offset + y * l.uv_stride as usize + 2 * x;
                    (p.data.get(at).copied(), p.data.get(at + 1).copied())
                }
            };
            out[w * h + y * cw + x] = u.unwrap_or(128);
            out[w * h + cw * ch + y * cw + x] = v.unwrap_or(128);
        }
    }
}

fn draw_loop(
    path: Option<PathBuf>,
    snapshots: Option<SnapshotOptions>,
    live: Option<LiveOptions>,
    jobs: Receiver<Job>,
    free: SyncSender<Job>,
) -> Result<u64, AnnotateError> {
    let mut writer: Option<video::VideoWriter> = None;
    let mut jpeg = video::JpegEncoder::default();
    let mut trail: Vec<(i32, i32)> = Vec::with_capacity(TRAIL);
    let mut frames = 0u64;
    let mut live_failing = false;
    while let Ok(mut job) = jobs.recv() {
        if let (None, Some(p), true) = (&writer, &path, job.to.video) {
            writer = Some(video::VideoWriter::create(p, job.width, job.height, job.fps)?);
        }
        render(&mut job, &mut trail);
        if let (Some(w), true) = (writer.as_mut(), job.to.video) {
            w.push(&job.i420)?;
        }
        // A failed picture is logged; the next one tries again.
        if let (Some(s), true) = (&snapshots, job.to.snapshot)
            && let Err(e) = snapshot(s, &mut jpeg, &job)
        {
            tracing::warn!(error = %e, "Snapshot failed.");
        }
        if let (Some(l), true) = (&live, job.to.live) {
            // Said once when the live view stops, and once when it is back (not at every picture).
            match jpeg.encode(&job.i420, job.width, job.height, l.jpeg_quality) {
                Ok(picture) => {
                    if live_failing {
                        tracing::info!("Live pictures are made again.");
                    }
                    live_failing = false;
                    l.view.publish(picture);
                }
                Err(e) if !live_failing => {
                    live_failing = true;
                    tracing::warn!(error = %e, "Live picture failed; the HTTP face keeps the last one until pictures are made again.");
                }
                Err(_) => {}
            }
        }
        frames += 1;
        let _ = free.try_send(job);
    }
    match writer {
        Some(w) => w.finish(),
        None => Ok(frames),
    }
}

fn snapshot(s: &SnapshotOptions, encoder: &mut video::JpegEncoder, job: &Job) -> Result<(), AnnotateError> {
    let jpeg = encoder.encode(&job.i420, job.width, job.height, SNAPSHOT_QUALITY)?;
    s.publisher.try_publish(&s.topic, QoS::AtMostOnce, true, &jpeg);
    if let Some(path) = &s.path {
        let tmp = path.with_extension("jpg.tmp");
        std::fs::write(&tmp, &jpeg)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| AnnotateError::Writer(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

fn colour_of(d: &TrackRecord) -> draw::Yuv {
    match (d.track.class, d.team) {
        (ObjectClass::Ball, _) => WHITE,
        (ObjectClass::Goalkeeper, _) => MAGENTA,
        (ObjectClass::Referee, _) => YELLOW,
        (ObjectClass::Player, Some(Team::A)) => RED,
        (ObjectClass::Player, Some(Team::B)) => BLUE,
        (ObjectClass::Player, None) => GREY,
    }
}

fn render(job: &mut Job, trail: &mut Vec<(i32, i32)>) {
    let (w, h) = (job.width, job.height);
    let mut c = Canvas { data: &mut job.i420, width: w, height: h };
    let s = if h >= 1000 { 2 } else { 1 };
    for d in &job.tracks {
        let (b, class, id) = (&d.track.bbox, d.track.class, d.track.id);
        let (x0, y0, x1, y1) = (b.x1 as i32, b.y1 as i32, b.x2 as i32, b.y2 as i32);
        if class == ObjectClass::Ball {
            let (cx, cy) = ((x0 + x1) / 2, (y0 + y1) / 2);
            if trail.len() == TRAIL {
                trail.remove(0);
            }
            trail.push((cx, cy));
            c.outline(cx - 8 * s, cy - 8 * s, cx + 8 * s, cy + 8 * s, s, WHITE);
            continue;
        }
        c.outline(x0, y0, x1, y1, 2 * s, colour_of(d));
        let label = match class {
            ObjectClass::Goalkeeper => format!("{id}GK"),
            ObjectClass::Referee => format!("{id}RF"),
            _ => id.to_string(),
        };
        c.text(x0, y0 - 7 * s, s, &label, WHITE);
    }
    for (i, &(x, y)) in trail.iter().enumerate() {
        c.disc(x, y, 1 + (i as i32 * 2 * s) / TRAIL as i32, WHITE);
    }
    // Minimap: bottom-right, 2 px per metre (3 on large frames).
    let mapped: Vec<&TrackRecord> = job.tracks.iter().filter(|d| d.pitch.is_some()).collect();
    if mapped.is_empty() {
        return;
    }
    let ppm = if w >= 1600 { 3.0 } else { 2.0 };
    let (pl, pw) = job.pitch_size;
    let (mw, mh) = ((pl * ppm) as i32, (pw * ppm) as i32);
    let (ox, oy) = (w as i32 - mw - 12, h as i32 - mh - 12);
    c.fill(ox - 6, oy - 6, ox + mw + 6, oy + mh + 6, BLACK);
    c.fill(ox, oy, ox + mw, oy + mh, PITCH);
    c.outline(ox, oy, ox + mw, oy + mh, 1, WHITE);
    c.fill(ox + mw / 2, oy, ox + mw / 2 + 1, oy + mh, WHITE);
    for d in mapped {
        let (x, y) = d.pitch.map_or((0.0, 0.0), |p| (p.x_m, p.y_m));
        // y = 0 is the near touchline (the camera's side): at the bottom, as in the picture.
        let (px, py) = (ox + (x * ppm) as i32, oy + mh - (y * ppm) as i32);
        c.disc(px, py, if d.track.class == ObjectClass::Ball { 2 } else { 3 }, colour_of(d));
    }
}
