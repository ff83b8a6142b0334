//! Configuration: TOML file, then `FOOTRACKD_*` environment overrides, then validation.
//!
//! `config` sits above the stages: it assembles their sections into one file, validates
//! across them, and hands each stage its own section. No stage imports `config`.
//!
//! [`load`] reads a file, its remote overlay and the environment (`layers`) into a
//! [`RawConfig`] (unknown keys refused), and [`validate()`] resolves it into a [`Config`] or
//! reports every problem at once. Relative paths in a file are relative to that file's folder;
//! a file that names no model gets the shipped one ([`models`]). Environment variables override
//! file values: `FOOTRACKD_PUBLISH__BROKER_PORT=1884` sets `publish.broker_port` (sections and
//! keys joined by a double underscore).

mod cameras;
pub mod diff;
mod layers;
pub mod models;
mod raw;
pub mod remote;
mod validate;

use std::path::Path;

use layers::load_camera_layers;

pub use cameras::{Cameras, MAX_CAMERAS, PER_CAMERA_SECTIONS, validate_cameras};

pub use crate::problems::{Problem, Problems};
pub use raw::*;
pub use validate::{Config, validate};

/// The commented default configuration, as shipped in `config/footrackd.toml`.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../config/footrackd.toml");

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed, or a key is unknown or of the wrong type.
    #[error("cannot read configuration {path}: {message}")]
    Parse {
        /// The file (or `<string>`).
        path: String,
        /// The parser's message.
        message: String,
    },
    /// The file parsed but values are out of range or inconsistent.
    #[error("invalid configuration {path}:\n{problems}")]
    Invalid {
        /// The file (or `<string>`).
        path: String,
        /// Every problem found.
        problems: Problems,
    },
}

/// Reads a TOML file, the overlay of accepted remote changes beside it (if any), and, when
/// `with_env`, `FOOTRACKD_*` overrides, into a [`RawConfig`]: the first camera's, when the file has
/// several ([`load_first_camera`] also says how many).
pub fn load_raw(path: &Path, with_env: bool) -> Result<RawConfig, ConfigError> {
    load_first_camera(path, with_env).map(|(raw, _)| raw)
}

/// As [`load_raw`], with the number of cameras in the file: commands that work on one camera take
/// the first and say so.
pub fn load_first_camera(path: &Path, with_env: bool) -> Result<(RawConfig, usize), ConfigError> {
    let base = load_camera_layers(path, None, with_env)?;
    let overlay = overlay_path(path, &base[0]);
    let mut cameras = if overlay.is_file() { load_camera_layers(path, Some(&overlay), with_env)? } else { base };
    let n = cameras.len();
    Ok((cameras.swap_remove(0), n))
}

/// What [`load_for_run`] set aside.
#[derive(Clone, Debug, PartialEq)]
pub struct SetAside {
    /// Where the refused overlay now lies.
    pub moved_to: std::path::PathBuf,
    /// Why it was refused.
    pub reason: String,
}

/// Loads and validates the configuration a daemon starts with: the file, the remote overlay and
/// the environment, with `input` (the command line's) as the source of a single camera. An
/// overlay that makes the configuration unreadable or invalid while the file alone is fine is set
/// aside (renamed to `<overlay>.rejected`) and the daemon starts on the file: a remote change can
/// never keep the appliance down. Returns every camera's configuration and what was set aside.
pub fn load_for_run(
    path: &Path,
    with_env: bool,
    input: Option<&str>,
) -> Result<(Cameras, Option<SetAside>), ConfigError> {
    let invalid = |problems| ConfigError::Invalid { path: path.display().to_string(), problems };
    let with_input = |mut raws: Vec<RawConfig>| -> Result<Vec<RawConfig>, ConfigError> {
        if let Some(uri) = input {
            if raws.len() > 1 {
                return Err(ConfigError::Parse {
                    path: path.display().to_string(),
                    message: format!("--input names one source, but the file has {} cameras ([[source]])", raws.len()),
                });
            }
            raws[0].source.uri = uri.to_string();
        }
        Ok(raws)
    };
    let base = load_camera_layers(path, None, with_env)?;
    let overlay = overlay_path(path, &base[0]);
    if !overlay.is_file() {
        return validate_cameras(with_input(base)?, true).map(|c| (c, None)).map_err(invalid);
    }
    let merged = load_camera_layers(path, Some(&overlay), with_env)
        .and_then(with_input)
        .map_err(|e| e.to_string())
        .and_then(|raws| validate_cameras(raws, true).map_err(|p| p.to_string()));
    match merged {
        Ok(cameras) => Ok((cameras, None)),
        Err(reason) => {
            // The file alone must stand; if it does not, its own problems are what to report.
            let cameras = validate_cameras(with_input(base)?, true).map_err(invalid)?;
            let moved_to = overlay.with_extension("toml.rejected");
            std::fs::rename(&overlay, &moved_to).map_err(|e| ConfigError::Parse {
                path: overlay.display().to_string(),
                message: format!("cannot set the refused overlay aside: {e}"),
            })?;
            Ok((cameras, Some(SetAside { moved_to, reason })))
        }
    }
}

