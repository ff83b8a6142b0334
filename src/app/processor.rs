//! One frame's work after the ring, in two halves: detection ([`detect_into`], the model on the
//! frame) and the [`FrameFinisher`] (the features that read pixels, tracking, the pitch, the
//! message). [`FrameProcessor`] runs both on one thread; `in_flight` runs the finisher on a
//! thread of its own, one frame behind the detector.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use super::detector_link::DetectorLink;
use super::shared_keypoints::KeypointLink;
use crate::config::Config;
use crate::frame::{BBox, Team};
use crate::frame::{Detection, FrameMeta, monotonic_ns, unix_ns};
use crate::infer::pre::YuvFrame;
use crate::infer::{BallCheck, DetectTiming, Detector, FrameKeypoints, InferError, KeypointModel, RoleClassifier};
use crate::pitch::keypoints::FitRules;
use crate::pitch::{AutoCalibrated, AutoCalibration, AutoRules, AutoSource, CameraFollower, PitchMapper};
use crate::publish::Publisher;
use crate::publish::annotate::Annotator;
use crate::publish::payload::{TrackMessageHeader, encode_tracks};
use crate::state::{CalibrationInUse, CalibrationOrigin, FrameState};
use crate::telemetry::{PipelineStats, Stage};
use crate::track::team::TeamAssigner;
use crate::track::{FramePitch, Tracker};

/// Why the inference thread did not take new settings (it kept the old ones, all of them).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub(super) struct ApplyRefused {
    /// The setting that could not be applied.
    pub(super) key: &'static str,
    /// Why.
    pub(super) reason: String,
}

/// What a settings change needs loaded before anything changes: a new detector, a new pitch
/// keypoint model and a new role model, each only when its settings changed.
pub(super) struct Prepared {
    /// For the detector.
    pub(super) detector: Option<Detector>,
    /// For the finisher.
    pub(super) finisher: FinisherModels,
}

/// The finisher's models of a settings change (`None`: unchanged, or off when the new settings
/// turn them off).
#[derive(Default)]
pub(super) struct FinisherModels {
    /// The pitch keypoint model.
    pub(super) keypoints: Option<KeypointModel>,
    /// The role model.
    pub(super) roles: Option<RoleClassifier>,
    /// The ball check.
    pub(super) ball_check: Option<BallCheck>,
}

/// Loads what `new` needs that `old` did not have (the detector only when `own_model`: a shared
/// one is loaded once by the appliance); a model that fails to load refuses the whole change
/// (nothing has changed yet).
pub(super) fn prepare(old: &Config, new: &Config, own_model: bool) -> Result<Prepared, ApplyRefused> {
    let detector = (own_model && detector_changed(old, new))
        .then(|| Detector::new(new.detector_options()))
        .transpose()
        .map_err(|e| ApplyRefused {
            key: "infer.model",
            reason: format!("{} failed to load: {e}", new.model_path.display()),
        })?;
    // The keypoint model runs exactly while the pitch calibrates automatically.
    let auto = new.pitch.calibrates_automatically();
    let keypoints = (auto
        && (!old.pitch.calibrates_automatically() || new.pitch.keypoint_model != old.pitch.keypoint_model))
        .then(|| {
            new.keypoint_options()
                .map_err(|e| e.to_string())
                .and_then(|o| KeypointModel::new(o).map_err(|e| e.to_string()))
        })
        .transpose()
        .map_err(|e| ApplyRefused {
            key: "pitch.keypoint_model",
            reason: format!("{} failed to load: {e}", new.pitch.keypoint_model),
        })?;
    let roles = (new.infer.role_model != old.infer.role_model)
        .then(|| new.role_options())
        .flatten()
        .map(RoleClassifier::new)
        .transpose()
        .map_err(|e| ApplyRefused {
            key: "infer.role_model",
            reason: format!("{} failed to load: {e}", new.infer.role_model),
        })?;
    let ball_check = (new.infer.ball_check_model != old.infer.ball_check_model)
        .then(|| new.ball_check_options())
        .flatten()
        .map(BallCheck::new)
        .transpose()
        .map_err(|e| ApplyRefused {
            key: "infer.ball_check_model",
            reason: format!("{} failed to load: {e}", new.infer.ball_check_model),
        })?;
    Ok(Prepared { detector, finisher: FinisherModels { keypoints, roles, ball_check } })
}

