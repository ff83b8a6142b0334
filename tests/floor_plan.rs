//! The dependency rule of `src/lib.rs`, checked on the source text: every `crate::<module>` path
//! in a module's files must point to a layer below it (or to itself).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What each top-level module may use, besides itself.
fn allowed(module: &str) -> &'static [&'static str] {
    const GROUND: &[&str] = &["frame", "pitch", "telemetry", "problems", "shutdown", "wake"];
    const EDGES_AND_GROUND: &[&str] = &["ring", "gpu", "frame", "pitch", "telemetry", "problems", "shutdown", "wake"];
    const BELOW_CONFIG: &[&str] = &[
        "source",
        "infer",
        "track",
        "publish",
        "control",
        "ring",
        "gpu",
        "frame",
        "pitch",
        "telemetry",
        "problems",
        "shutdown",
        "wake",
    ];
    const BELOW_APP: &[&str] = &[
        "config",
        "source",
        "infer",
        "track",
        "publish",
        "control",
        "ring",
        "gpu",
        "frame",
        "pitch",
        "telemetry",
        "problems",
        "shutdown",
        "wake",
    ];
    match module {
        "app" => BELOW_APP,
        "config" => BELOW_CONFIG,
        "source" | "infer" | "track" | "publish" | "control" => EDGES_AND_GROUND,
        // The ring may keep its pixels in the GPU's pinned memory; the GPU plumbing uses nothing of ours.
        "ring" => &["gpu", "frame", "pitch", "telemetry", "problems", "shutdown", "wake"],
        "gpu" => &[],
        "frame" | "pitch" | "telemetry" | "problems" | "shutdown" | "wake" => GROUND,
        other => panic!("module {other} is not placed in the floor plan of src/lib.rs"),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules named in `crate::<name>` paths of `text`, comments left out.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let braced = after.starts_with('{');
            if braced {
                let inner = after[1..].split('}').next().unwrap_or("");
                for part in inner.split(',') {
                    let n: String =
                        part.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if !n.is_empty() {
                        out.insert(n);
                    }
                }
            } else if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

#[test]
fn stages_never_import_each_other_or_config_and_layers_point_down() {
    let src = super::util::repo_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let module = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for used in crate_paths(&text) {
            checked += 1;
            if used != module && !allowed(&module).contains(&used.as_str()) {
                violations.push(format!("{} uses crate::{used}", rel.display()));
            }
        }
    }
    assert!(checked > 50, "found only {checked} crate paths: is the scan broken?");
    assert!(violations.is_empty(), "the floor plan is broken:\n{}", violations.join("\n"));
}

#[test]
fn the_scan_sees_plain_nested_and_braced_paths_but_not_comments() {
    let found = crate_paths(
        "use crate::ring::FrameRing;\nlet x = crate::infer::pre::f();\nuse crate::{config, track::Tracker};\n// crate::app\n",
    );
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["config", "infer", "ring", "track"]);
}

#[test]
fn nothing_in_the_appliance_names_the_lab_crate() {
    let root = super::util::repo_root();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("footrackd_synth"), "{} uses the lab crate", f.display());
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let deps = manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
    assert!(
        !deps.contains("jpeg-decoder") && !deps.contains("footrackd-synth"),
        "the appliance depends on a lab crate"
    );
}
