//! Checks a [`RawConfig`] and resolves it into a [`Config`], reporting every problem at once.
//!
//! Each stage checks its own section; this module adds the appliance-wide keys and anything
//! that spans sections.

use std::path::PathBuf;

use super::raw::RawConfig;
use crate::infer::keypoints::KeypointManifest;
use crate::infer::manifest::{ManifestError, ModelManifest};
use crate::infer::{
    BallCheckManifest, BallCheckOptions, BallFinderManifest, BallFinderOptions, DetectorOptions, KeypointOptions,
    RoleManifest, RoleOptions,
};
use crate::problems::{Problem, Problems, is_topic_safe};
use crate::source::{SourceOptions, SourceUri};
use crate::track::TrackerOptions;

/// A configuration that passed validation, with its paths and URIs resolved.
///
/// Dereferences to the [`RawConfig`] it came from, so sections read as `config.infer.score_threshold`.
#[derive(Clone, Debug)]
pub struct Config {
    raw: RawConfig,
    /// The parsed source URI.
    pub source_uri: SourceUri,
    /// The model file.
    pub model_path: PathBuf,
    /// The model's manifest, loaded and checked.
    pub manifest: ModelManifest,
    /// The ball's second-look model's manifest, loaded and checked when the look is on.
    pub ball_focus_manifest: Option<ModelManifest>,
    /// The keypoint model's manifest, loaded and checked when it calibrates
    /// (`pitch.auto_calibrate` without a hand calibration).
    pub keypoint_manifest: Option<KeypointManifest>,
    /// The role model's manifest, loaded and checked when it is on.
    pub role_manifest: Option<RoleManifest>,
    /// The ball check's manifest, loaded and checked when it is on.
    pub ball_check_manifest: Option<BallCheckManifest>,
    /// The ball finder's manifest, loaded and checked when it is on.
    pub ball_finder_manifest: Option<BallFinderManifest>,
}

impl std::ops::Deref for Config {
    type Target = RawConfig;
    fn deref(&self) -> &RawConfig {
        &self.raw
    }
}

impl Config {
    /// The configuration as written (for echoing and merging remote changes).
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }

    /// The detector's options.
    pub fn detector_options(&self) -> DetectorOptions {
        DetectorOptions::from_section(
            &self.raw.infer,
            self.manifest.clone(),
            self.ball_focus_manifest.clone(),
            self.ball_finder_manifest.clone(),
        )
    }

    /// The keypoint model's options (its manifest loaded now if validation did not need it).
    pub fn keypoint_options(&self) -> Result<KeypointOptions, ManifestError> {
        let model = PathBuf::from(&self.raw.pitch.keypoint_model);
        let manifest = match &self.keypoint_manifest {
            Some(m) => m.clone(),
            None => KeypointManifest::load_beside(&model)?,
        };
        Ok(KeypointOptions {
            model,
            manifest,
            threads: self.raw.infer.threads,
            providers: self.raw.infer.providers.clone(),
        })
    }

    /// The role model's options (`None`: off, the detector's roles stand).
    pub fn role_options(&self) -> Option<RoleOptions> {
        self.role_manifest.clone().map(|manifest| RoleOptions {
            model: PathBuf::from(&self.raw.infer.role_model),
            manifest,
            threads: self.raw.infer.crop_threads,
        })
    }

    /// The ball check's options (`None`: off, the detector's ball scores stand).
    pub fn ball_check_options(&self) -> Option<BallCheckOptions> {
        self.ball_check_manifest.clone().map(|manifest| BallCheckOptions {
            model: PathBuf::from(&self.raw.infer.ball_check_model),
            manifest,
            threads: self.raw.infer.crop_threads,
        })
    }

    /// The ball finder's options (`None`: off, the detector's ball candidates alone).
    pub fn ball_finder_options(&self) -> Option<BallFinderOptions> {
        self.detector_options().ball_finder
    }

    /// The source thread's options, stopping after `max_frames` when given.
    pub fn source_options(&self, max_frames: Option<u64>) -> SourceOptions {
        SourceOptions::from_section(&self.raw.source, self.source_uri.clone(), max_frames)
    }

    /// The HTTP face's options (`None`: off). Validation read its credential files; reading
    /// them again can still fail (removed since).
    pub fn http_options(&self) -> Result<Option<crate::publish::http::HttpOptions>, String> {
        self.raw.http.options().map_err(|(key, message)| format!("{key}: {message}"))
    }

    /// The tracker's options for video at `fps`.
    pub fn tracker_options(&self, fps: f32) -> TrackerOptions {
        TrackerOptions::from_section(&self.raw.track, fps)
    }
}

/// Validates `raw`, returning the resolved config or every problem found.
///
/// `require_source` is false for `validate` runs where the source URI is given later on the command line.
pub fn validate(raw: RawConfig, require_source: bool) -> Result<Config, Problems> {
    let mut p = Problems::default();
    p.check(is_topic_safe(&raw.device.id), "device.id", || {
        format!("{:?} must be non-empty letters, digits, '-' or '_' (it is an MQTT topic level)", raw.device.id)
    });
    let source_uri = raw.source.check(require_source, &mut p);
    raw.ring.check(&mut p);
    let manifest = raw.infer.check(&mut p);
    let ball_focus_manifest = raw.infer.check_ball_focus(&mut p);
    let role_manifest = raw.infer.check_roles(&mut p);
    let ball_check_manifest = raw.infer.check_ball_check(&mut p);
    let ball_finder_manifest = raw.infer.check_ball_finder(&mut p);
    raw.track.check(&mut p);
    raw.publish.check(&mut p);
    raw.control.check(&mut p);
    raw.throttle.check(&mut p);
    raw.pitch.check(&mut p);
    raw.http.check(&mut p);
    // The inference side holds one ring slot per frame in flight; the decoder needs one more.
    p.check(raw.ring.slots > raw.infer.frames_in_flight, "infer.frames_in_flight", || {
        format!(
            "{} frames in flight need ring.slots of at least {} (it is {})",
            raw.infer.frames_in_flight,
            raw.infer.frames_in_flight + 1,
            raw.ring.slots
        )
    });
    let keypoint_manifest = raw.pitch.calibrates_automatically().then(|| {
        KeypointManifest::load_beside(std::path::Path::new(&raw.pitch.keypoint_model))
            .map_err(|e| {
                p.check(false, "pitch.keypoint_model", || format!("{e} (or set pitch.auto_calibrate = false)"))
            })
            .ok()
    });
    p.check(crate::telemetry::logging::parse_filter(&raw.log.level).is_ok(), "log.level", || {
        format!("{:?} is not a valid filter (try \"info\" or \"footrackd=debug\")", raw.log.level)
    });
    if !p.is_empty() {
        return Err(p);
    }
    // Every check that returns None also recorded a problem, so both are Some here.
    match (manifest, source_uri) {
        (Some(manifest), Some(source_uri)) => Ok(Config {
            source_uri,
            model_path: PathBuf::from(&raw.infer.model),
            raw,
            manifest,
            ball_focus_manifest,
            keypoint_manifest: keypoint_manifest.flatten(),
            role_manifest,
            ball_check_manifest,
            ball_finder_manifest,
        }),
        _ => Err(Problems(vec![Problem { key: "infer.model".into(), message: "manifest missing".into() }])),
    }
}