/// Whether `new` needs another detector than `old` (the model, the ball's second look or the
/// ball finder).
pub(super) fn detector_changed(old: &Config, new: &Config) -> bool {
    let ball = |c: &Config| {
        let i = &c.infer;
        (i.ball_focus_model.clone(), i.ball_focus_regions, i.ball_focus_zoom, i.ball_finder_model.clone())
    };
    new.model_path != old.model_path || ball(new) != ball(old)
}

/// Puts a prepared change into the detector: the new model, if one was loaded, then thresholds
/// and regions.
pub(super) fn apply_to_detector(detector: &mut Detector, loaded: Option<Detector>, cfg: &Config) {
    if let Some(d) = loaded {
        *detector = d;
        tracing::info!(model = %cfg.model_path.display(), "Model switched between frames.");
    }
    let i = &cfg.infer;
    detector.set_options(i.score_threshold, i.nms_iou_threshold, i.tiles());
}

/// Runs the detector on one frame (host or GPU memory) into `out`, with the ball's second look at
/// `hint`, and counts its stages.
pub(super) fn detect_into(
    detector: &mut DetectorLink,
    stats: &PipelineStats,
    frame: &YuvFrame<'_>,
    hint: Option<(f32, f32)>,
    out: &mut Vec<Detection>,
) -> Result<DetectTiming, InferError> {
    let timing = detector.detect_with_hint(frame, hint, out)?;
    stats.detections.fetch_add(out.len() as u64, Relaxed);
    stats.add_stage_ns(Stage::Pre, (timing.pre_secs * 1e9) as u64);
    stats.add_stage_ns(Stage::Infer, (timing.infer_secs * 1e9) as u64);
    stats.add_stage_ns(Stage::Post, (timing.post_secs * 1e9) as u64);
    stats.inference.record_ns((timing.infer_secs * 1e9) as u64);
    Ok(timing)
}

/// One frame's work on one thread, with every buffer reused: nothing is allocated per frame
/// once warm (`tests/alloc_free.rs` counts).
pub struct FrameProcessor {
    detector: DetectorLink,
    dets: Vec<Detection>,
    finisher: FrameFinisher,
    stats: Arc<PipelineStats>,
}

impl FrameProcessor {
    /// A processor for `config`, publishing through `publisher` and counting into `stats`.
    pub fn new(
        detector: impl Into<DetectorLink>,
        config: Config,
        publisher: Arc<Publisher>,
        stats: Arc<PipelineStats>,
    ) -> Self {
        FrameProcessor {
            detector: detector.into(),
            dets: Vec::with_capacity(512),
            finisher: FrameFinisher::new(config, publisher, Arc::clone(&stats)),
            stats,
        }
    }

    /// Also writes an annotated video (its own thread; frames it cannot take are dropped).
    pub fn with_annotator(mut self, annotator: Option<Annotator>) -> Self {
        self.finisher.annotator = annotator;
        self
    }

    /// Publishes tracks on `topic` (a camera's, when the appliance has several).
    pub fn with_tracks_topic(mut self, topic: &str) -> Self {
        self.finisher.tracks_topic = topic.to_string();
        self
    }

    /// Calibrates from the pitch keypoints `model` finds (`pitch.auto_calibrate` without a
    /// hand calibration); the camera is followed between its runs.
    pub(super) fn with_keypoints(mut self, model: Option<KeypointLink>) -> Self {
        self.finisher.set_keypoints(model);
        self
    }

    /// Gives each person the role `model` sees in their crop (`infer.role_model`; `None`: the
    /// detector's roles stand).
    pub fn with_roles(mut self, model: Option<RoleClassifier>) -> Self {
        self.finisher.roles = model;
        self
    }

    /// Scales each ball's score by how likely `model` finds its window is the ball
    /// (`infer.ball_check_model`; `None`: the detector's scores stand).
    pub fn with_ball_check(mut self, model: Option<BallCheck>) -> Self {
        self.finisher.ball_check = model;
        self
    }

    /// Finishes the annotated video, if one is being written.
    pub fn finish_annotation(&mut self) {
        self.finisher.finish_annotation();
    }

    /// Detects on one host frame and reads its pixels; [`FrameProcessor::track_and_publish`]
    /// finishes it.
    pub fn detect(&mut self, frame: &YuvFrame<'_>) -> Result<DetectTiming, InferError> {
        let timing = self.detect_objects(frame)?;
        self.read_pixels(frame.on_host().then_some(frame));
        Ok(timing)
    }

