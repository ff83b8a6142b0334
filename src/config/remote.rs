//! Remote configuration over MQTT: `config/set` takes a partial config (JSON); it is checked
//! against an explicit list of keys that may change remotely, merged over the running config,
//! validated like a file, persisted atomically as an overlay, and then applied between frames.
//! A refused change leaves the running config as it was and says why on `config/error`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Config, Problem, RawConfig, validate};

/// Keys that may be changed remotely (a trailing `*` allows a whole section).
/// Not here on purpose: broker address and credentials, the source URI, file system roots,
/// anything else that could redirect the daemon or exfiltrate data, and the throttle: thermal and
/// memory protection is set in the file on the device only.
pub const REMOTE_KEYS: &[&str] = &[
    "infer.score_threshold",
    "infer.nms_iou_threshold",
    "infer.tile_columns",
    "infer.tile_rows",
    "infer.tile_overlap_frac",
    "infer.full_frame",
    "infer.max_fps",
    "infer.model",
    "track.*",
    "control.health_interval_secs",
    "log.level",
    "source.id",
    "pitch.image_to_pitch",
];

/// Why a remote change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// Not JSON, or not an object.
    #[error("payload is not a JSON object: {0}")]
    Malformed(String),
    /// A key outside [`REMOTE_KEYS`].
    #[error("key {0:?} may not be changed remotely")]
    Forbidden(String),
    /// With several cameras, a key that is the same for every camera, sent to one.
    #[error(
        "key {0:?} is the same for every camera: with several cameras only track.* and pitch.image_to_pitch change per camera; change the rest in the file (SIGHUP)"
    )]
    NotPerCamera(String),
    /// A model path outside the model folder.
    #[error("infer.model {0:?} is outside the model folder {1}")]
    ModelOutsideFolder(String, String),
    /// The merged config has the wrong shape (unknown key, wrong type).
    #[error("{0}")]
    Shape(String),
    /// The merged config is invalid.
    #[error("invalid configuration")]
    Invalid(Vec<Problem>),
    /// Not applied: the inference thread is still applying earlier changes; nothing changed.
    #[error("not applied: the daemon is still applying an earlier change; send it again")]
    Busy,
    /// Checked, but the inference thread could not take it (a model that exists but fails to
    /// load): nothing changed, nothing was persisted.
    #[error("not applied, the running configuration stays: {0}")]
    NotApplied(String),
    /// Applied, then undone: frames nearly stopped under it.
    #[error(
        "rolled back after {secs:.0} s on probation: {fps_after:.2} frames/s processed under it against {fps_before:.2} before"
    )]
    RolledBack {
        /// Probation length, seconds.
        secs: f32,
        /// Processing rate before the change, frames/s.
        fps_before: f64,
        /// Processing rate under it.
        fps_after: f64,
    },
    /// Applied, but the overlay could not be written: the change is lost at the next restart.
    #[error("cannot persist the change to {path}: {message}")]
    Persist {
        /// Overlay file.
        path: PathBuf,
        /// Cause.
        message: String,
    },
}

impl RemoteError {
    /// The `config/error` payload.
    pub fn to_payload(&self) -> String {
        let problems: Vec<Value> = match self {
            RemoteError::Invalid(p) => {
                p.iter().map(|p| serde_json::json!({"key": p.key, "message": p.message})).collect()
            }
            _ => Vec::new(),
        };
        serde_json::json!({
            "schema": crate::publish::payload::SCHEMA_VERSION,
            "time_unix_ms": crate::frame::unix_ns() / 1_000_000,
            "error": self.to_string(),
            "problems": problems,
        })
        .to_string()
    }
}

