//! The layers a configuration is read from, one TOML stack for all of them: the file (its
//! relative paths resolved against its own folder), the overlay of accepted remote changes, then
//! `FOOTRACKD_<SECTION>__<KEY>` environment overrides (typed by the option they override). A
//! file's own mistakes are reported with their line; the merged result is checked once more.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{ConfigError, RawConfig};

/// Keys holding a path, resolved against the folder of the file that sets them.
const PATH_KEYS: &[(&str, &str)] = &[
    ("infer", "model"),
    ("infer", "ball_focus_model"),
    ("infer", "role_model"),
    ("infer", "ball_check_model"),
    ("infer", "ball_finder_model"),
    ("pitch", "keypoint_model"),
    ("publish", "password_file"),
    ("publish", "snapshot_path"),
    ("publish", "tls_ca_file"),
    ("publish", "tls_cert_file"),
    ("publish", "tls_key_file"),
    ("control", "remote_overrides_path"),
    ("http", "token_file"),
    ("http", "basic_auth_file"),
    ("throttle", "sysfs_root"),
    ("throttle", "procfs_root"),
    ("throttle", "nvml_library"),
    ("source", "uri"),
];

/// Prefix of environment overrides.
const ENV_PREFIX: &str = "FOOTRACKD_";

/// Reads `path`, then `overlay` over it, then (with `with_env`) the environment: one
/// configuration per camera (`[[source]]`, see `cameras`), never empty.
pub(super) fn load_camera_layers(
    path: &Path,
    overlay: Option<&Path>,
    with_env: bool,
) -> Result<Vec<RawConfig>, ConfigError> {
    let mut table = read_file(path)?;
    let defaults = RawConfig::default();
    for (section, key, default) in [
        ("infer", "model", &defaults.infer.model),
        ("infer", "ball_focus_model", &defaults.infer.ball_focus_model),
        ("infer", "role_model", &defaults.infer.role_model),
        ("infer", "ball_check_model", &defaults.infer.ball_check_model),
        ("infer", "ball_finder_model", &defaults.infer.ball_finder_model),
        ("pitch", "keypoint_model", &defaults.pitch.keypoint_model),
    ] {
        if !section_has(&table, section, key) {
            // The built-in model, found where the build or the package put it.
            let found = super::models::locate(default).unwrap_or_else(|| PathBuf::from(default));
            set(&mut table, section, key, Value::String(found.to_string_lossy().into_owned()));
        }
    }
    if let Some(o) = overlay.filter(|o| o.is_file()) {
        merge(&mut table, read_file(o)?);
    }
    if with_env {
        for (name, value) in std::env::vars() {
            apply_env(&mut table, &name, &value);
        }
    }
    let parse = |message: String| ConfigError::Parse { path: path.display().to_string(), message };
    let tables = super::cameras::expand(table).map_err(parse)?;
    let several = tables.len() > 1;
    tables
        .into_iter()
        .map(|t| {
            let id = t.get("source").and_then(|s| s.get("id")).and_then(Value::as_str).unwrap_or("").to_string();
            RawConfig::deserialize_table(t).map_err(|message| {
                let camera = if several { format!("camera {id:?}: ") } else { String::new() };
                parse(format!("{camera}with the remote overlay and FOOTRACKD_* overrides: {message}"))
            })
        })
        .collect()
}