    /// Runs the detector on one frame (host or GPU memory).
    pub fn detect_objects(&mut self, frame: &YuvFrame<'_>) -> Result<DetectTiming, InferError> {
        let hint = self.finisher.ball_hint(1.0);
        detect_into(&mut self.detector, &self.stats, frame, hint, &mut self.dets)
    }

    /// The features that read pixels, after [`FrameProcessor::detect_objects`] (see
    /// [`FrameFinisher::read_pixels`]).
    pub fn read_pixels(&mut self, pixels: Option<&YuvFrame<'_>>) {
        self.finisher.read_pixels(pixels, &mut self.dets);
    }

    /// Tracks the last detections, maps them to the pitch, encodes and queues the message
    /// (after [`FrameProcessor::detect`]); `fps` is the stream's nominal rate.
    pub fn track_and_publish(&mut self, meta: &FrameMeta, fps: f32) {
        self.finisher.track_and_publish(&self.dets, meta, fps);
    }

    /// Applies new settings, all or nothing: new models are loaded first (a model that fails to
    /// load refuses the whole change and the old settings stay); the rest then changes in place.
    pub(super) fn apply(&mut self, cfg: Config, fps: f32) -> Result<(), ApplyRefused> {
        let prepared = prepare(&self.finisher.config, &cfg, self.detector.owns_model())?;
        self.detector.apply(prepared.detector, &cfg);
        self.finisher.apply(prepared.finisher, cfg, fps);
        Ok(())
    }

    /// The two halves, for running them on two threads: the detector, its output buffer and the
    /// finisher.
    pub(super) fn into_parts(self) -> (DetectorLink, Vec<Detection>, FrameFinisher) {
        (self.detector, self.dets, self.finisher)
    }

    /// The settings in use.
    pub(super) fn config(&self) -> &Config {
        &self.finisher.config
    }
}

/// Everything after the model: the features that read pixels (team colours, camera following,
/// pitch keypoints, the annotated frame), tracking, the pitch, the message.
pub(super) struct FrameFinisher {
    tracker: Option<Tracker>,
    pitch: PitchMapper,
    teams: Option<TeamAssigner>,
    follower: Option<CameraFollower>,
    auto: Option<AutoCalibration>,
    keypoints: Option<KeypointLink>,
    found: FrameKeypoints,
    roles: Option<RoleClassifier>,
    ball_check: Option<BallCheck>,
    origin: (CalibrationOrigin, Option<f32>),
    hand_error_m: Option<f32>,
    people: Vec<BBox>,
    /// Each detection's kit, for the tracker.
    kits: Vec<Option<Team>>,
    state: FrameState,
    clock: StreamClock,
    annotator: Option<Annotator>,
    payload: String,
    tracks_topic: String,
    last_number: Option<u64>,
    device: String,
    source_id: String,
    config: Config,
    publisher: Arc<Publisher>,
    stats: Arc<PipelineStats>,
}

impl FrameFinisher {
    fn new(config: Config, publisher: Arc<Publisher>, stats: Arc<PipelineStats>) -> Self {
        FrameFinisher {
            tracker: None,
            pitch: PitchMapper::new(config.pitch.homography(), config.pitch.drop_area()),
            teams: config.track.teams.then(|| TeamAssigner::new(config.track.pinned_kits())),
            follower: (config.pitch.follow_camera && !config.pitch.calibrates_automatically())
                .then(|| CameraFollower::new(config.pitch.homography())),
            auto: None,
            keypoints: None,
            found: [None; crate::pitch::keypoints::KEYPOINTS],
            roles: None,
            ball_check: None,
            origin: (CalibrationOrigin::Hand, hand_error_m(&config)),
            hand_error_m: hand_error_m(&config),
            people: Vec::with_capacity(256),
            kits: Vec::with_capacity(256),
            state: FrameState::with_capacity(128),
            clock: StreamClock::default(),
            annotator: None,
            payload: String::with_capacity(16 * 1024),
            tracks_topic: publisher.topics().tracks.clone(),
            last_number: None,
            device: config.device.id.clone(),
            source_id: config.source.id.clone(),
            config,
            publisher,
            stats,
        }
    }

    fn set_keypoints(&mut self, model: Option<KeypointLink>) {
        self.auto = model.is_some().then(|| AutoCalibration::new(auto_rules(&self.config)));
        self.keypoints = model;
    }