fn leaves(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&key, child, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

fn allowed(key: &str) -> bool {
    REMOTE_KEYS.iter().any(|a| match a.strip_suffix('*') {
        Some(section) => key.starts_with(section) && key.len() > section.len(),
        None => *a == key,
    })
}

/// Merges `patch` into `base`, object by object.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// The effective configuration for `config/state`: secrets removed, the source URI redacted.
pub fn state_payload(raw: &RawConfig) -> String {
    // Through text, not `to_value`: serde_json writes an f32 as the shortest text that reads back
    // as that f32 (0.15), where `to_value` widens it to f64 first (0.15000000596046448).
    let mut v = serde_json::to_string(raw).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
    if let Some(p) = v.get_mut("publish").and_then(Value::as_object_mut) {
        p.remove("password");
        p.remove("password_file");
        p.remove("username");
    }
    if let Some(h) = v.get_mut("http").and_then(Value::as_object_mut) {
        h.remove("token_file");
        h.remove("basic_auth_file");
    }
    if let Some(uri) = v.get_mut("source").and_then(|s| s.get_mut("uri")) {
        *uri = Value::String(crate::source::redact(&raw.source.uri));
    }
    serde_json::json!({"schema": crate::publish::payload::SCHEMA_VERSION, "config": v}).to_string()
}

pub use super::overlay_path;

/// Checks a `config/set` payload against the running config. Returns the new config and the
/// patch (as JSON) on success; nothing is changed on failure.
pub fn check(payload: &[u8], current: &Config) -> Result<(Config, Value), RemoteError> {
    check_scoped(payload, current, None)
}

/// [`check`] for one camera of several (`camera`: its id): only the keys a camera has of its own
/// ([`super::PER_CAMERA_SECTIONS`]) may change, and the patch to persist is filed under
/// `camera.<id>` in the overlay.
pub fn check_scoped(payload: &[u8], current: &Config, camera: Option<&str>) -> Result<(Config, Value), RemoteError> {
    let (cfg, patch) = check_patch(payload, current, camera.is_some())?;
    let patch = match camera {
        Some(id) => serde_json::json!({ "camera": { id: patch } }),
        None => patch,
    };
    Ok((cfg, patch))
}

fn check_patch(payload: &[u8], current: &Config, per_camera: bool) -> Result<(Config, Value), RemoteError> {
    let patch: Value = serde_json::from_slice(payload).map_err(|e| RemoteError::Malformed(e.to_string()))?;
    if !patch.is_object() {
        return Err(RemoteError::Malformed(
            "expected an object such as {\"infer\": {\"score_threshold\": 0.3}}".into(),
        ));
    }
    let mut keys = Vec::new();
    leaves("", &patch, &mut keys);
    if let Some(bad) = keys.iter().find(|k| !allowed(k)) {
        return Err(RemoteError::Forbidden(bad.clone()));
    }
    let own =
        |k: &String| super::PER_CAMERA_SECTIONS.iter().any(|s| k.strip_prefix(s).is_some_and(|r| r.starts_with('.')));
    if per_camera && let Some(bad) = keys.iter().find(|k| !own(k)) {
        return Err(RemoteError::NotPerCamera(bad.clone()));
    }
    if let Some(model) = patch.get("infer").and_then(|i| i.get("model")).and_then(Value::as_str) {
        let folder = current.model_path.parent().unwrap_or(Path::new("."));
        let candidate = Path::new(model);
        let inside =
            candidate.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
                && (candidate.is_relative()
                    && (candidate.parent() == Some(Path::new("")) || candidate.starts_with(folder)))
                || candidate.parent() == Some(folder);
        if !inside {
            return Err(RemoteError::ModelOutsideFolder(model.to_string(), folder.display().to_string()));
        }
    }
    let mut merged = serde_json::to_value(current.raw()).map_err(|e| RemoteError::Shape(e.to_string()))?;
    let mut patch = patch;
    // A bare model file name means "in the model folder".
    if let Some(m) = patch.get_mut("infer").and_then(|i| i.get_mut("model"))
        && let Some(name) = m.as_str()
        && Path::new(name).parent() == Some(Path::new(""))
    {
        let folder = current.model_path.parent().unwrap_or(Path::new("."));
        *m = Value::String(folder.join(name).to_string_lossy().into_owned());
    }
    merge(&mut merged, &patch);
    let raw: RawConfig = serde_json::from_value(merged).map_err(|e| RemoteError::Shape(e.to_string()))?;
    let cfg = validate(raw, true).map_err(|p| RemoteError::Invalid(p.0))?;
    Ok((cfg, patch))
}

/// Adds `patch` to the overlay at `path`: a temporary file written and flushed to disk, renamed
/// over the old one, and the folder flushed, so a power cut leaves the old or the new overlay.
pub fn persist(path: &Path, patch: &Value) -> Result<(), RemoteError> {
    // Several cameras' supervisors may keep changes at once: one read-modify-write at a time.
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let err = |m: String| RemoteError::Persist { path: path.to_path_buf(), message: m };
    let mut overlay: Value = match std::fs::read_to_string(path) {
        Ok(text) => {
            let t: toml::Value = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
            serde_json::to_value(t).map_err(|e| err(e.to_string()))?
        }
        Err(_) => Value::Object(Map::new()),
    };
    merge(&mut overlay, patch);
    let text = toml::to_string(&overlay).map_err(|e| err(e.to_string()))?;
    let tmp = path.with_extension("toml.tmp");
    let header = "# Changes accepted over MQTT (config/set). Applied over the main config file at start.\n";
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp).map_err(|e| err(e.to_string()))?;
        f.write_all(format!("{header}{text}").as_bytes()).map_err(|e| err(e.to_string()))?;
        f.sync_all().map_err(|e| err(e.to_string()))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Config {
        let mut raw = RawConfig::default();
        raw.source.uri = "clip.mp4".into();
        validate(raw, true).unwrap()
    }

    #[test]
    fn config_state_shows_values_as_written() {
        let mut raw = RawConfig::default();
        raw.infer.score_threshold = 0.15;
        raw.infer.tile_overlap_frac = 0.1;
        let text = state_payload(&raw);
        assert!(text.contains("\"score_threshold\":0.15,"), "{text}");
        assert!(text.contains("\"tile_overlap_frac\":0.1,"), "{text}");
    }

    #[test]
    fn an_allowed_change_is_merged_and_validated() {
        let (cfg, _) =
            check(br#"{"infer": {"score_threshold": 0.4, "tile_columns": 3}, "track": {"min_hits": 3}}"#, &current())
                .unwrap();
        assert_eq!(cfg.infer.score_threshold, 0.4);
        assert_eq!(cfg.infer.tile_columns, 3);
        assert_eq!(cfg.track.min_hits, 3);
        assert_eq!(cfg.infer.tile_rows, 1, "untouched keys keep their value");
    }

    #[test]
    fn forbidden_malformed_and_invalid_changes_are_refused_with_reasons() {
        let c = current();
        assert!(
            matches!(check(br#"{"publish": {"broker_host": "evil"}}"#, &c), Err(RemoteError::Forbidden(k)) if k == "publish.broker_host")
        );
        assert!(matches!(check(br#"{"source": {"uri": "rtsp://x"}}"#, &c), Err(RemoteError::Forbidden(_))));
        assert!(matches!(check(b"not json", &c), Err(RemoteError::Malformed(_))));
        assert!(matches!(check(b"[1,2]", &c), Err(RemoteError::Malformed(_))));
        assert!(matches!(
            check(br#"{"infer": {"model": "/etc/passwd"}}"#, &c),
            Err(RemoteError::ModelOutsideFolder(..))
        ));
        assert!(matches!(check(br#"{"infer": {"model": "../x.onnx"}}"#, &c), Err(RemoteError::ModelOutsideFolder(..))));
        assert!(matches!(check(br#"{"infer": {"score_threshold": "high"}}"#, &c), Err(RemoteError::Shape(_))));
        match check(br#"{"infer": {"score_threshold": 7.0, "tile_rows": 0}}"#, &c) {
            Err(RemoteError::Invalid(p)) => assert_eq!(p.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(
            check(br#"{"track": {"bogus": 1}}"#, &c).is_err(),
            "unknown keys inside an allowed section are refused"
        );
        let payload = RemoteError::Invalid(vec![Problem { key: "a".into(), message: "b".into() }]).to_payload();
        assert!(payload.contains("\"problems\":[{"));
    }

    #[test]
    fn overlay_is_written_atomically_and_accumulates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.remote.toml");
        persist(&path, &serde_json::json!({"infer": {"score_threshold": 0.4}})).unwrap();
        persist(&path, &serde_json::json!({"track": {"min_hits": 3}})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(v["infer"]["score_threshold"].as_float(), Some(0.4));
        assert_eq!(v["track"]["min_hits"].as_integer(), Some(3));
        assert!(!dir.path().join("f.remote.toml.tmp").exists());
    }

    #[test]
    fn state_hides_secrets() {
        let mut raw = RawConfig::default();
        raw.publish.username = "u".into();
        raw.publish.password = "hunter2".into();
        raw.source.uri = "rtsp://admin:camsecret@10.1.1.1/live".into();
        let s = state_payload(&raw);
        assert!(!s.contains("hunter2") && !s.contains("camsecret") && s.contains("score_threshold"));
        assert!(s.contains("rtsp://***@10.1.1.1/live"));
    }

    #[test]
    fn thermal_protection_and_starving_rates_cannot_be_set_remotely() {
        let c = current();
        assert!(
            matches!(check(br#"{"throttle": {"enabled": false}}"#, &c), Err(RemoteError::Forbidden(k)) if k == "throttle.enabled")
        );
        assert!(matches!(check(br#"{"throttle": {"temp_high_c": 200}}"#, &c), Err(RemoteError::Forbidden(_))));
        match check(br#"{"infer": {"max_fps": 0.0001}}"#, &c) {
            Err(RemoteError::Invalid(p)) => assert_eq!(p[0].key, "infer.max_fps"),
            other => panic!("a rate that starves the pipeline was accepted: {other:?}"),
        }
        assert!(check(br#"{"infer": {"max_fps": 5}}"#, &c).is_ok());
    }
}