/// Every camera's configuration from the file, its overlay and the environment (a reload).
pub fn load_cameras(path: &Path, with_env: bool) -> Result<Cameras, ConfigError> {
    let base = load_camera_layers(path, None, with_env)?;
    let overlay = overlay_path(path, &base[0]);
    let raws = if overlay.is_file() { load_camera_layers(path, Some(&overlay), with_env)? } else { base };
    validate_cameras(raws, true).map_err(|problems| ConfigError::Invalid { path: path.display().to_string(), problems })
}

/// The file that keeps remote changes accepted for the config at `config_path`:
/// `control.remote_overrides_path`, or `<stem>.remote.toml` beside the config.
pub fn overlay_path(config_path: &Path, raw: &RawConfig) -> std::path::PathBuf {
    if !raw.control.remote_overrides_path.is_empty() {
        return std::path::PathBuf::from(&raw.control.remote_overrides_path);
    }
    let stem = config_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "footrackd".into());
    config_path.with_file_name(format!("{stem}.remote.toml"))
}

/// For `footrackd validate` (systemd's `ExecStartPre`): every camera, as `run` would read them,
/// except that a remote overlay which makes the configuration invalid while the file alone is
/// valid is reported, not fatal: `run` sets such an overlay aside and starts on the file. Changes
/// no file. Returns the cameras and the overlay's problem, if any.
pub fn load_for_validate(
    path: &Path,
    with_env: bool,
    require_source: bool,
) -> Result<(Cameras, Option<String>), ConfigError> {
    let invalid = |problems| ConfigError::Invalid { path: path.display().to_string(), problems };
    let base = load_camera_layers(path, None, with_env)?;
    let overlay = overlay_path(path, &base[0]);
    if !overlay.is_file() {
        return validate_cameras(base, require_source).map(|c| (c, None)).map_err(invalid);
    }
    let merged = load_camera_layers(path, Some(&overlay), with_env)
        .and_then(|raws| validate_cameras(raws, require_source).map_err(invalid));
    match merged {
        Ok(cameras) => Ok((cameras, None)),
        Err(e) => {
            let cameras = validate_cameras(base, require_source).map_err(invalid)?;
            Ok((cameras, Some(e.to_string())))
        }
    }
}

/// Parses TOML text into a [`RawConfig`] (no environment overrides).
pub fn parse_raw(text: &str) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse { path: "<string>".into(), message: e.to_string() })
}