    /// Finishes the annotated video, if one is being written.
    pub(super) fn finish_annotation(&mut self) {
        if let Some(a) = self.annotator.take() {
            match a.finish() {
                Ok(s) => tracing::info!(written = s.written, dropped = s.dropped, "Annotated video finished."),
                Err(e) => tracing::error!(error = %e, "Annotated video failed."),
            }
        }
    }

    /// Where the ball is expected `frames_ahead` frames after the last tracked one.
    pub(super) fn ball_hint(&self, frames_ahead: f32) -> Option<(f32, f32)> {
        self.tracker.as_ref().and_then(|t| t.ball_hint(frames_ahead))
    }

    /// The features that read pixels, after detection: roles, team colours, the annotated frame,
    /// camera following and pitch keypoints. `pixels` is the frame on the host (`None`: none this
    /// frame, the detector's roles stand and the calibration is not trusted); `dets` its
    /// detections, whose roles the role model decides.
    pub(super) fn read_pixels(&mut self, pixels: Option<&YuvFrame<'_>>, dets: &mut Vec<Detection>) {
        if let (Some(roles), Some(px)) = (self.roles.as_mut(), pixels)
            && let Err(e) = roles.classify(px, dets)
        {
            tracing::warn!(error = %e, "The role model failed on this frame; the detector's roles stand.");
        }
        if let (Some(check), Some(px)) = (self.ball_check.as_mut(), pixels)
            && let Err(e) = check.rescore(px, dets)
        {
            tracing::warn!(error = %e, "The ball check failed on this frame; the detector's ball scores stand.");
        }
        let dets = &*dets;
        if let Some(teams) = self.teams.as_mut() {
            teams.read_colours(pixels, dets);
        }
        if let Some(a) = self.annotator.as_mut() {
            a.begin_frame(pixels);
        }
        if self.follower.is_none() && self.auto.is_none() {
            return;
        }
        self.people.clear();
        self.people.extend(dets.iter().filter(|d| d.class.is_person()).map(|d| d.bbox));
        if let Some(auto) = self.auto.as_mut() {
            let h = pixels.and_then(|px| calibrate(auto, self.keypoints.as_mut(), &mut self.found, px, &self.people));
            self.origin = match h.map(|c| c.source) {
                Some(AutoSource::Fitted) => (CalibrationOrigin::Keypoints, h.map(|c| c.fit_error_m as f32)),
                _ => (CalibrationOrigin::Followed, h.map(|c| c.fit_error_m as f32)),
            };
            self.pitch.set_calibration(h.map(|c| c.homography), self.config.pitch.drop_area());
            self.stats.calibration.store(auto.counts());
        } else if let Some(f) = self.follower.as_mut() {
            // Without the pixels on the host the camera cannot be followed: no pitch positions.
            let h = pixels.and_then(|px| f.update(px, &self.people).homography);
            self.origin = (CalibrationOrigin::Followed, None);
            self.pitch.set_calibration(h, self.config.pitch.drop_area());
        }
    }