/// One file: parsed alone first (so its errors carry its line numbers), then as a table with
/// its relative paths made absolute.
fn read_file(path: &Path) -> Result<Table, ConfigError> {
    let parse = |message: String| ConfigError::Parse { path: path.display().to_string(), message };
    if !path.is_file() {
        return Err(parse("no such file".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| parse(e.to_string()))?;
    let mut table: Table = toml::from_str(&text).map_err(|e| parse(e.to_string()))?;
    if table.contains_key("camera") || table.get("source").is_some_and(Value::is_array) {
        // Several cameras: the rest is checked here, each camera once expanded (named by its id).
        let mut rest = table.clone();
        rest.remove("camera");
        rest.remove("source");
        RawConfig::deserialize_table(rest).map_err(parse)?;
    } else {
        toml::from_str::<RawConfig>(&text).map_err(|e| parse(e.to_string()))?;
    }
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
    resolve_paths(&mut table, &base);
    Ok(table)
}

/// Makes the file's relative paths absolute against `base` (the file's folder). Left alone:
/// absolute paths, URIs with a scheme, and bare library names (found by the loader's search).
fn resolve_paths(table: &mut Table, base: &Path) {
    // A camera's own tables: `[[source]]` elements (with their `pitch`) and `[camera.<id>]`.
    let mut cameras: Vec<&mut Table> = Vec::new();
    if let Some(Value::Array(items)) = table.get_mut("source") {
        cameras.extend(items.iter_mut().filter_map(Value::as_table_mut));
    }
    for camera in cameras {
        resolve_paths_of(camera, &[("", "uri"), ("pitch", "keypoint_model")], base);
    }
    if let Some(Value::Table(per_camera)) = table.get_mut("camera") {
        for camera in per_camera.iter_mut().filter_map(|(_, v)| v.as_table_mut()) {
            resolve_paths_of(camera, &[("source", "uri"), ("pitch", "keypoint_model")], base);
        }
    }
    resolve_paths_of(table, PATH_KEYS, base);
}

/// [`resolve_paths`] for `keys` of `table` (an empty section: the table's own key).
fn resolve_paths_of(table: &mut Table, keys: &[(&str, &str)], base: &Path) {
    for (section, key) in keys {
        let holder =
            if section.is_empty() { Some(&mut *table) } else { table.get_mut(*section).and_then(Value::as_table_mut) };
        let Some(Value::String(v)) = holder.and_then(|t| t.get_mut(*key)) else {
            continue;
        };
        let bare_library = *key == "nvml_library" && !v.contains('/');
        if v.is_empty() || v.contains("://") || Path::new(v.as_str()).is_absolute() || bare_library {
            continue;
        }
        *v = base.join(v.as_str()).to_string_lossy().into_owned();
    }
}

fn section_has(table: &Table, section: &str, key: &str) -> bool {
    table.get(section).and_then(Value::as_table).is_some_and(|t| t.contains_key(key))
}

/// Sets `section.key`; in every camera's table when the section is `[[source]]`.
fn set(table: &mut Table, section: &str, key: &str, value: Value) {
    match table.entry(section).or_insert_with(|| Value::Table(Table::new())) {
        Value::Table(t) => {
            t.insert(key.to_string(), value);
        }
        Value::Array(items) => {
            for t in items.iter_mut().filter_map(Value::as_table_mut) {
                t.insert(key.to_string(), value.clone());
            }
        }
        _ => {}
    }
}

/// Merges `top` into `base`, table by table; other values are replaced.
pub(super) fn merge(base: &mut Table, top: Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(t)) => merge(b, t),
            // A table over `[[source]]`: applies to every camera.
            (Some(Value::Array(items)), Value::Table(t)) if items.iter().all(Value::is_table) => {
                for item in items.iter_mut().filter_map(Value::as_table_mut) {
                    merge(item, t.clone());
                }
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Applies `FOOTRACKD_SECTION__KEY=value` (other variables are ignored). The value takes the
/// type of the option it overrides: text stays text, numbers and booleans are parsed, lists are
/// split on commas. A value that does not parse as its option's type is kept as text, so the
/// final check names the option.
fn apply_env(table: &mut Table, name: &str, value: &str) {
    let Some(rest) = name.strip_prefix(ENV_PREFIX) else { return };
    let Some((section, key)) = rest.split_once("__") else { return };
    let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
    if section.is_empty() || key.is_empty() || key.contains("__") {
        return;
    }
    let defaults = RawConfig::default_table();
    let like = defaults.get(&section).and_then(Value::as_table).and_then(|t| t.get(&key));
    set(table, &section, &key, typed(value, like));
}

/// `text` as a value of the same type as `like` (or as TOML would read it, without `like`).
fn typed(text: &str, like: Option<&Value>) -> Value {
    let t = text.trim();
    let parsed = match like {
        Some(Value::String(_)) => None,
        Some(Value::Integer(_)) => t.parse().ok().map(Value::Integer),
        Some(Value::Float(_)) => t.parse().ok().map(Value::Float),
        Some(Value::Boolean(_)) => t.parse().ok().map(Value::Boolean),
        Some(Value::Array(a)) => {
            let element = a.first();
            Some(Value::Array(t.split(',').filter(|s| !s.trim().is_empty()).map(|s| typed(s, element)).collect()))
        }
        _ => toml::from_str::<Table>(&format!("v = {t}")).ok().and_then(|mut v| v.remove("v")),
    };
    parsed.unwrap_or_else(|| Value::String(text.to_string()))
}

impl RawConfig {
    /// The built-in defaults as a TOML table (the types environment overrides take).
    fn default_table() -> Table {
        Table::try_from(RawConfig::default()).unwrap_or_default()
    }

    fn deserialize_table(table: Table) -> Result<RawConfig, String> {
        Value::Table(table).try_into().map_err(|e: toml::de::Error| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_files_folder_and_others_stay() {
        let mut t: Table = toml::from_str(
            "[infer]\nmodel = \"models/m.onnx\"\n[source]\nuri = \"rtsp://cam/1\"\n[publish]\ntls_ca_file = \"/etc/ca.pem\"\npassword_file = \"secret\"\n[throttle]\nnvml_library = \"libnvidia-ml.so.1\"\n",
        )
        .unwrap();
        resolve_paths(&mut t, Path::new("/etc/footrackd"));
        let get = |s: &str, k: &str| t[s][k].as_str().unwrap().to_string();
        assert_eq!(get("infer", "model"), "/etc/footrackd/models/m.onnx");
        assert_eq!(get("source", "uri"), "rtsp://cam/1");
        assert_eq!(get("publish", "tls_ca_file"), "/etc/ca.pem");
        assert_eq!(get("publish", "password_file"), "/etc/footrackd/secret");
        assert_eq!(
            get("throttle", "nvml_library"),
            "libnvidia-ml.so.1",
            "a bare library name is searched by the loader"
        );
    }

    #[test]
    fn environment_values_take_the_type_of_their_option() {
        let mut t = Table::new();
        apply_env(&mut t, "FOOTRACKD_PUBLISH__BROKER_PORT", "2883");
        apply_env(&mut t, "FOOTRACKD_DEVICE__ID", "123");
        apply_env(&mut t, "FOOTRACKD_INFER__SCORE_THRESHOLD", "1");
        apply_env(&mut t, "FOOTRACKD_INFER__PROVIDERS", "cpu");
        apply_env(&mut t, "FOOTRACKD_TRACK__TEAMS", "false");
        apply_env(&mut t, "HOME", "/root");
        apply_env(&mut t, "FOOTRACKD_NOSECTION", "x");
        assert_eq!(t["publish"]["broker_port"].as_integer(), Some(2883));
        assert_eq!(t["device"]["id"].as_str(), Some("123"), "a text option stays text");
        assert_eq!(t["infer"]["score_threshold"].as_float(), Some(1.0));
        assert_eq!(t["infer"]["providers"].as_array().map(Vec::len), Some(1));
        assert_eq!(t["track"]["teams"].as_bool(), Some(false));
        assert_eq!(t.len(), 4);
        let raw = RawConfig::deserialize_table(t).unwrap();
        assert_eq!((raw.publish.broker_port, raw.device.id.as_str(), raw.track.teams), (2883, "123", false));
        // A value of the wrong type names its option.
        let mut t = Table::new();
        apply_env(&mut t, "FOOTRACKD_PUBLISH__BROKER_PORT", "lots");
        assert!(RawConfig::deserialize_table(t).unwrap_err().contains("broker_port"));
    }

    #[test]
    fn an_overlay_merges_over_the_file_section_by_section() {
        let mut base: Table = toml::from_str("[infer]\ntile_columns = 2\ntile_rows = 2\n").unwrap();
        merge(&mut base, toml::from_str("[infer]\ntile_columns = 3\n[track]\nmin_hits = 4\n").unwrap());
        assert_eq!(base["infer"]["tile_columns"].as_integer(), Some(3));
        assert_eq!(base["infer"]["tile_rows"].as_integer(), Some(2));
        assert_eq!(base["track"]["min_hits"].as_integer(), Some(4));
    }
}
