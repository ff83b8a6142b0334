//! Several cameras in one file: `[[source]]` tables, one per camera, each with its own `id`,
//! `uri` and source options, and optionally its own `[source.pitch]` and `[source.track]` tables
//! (calibration, team colours) merged over the file's `[pitch]` and `[track]`. A single
//! `[source]` table is one camera, as before. Every other section is the appliance's and the
//! same for every camera. A top-level `[camera.<id>]` table (the remote overlay writes these)
//! holds later changes to one camera's `pitch`, `track` or `source` keys.
//!
//! The file is expanded here, at the TOML layer, into one complete table per camera; each is
//! then read and validated on its own, its problems named with the camera's id.

use toml::{Table, Value};

use super::{Config, Problem, Problems, RawConfig, validate};

/// Sections a camera may set for itself inside its `[[source]]` table.
pub const PER_CAMERA_SECTIONS: &[&str] = &["pitch", "track"];

/// Camera ids that would clash with the device's own topic levels.
const RESERVED_IDS: &[&str] = &["tracks", "status", "health", "config", "snapshot", "cameras"];

/// Most cameras one appliance runs (the shared detector's mailboxes).
pub const MAX_CAMERAS: usize = 16;

/// The validated configuration of every camera, in file order; never empty. All share the
/// appliance-wide sections (`device`, `infer`, `publish`, `control`, `throttle`, `log`, `ring`).
#[derive(Clone, Debug)]
pub struct Cameras(Vec<Config>);

impl Cameras {
    /// One camera.
    pub fn one(cfg: Config) -> Self {
        Cameras(vec![cfg])
    }

    /// The first camera's configuration: the appliance-wide sections are read from it.
    pub fn first(&self) -> &Config {
        &self.0[0]
    }

    /// Every camera's configuration.
    pub fn all(&self) -> &[Config] {
        &self.0
    }

    /// How many cameras.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never empty; here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether there is more than one camera (topics then carry the camera's id).
    pub fn several(&self) -> bool {
        self.0.len() > 1
    }

    /// The camera with `id`.
    pub fn get(&self, id: &str) -> Option<&Config> {
        self.0.iter().find(|c| c.source.id == id)
    }

    /// Takes the configurations out.
    pub fn into_vec(self) -> Vec<Config> {
        self.0
    }
}

/// Splits a merged file table into one table per camera. `[source]` (or none) gives one;
/// `[[source]]` gives one per element, with its `pitch` and `track` tables merged over the file's.
pub(super) fn expand(mut table: Table) -> Result<Vec<Table>, String> {
    let mut per_camera = match table.remove("camera") {
        None => Table::new(),
        Some(Value::Table(t)) => t,
        Some(_) => return Err("`camera` must be a table of camera ids ([camera.<id>])".into()),
    };
    let sources = match table.remove("source") {
        None => vec![Table::new()],
        Some(Value::Table(t)) => vec![t],
        Some(Value::Array(items)) if items.is_empty() => return Err("[[source]]: at least one camera is needed".into()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Table(t) => Ok(t),
                _ => Err(format!("source[{i}] must be a table ([[source]])")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`source` must be a table ([source]) or tables ([[source]])".into()),
    };
    if sources.len() > MAX_CAMERAS {
        return Err(format!("{} cameras: at most {MAX_CAMERAS} run in one appliance", sources.len()));
    }
    let mut cameras = Vec::with_capacity(sources.len());
    for (i, mut source) in sources.into_iter().enumerate() {
        let mut cam = table.clone();
        let id = source.get("id").and_then(Value::as_str).map(str::to_string);
        let later = id.as_deref().and_then(|id| per_camera.remove(id));
        for section in PER_CAMERA_SECTIONS {
            if let Some(own) = source.remove(*section) {
                merge_section(&mut cam, section, own).map_err(|e| format!("source[{i}].{section}: {e}"))?;
            }
        }
        cam.insert("source".into(), Value::Table(source));
        if let Some(later) = later {
            let Value::Table(later) = later else {
                return Err(format!("camera.{}: must be a table", id.unwrap_or_default()));
            };
            for (section, value) in later {
                if section != "source" && !PER_CAMERA_SECTIONS.contains(&section.as_str()) {
                    return Err(format!(
                        "camera.{}.{section}: only source, pitch and track can differ per camera",
                        id.as_deref().unwrap_or_default()
                    ));
                }
                merge_section(&mut cam, &section, value)
                    .map_err(|e| format!("camera.{}.{section}: {e}", id.as_deref().unwrap_or_default()))?;
            }
        }
        cameras.push(cam);
    }
    if let Some(unknown) = per_camera.keys().next() {
        return Err(format!("camera.{unknown}: no [[source]] has this id"));
    }
    Ok(cameras)
}

/// Merges `own` (a table) over `cam[section]`.
fn merge_section(cam: &mut Table, section: &str, own: Value) -> Result<(), String> {
    let Value::Table(own) = own else { return Err("must be a table".into()) };
    match cam.entry(section).or_insert_with(|| Value::Table(Table::new())) {
        Value::Table(base) => {
            super::layers::merge(base, own);
            Ok(())
        }
        _ => Err(format!("[{section}] must be a table")),
    }
}

/// Validates every camera's configuration; problems are named with the camera's id (with
/// several cameras), ids must be unique and must not clash with the device's topic levels.
pub fn validate_cameras(raws: Vec<RawConfig>, require_source: bool) -> Result<Cameras, Problems> {
    let several = raws.len() > 1;
    let mut problems = Problems::default();
    let ids: Vec<String> = raws.iter().map(|r| r.source.id.clone()).collect();
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            problems.0.push(Problem {
                key: "source.id".into(),
                message: format!("camera id {id:?} is used twice: give every [[source]] its own id"),
            });
        }
        if several && RESERVED_IDS.contains(&id.as_str()) {
            problems.0.push(Problem {
                key: "source.id".into(),
                message: format!("camera id {id:?} is reserved for the device's own topics: choose another"),
            });
        }
    }
    let mut cameras = Vec::with_capacity(raws.len());
    for raw in raws {
        let id = raw.source.id.clone();
        match validate(raw, require_source) {
            Ok(cfg) => cameras.push(cfg),
            // A camera's own keys are named with it; the appliance's are the same for every camera.
            Err(p) if several => problems.0.extend(p.0.into_iter().map(|mut p| {
                if ["source.", "pitch.", "track."].iter().any(|s| p.key.starts_with(s)) {
                    p.key = format!("camera {id:?}: {}", p.key);
                }
                p
            })),
            Err(p) => problems.0.extend(p.0),
        }
    }
    if problems.is_empty() { Ok(Cameras(cameras)) } else { Err(dedup(problems)) }
}