    /// Tracks `dets`, maps them to the pitch, encodes and queues the message (after
    /// [`FrameFinisher::read_pixels`]); `fps` is the stream's nominal rate.
    pub(super) fn track_and_publish(&mut self, dets: &[Detection], meta: &FrameMeta, fps: f32) {
        let t_track = Instant::now();
        let config = &self.config;
        let tracker = self.tracker.get_or_insert_with(|| Tracker::new(config.tracker_options(fps)));
        let dt = self.last_number.map_or(1.0, |n| meta.number.saturating_sub(n).max(1) as f32);
        self.last_number = Some(meta.number);
        // The pitch's view of the frame: the calibration in use and each detection's kit.
        match self.teams.as_ref() {
            Some(t) => t.detection_kits(&mut self.kits),
            None => self.kits.clear(),
        }
        // A hand calibration (followed or not) is used on the pitch by default; the automatic one
        // when `track.pitch_association = "always"`.
        let use_pitch = config.track.pitch_association.uses(self.auto.is_none());
        let pitch = FramePitch {
            homography: self.pitch.homography().filter(|_| use_pitch),
            frame_size: (meta.width as f32, meta.height as f32),
            teams: &self.kits,
        };
        let tracks = tracker.step_on_pitch(dt, dets, pitch);
        let t_publish = Instant::now();
        self.stats.add_stage_ns(Stage::Track, (t_publish - t_track).as_nanos() as u64);

        let raw_secs = meta.pts_ns.map_or(meta.number as f64 / fps as f64, |p| p as f64 / 1e9);
        let stream_secs = self.clock.time(raw_secs, 1.0 / fps.clamp(1.0, 120.0) as f64);
        // One record per track, each part filled in by its owner; every report reads the whole.
        let state = &mut self.state;
        state.begin(*meta, tracks);
        let (origin, error_m) = match (&self.follower, &self.auto) {
            (None, None) => (CalibrationOrigin::Hand, self.hand_error_m),
            _ => self.origin,
        };
        state.calibration = self.pitch.homography().map(|h| CalibrationInUse { homography: *h, origin, error_m });
        self.pitch.map(&mut state.records, stream_secs);
        state.teams_assigned = self.teams.is_some();
        if let Some(t) = self.teams.as_mut() {
            t.assign(&mut state.records, dets);
            self.stats.set_kits(t.kits());
        }
        let header = TrackMessageHeader { device: &self.device, source: &self.source_id, publish_unix_ns: unix_ns() };
        encode_tracks(&mut self.payload, header, state);
        if let Some(a) = self.annotator.as_mut() {
            a.finish_frame(state, (config.pitch.length_m as f32, config.pitch.width_m as f32), fps);
        }
        self.publisher.publish_tracks_to(&self.tracks_topic, self.payload.as_bytes());
        self.stats.last_tracks.store(self.state.records.len() as u64, Relaxed);
        if self.state.records.iter().any(|r| r.team.is_some()) {
            self.stats.frames_with_team.fetch_add(1, Relaxed);
        }
        if self.state.calibration.is_some() {
            self.stats.frames_with_homography.fetch_add(1, Relaxed);
        }
        self.stats.add_stage_ns(Stage::Publish, t_publish.elapsed().as_nanos() as u64);
        self.stats.latency.record_ns(monotonic_ns().saturating_sub(meta.capture_mono_ns));
        self.stats.processed.fetch_add(1, Relaxed);
    }

    /// The finisher's part of a settings change ([`prepare`] loaded its `models` when needed):
    /// cannot fail.
    pub(super) fn apply(&mut self, models: FinisherModels, cfg: Config, fps: f32) {
        let auto = cfg.pitch.calibrates_automatically();
        if let Some(r) = models.roles {
            self.roles = Some(r);
            tracing::info!(model = %cfg.infer.role_model, "Role model loaded between frames.");
        } else if cfg.infer.role_model.is_empty() {
            self.roles = None;
        }
        if let Some(b) = models.ball_check {
            self.ball_check = Some(b);
            tracing::info!(model = %cfg.infer.ball_check_model, "Ball check loaded between frames.");
        } else if cfg.infer.ball_check_model.is_empty() {
            self.ball_check = None;
        }
        if let Some(k) = models.keypoints {
            // A model of the camera's own (a shared one's mailbox, if it had one, is given back).
            self.keypoints = Some(KeypointLink::Own(Box::new(k)));
            tracing::info!(model = %cfg.pitch.keypoint_model, "Pitch keypoint model loaded between frames.");
        } else if !auto {
            self.keypoints = None;
        }
        if let Some(t) = self.tracker.as_mut() {
            t.set_options(cfg.tracker_options(fps));
        }
        self.source_id = cfg.source.id.clone();
        self.pitch.set_calibration(cfg.pitch.homography(), cfg.pitch.drop_area());
        self.hand_error_m = hand_error_m(&cfg);
        if cfg.pitch != self.config.pitch {
            let p = &cfg.pitch;
            self.follower =
                (p.follow_camera && !p.calibrates_automatically()).then(|| CameraFollower::new(p.homography()));
            self.auto = (self.keypoints.is_some() && p.calibrates_automatically())
                .then(|| AutoCalibration::new(auto_rules(&cfg)));
        }
        if cfg.track.teams != self.config.track.teams || cfg.track.team_colours != self.config.track.team_colours {
            self.teams = cfg.track.teams.then(|| TeamAssigner::new(cfg.track.pinned_kits()));
            if self.teams.is_none() {
                self.stats.set_kits(None);
            }
        }
        self.config = cfg;
        tracing::info!("Settings applied between frames.");
    }
}

/// When keypoints run and what their fits must meet, from `[pitch]`.
fn auto_rules(cfg: &Config) -> AutoRules {
    let min_score = cfg.keypoint_manifest.as_ref().map_or(FitRules::default().min_score, |m| m.min_score);
    AutoRules { every_frames: cfg.pitch.keypoint_every_frames, fit: cfg.pitch.fit_rules(min_score) }
}