/// Loads and validates a file in one step.
pub fn load(path: &Path, with_env: bool, require_source: bool) -> Result<Config, ConfigError> {
    let raw = load_raw(path, with_env)?;
    validate(raw, require_source)
        .map_err(|problems| ConfigError::Invalid { path: path.display().to_string(), problems })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_config_parses_and_validates() {
        let raw = parse_raw(DEFAULT_CONFIG_TOML).expect("default parses");
        assert_eq!(raw, RawConfig::default(), "config/footrackd.toml must spell out the built-in defaults");
        // The default names the shipped model by a path relative to the repo root.
        let cwd = std::env::current_dir().unwrap();
        assert!(cwd.join("models/yolox_nano.onnx").exists());
        validate(raw, false).expect("default validates");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut raw = RawConfig::default();
        raw.infer.tile_columns = 0;
        raw.publish.keep_alive_secs = 0;
        raw.track.low_score = 0.9;
        raw.device.id = "bad/id".into();
        raw.infer.model = "/nonexistent/model.onnx".into();
        let problems = validate(raw, false).unwrap_err();
        let keys: Vec<&str> = problems.0.iter().map(|p| p.key.as_str()).collect();
        for k in ["infer.tile_columns", "publish.keep_alive_secs", "track.low_score", "device.id", "infer.model"] {
            assert!(keys.contains(&k), "missing {k} in {keys:?}");
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused() {
        let e = parse_raw("[infer]\ntile_colums = 3\n").unwrap_err();
        assert!(e.to_string().contains("tile_colums"), "{e}");
        let e = parse_raw("[publish]\nbroker_port = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("broker_port"), "{e}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[publish]\nbroker_port = 1883\n").unwrap();
        // SAFETY: tests in this module touch only this variable name.
        unsafe { std::env::set_var("FOOTRACKD_PUBLISH__BROKER_PORT", "2883") };
        let raw = load_raw(&path, true).unwrap();
        unsafe { std::env::remove_var("FOOTRACKD_PUBLISH__BROKER_PORT") };
        assert_eq!(raw.publish.broker_port, 2883);
        let raw = load_raw(&path, false).unwrap();
        assert_eq!(raw.publish.broker_port, 1883);
    }

    #[test]
    fn an_invalid_remote_overlay_is_set_aside_and_the_file_config_starts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let model = std::env::current_dir().unwrap().join("models/yolox_nano.onnx");
        std::fs::write(&path, format!("[source]\nuri = \"clip.mp4\"\n[infer]\nmodel = \"{}\"\n", model.display()))
            .unwrap();
        let overlay = dir.path().join("c.remote.toml");
        std::fs::write(&overlay, "[infer]\ntile_columns = 0\n").unwrap();
        let (cfg, set_aside) = load_for_run(&path, false, None).unwrap();
        let cfg = cfg.first();
        assert_eq!(cfg.infer.tile_columns, 1, "the file's (default) value");
        let s = set_aside.expect("the overlay was refused");
        assert!(s.reason.contains("infer.tile_columns"), "{}", s.reason);
        assert!(!overlay.exists() && s.moved_to.exists());
        // A valid overlay is applied.
        std::fs::write(&overlay, "[infer]\ntile_columns = 3\n").unwrap();
        let (cfg, set_aside) = load_for_run(&path, false, Some("other.mp4")).unwrap();
        let cfg = cfg.first();
        assert_eq!((cfg.infer.tile_columns, set_aside), (3, None));
        assert_eq!(cfg.source.uri, "other.mp4");
        // An overlay that does not even parse is set aside too.
        std::fs::write(&overlay, "[infer\n").unwrap();
        assert!(load_for_run(&path, false, None).unwrap().1.is_some());
    }

    #[test]
    fn several_cameras_load_with_their_own_paths_overlay_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let model = std::env::current_dir().unwrap().join("models/yolox_nano.onnx");
        std::fs::write(
            &path,
            format!(
                "[infer]\nmodel = \"{}\"\n[[source]]\nid = \"a\"\nuri = \"clips/a.mp4\"\n[[source]]\nid = \"b\"\nuri = \"rtsp://cam/b\"\n[source.track]\nmin_hits = 4\n",
                model.display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("c.remote.toml"), "[camera.a.track]\nmin_hits = 6\n").unwrap();
        // SAFETY: tests in this module touch only their own variable names.
        unsafe { std::env::set_var("FOOTRACKD_SOURCE__LATENCY_MS", "321") };
        let cameras = load_cameras(&path, true);
        unsafe { std::env::remove_var("FOOTRACKD_SOURCE__LATENCY_MS") };
        let cameras = cameras.unwrap();
        let (a, b) = (cameras.get("a").unwrap(), cameras.get("b").unwrap());
        assert_eq!(a.source.uri, dir.path().join("clips/a.mp4").to_string_lossy(), "relative to the file");
        assert_eq!(b.source.uri, "rtsp://cam/b");
        assert_eq!((a.track.min_hits, b.track.min_hits), (6, 4), "the overlay's camera table, the camera's own");
        assert_eq!((a.source.latency_ms, b.source.latency_ms), (321, 321), "environment: every camera");
        assert_eq!(load_raw(&path, false).unwrap().source.id, "a", "one-camera commands take the first");
        // --input names one source.
        let e = load_for_run(&path, false, Some("x.mp4")).unwrap_err();
        assert!(e.to_string().contains("--input names one source"), "{e}");
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = load_raw(Path::new("/nonexistent/footrackd.toml"), false).unwrap_err();
        assert!(e.to_string().contains("no such file"));
    }
}