/// The same appliance-wide problem is found once per camera: reported once.
fn dedup(problems: Problems) -> Problems {
    let mut out: Vec<Problem> = Vec::with_capacity(problems.0.len());
    for p in problems.0 {
        if !out.iter().any(|q| q.key == p.key && q.message == p.message) {
            out.push(p);
        }
    }
    Problems(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(text: &str) -> Result<Vec<Table>, String> {
        expand(toml::from_str(text).unwrap())
    }

    #[test]
    fn one_source_table_is_one_camera_and_none_is_one_too() {
        let t = tables("[source]\nid = \"a\"\n[track]\nmin_hits = 4\n").unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0]["source"]["id"].as_str(), Some("a"));
        assert_eq!(tables("[track]\nmin_hits = 4\n").unwrap().len(), 1);
    }

    #[test]
    fn each_camera_gets_its_own_source_and_its_pitch_and_track_over_the_files() {
        let t = tables(
            "[track]\nmin_hits = 4\nteams = true\n[pitch]\nlength_m = 105.0\n\
             [[source]]\nid = \"left\"\nuri = \"a.mp4\"\n[source.track]\nmin_hits = 2\n\
             [[source]]\nid = \"right\"\nuri = \"b.mp4\"\n[source.pitch]\nlength_m = 100.0\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0]["source"]["uri"].as_str(), Some("a.mp4"));
        assert_eq!(t[0]["track"]["min_hits"].as_integer(), Some(2));
        assert_eq!(t[0]["track"]["teams"].as_bool(), Some(true), "the file's other keys stay");
        assert_eq!(t[0]["pitch"]["length_m"].as_float(), Some(105.0));
        assert_eq!(t[1]["track"]["min_hits"].as_integer(), Some(4));
        assert_eq!(t[1]["pitch"]["length_m"].as_float(), Some(100.0));
        assert!(t[1]["source"].get("pitch").is_none(), "the camera's own tables leave [source]");
    }

    #[test]
    fn later_changes_address_one_camera_by_id() {
        let t = tables("[[source]]\nid = \"left\"\n[[source]]\nid = \"right\"\n[camera.right.track]\nmin_hits = 7\n")
            .unwrap();
        assert!(t[0].get("track").is_none());
        assert_eq!(t[1]["track"]["min_hits"].as_integer(), Some(7));
        let e = tables("[[source]]\nid = \"left\"\n[camera.nobody.track]\nmin_hits = 7\n").unwrap_err();
        assert!(e.contains("camera.nobody"), "{e}");
        let e = tables("[[source]]\nid = \"left\"\n[camera.left.infer]\nscore_threshold = 0.1\n").unwrap_err();
        assert!(e.contains("only source, pitch and track"), "{e}");
    }

    #[test]
    fn malformed_sources_are_named() {
        assert!(tables("source = 3\n").unwrap_err().contains("`source` must be"));
        assert!(tables("source = []\n").unwrap_err().contains("at least one camera"));
        assert!(tables("source = [1]\n").unwrap_err().contains("source[0]"));
        let many: String = (0..=MAX_CAMERAS).map(|i| format!("[[source]]\nid = \"c{i}\"\n")).collect();
        assert!(tables(&many).unwrap_err().contains("at most"));
    }

    #[test]
    fn ids_are_unique_not_reserved_and_problems_name_their_camera() {
        let raw = |id: &str, hits: u32| {
            let mut r = RawConfig::default();
            r.source.id = id.into();
            r.track.min_hits = hits;
            r
        };
        let e = validate_cameras(vec![raw("a", 3), raw("a", 3)], false).unwrap_err();
        assert!(e.to_string().contains("used twice"), "{e}");
        let e = validate_cameras(vec![raw("a", 3), raw("health", 3)], false).unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
        let e = validate_cameras(vec![raw("a", 3), raw("b/c", 3)], false).unwrap_err();
        assert!(e.to_string().contains("camera \"b/c\": source.id"), "{e}");
        let ok = validate_cameras(vec![raw("a", 3), raw("b", 3)], false).unwrap();
        assert_eq!((ok.len(), ok.several(), ok.get("b").map(|c| c.source.id.as_str())), (2, true, Some("b")));
        // One camera: problems keep their plain keys, and a reserved word is fine (no camera level).
        let e = validate_cameras(vec![raw("b/c", 3)], false).unwrap_err();
        assert!(e.0[0].key == "source.id", "{e}");
        assert!(validate_cameras(vec![raw("health", 3)], false).is_ok());
    }
}