/// The fit error of a hand calibration fitted to point pairs, metres RMS.
fn hand_error_m(cfg: &Config) -> Option<f32> {
    cfg.pitch.calibration().and_then(Result::ok).map(|c| c.rms_error_m as f32)
}

/// Stream time that never runs backwards: after a reconnect a source's timestamps start again
/// from zero, so they are offset to continue one frame after the last one (speeds and distances
/// then never see a negative or zero time step).
#[derive(Debug, Default)]
struct StreamClock {
    last: Option<f64>,
    offset: f64,
}

impl StreamClock {
    fn time(&mut self, raw_secs: f64, frame_secs: f64) -> f64 {
        let mut t = raw_secs + self.offset;
        if let Some(last) = self.last
            && t <= last
        {
            self.offset += last + frame_secs - t;
            t = last + frame_secs;
        }
        self.last = Some(t);
        t
    }
}

/// This frame's automatic calibration: the keypoint model run on the frame where it must be (a
/// cut, nothing trusted, or a model of the camera's own), or sent to the shared model in the
/// background while the followed calibration carries on, its answer applied frames later.
fn calibrate(
    auto: &mut AutoCalibration,
    model: Option<&mut KeypointLink>,
    found: &mut FrameKeypoints,
    px: &YuvFrame<'_>,
    people: &[BBox],
) -> Option<AutoCalibrated> {
    let wants = auto.wants_keypoints(px);
    let Some(model) = model else { return auto.finish(px, people, None) };
    let background = wants && auto.can_wait() && model.runs_in_background();
    if wants && !background {
        let ran = model.find(px, found);
        if let Err(e) = &ran {
            tracing::warn!(error = %e, "Pitch keypoints failed on this frame.");
        }
        return auto.finish(px, people, ran.is_ok().then_some(&found[..]));
    }
    let current = match model.answer(found) {
        Some(answered) => {
            if let Err(e) = &answered {
                tracing::warn!(error = %e, "Pitch keypoints failed on an earlier frame.");
            }
            auto.finish_late(px, people, answered.is_ok().then_some(&found[..]))
        }
        None => auto.finish(px, people, None),
    };
    if background {
        match model.send(px) {
            Ok(()) => auto.sent_in_background(),
            Err(e) => tracing::warn!(error = %e, "Pitch keypoints could not be sent for this frame."),
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::{StreamClock, prepare};
    use crate::config::{RawConfig, validate};

    fn config(role_model: &str, ball_check_model: &str, ball_finder_model: &str) -> crate::config::Config {
        let mut raw = RawConfig::default();
        raw.infer.model = "models/yolox_nano.onnx".into();
        raw.infer.role_model = role_model.into();
        raw.infer.ball_check_model = ball_check_model.into();
        raw.infer.ball_finder_model = ball_finder_model.into();
        raw.pitch.auto_calibrate = false;
        validate(raw, false).unwrap()
    }

    #[test]
    fn the_pixel_models_are_loaded_only_when_a_change_names_another() {
        let off = config("", "", "");
        let on = config("models/roles_32x64.onnx", "models/ball_check_32.onnx", "models/ball_finder.onnx");
        // The ball finder belongs to the detector: a camera's own detector is loaded again with
        // (or without) it; a shared one is loaded by the appliance.
        let loaded = |p: &super::Prepared| {
            let f = &p.finisher;
            (f.roles.is_some(), f.ball_check.is_some(), p.detector.as_ref().map(|d| d.finds_the_ball()))
        };
        assert_eq!(loaded(&prepare(&off, &on, true).unwrap()), (true, true, Some(true)), "turned on: loaded");
        assert_eq!(loaded(&prepare(&off, &on, false).unwrap()), (true, true, None), "a shared detector: not here");
        assert_eq!(loaded(&prepare(&on, &on, true).unwrap()), (false, false, None), "unchanged: the loaded ones stay");
        assert_eq!(loaded(&prepare(&on, &off, true).unwrap()), (false, false, Some(false)), "turned off");
    }

    #[test]
    fn stream_time_continues_when_timestamps_restart() {
        let mut c = StreamClock::default();
        assert_eq!(c.time(10.0, 0.04), 10.0);
        assert_eq!(c.time(10.04, 0.04), 10.04);
        // A reconnect: the stream starts again from 0.
        let t = c.time(0.0, 0.04);
        assert!((t - 10.08).abs() < 1e-9, "{t}");
        assert!((c.time(0.04, 0.04) - 10.12).abs() < 1e-9);
    }
}
