//! The dependency rule of `src/lib.rs`, checked on the source text: every path into another
//! top-level module (`crate::x`, `crate::{x, y::z}` over any number of lines and nesting levels,
//! or `super::...` reaching up to the crate root) must point to a layer below (or to itself), and
//! no two top-level modules may depend on each other, however indirectly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const GROUND: &[&str] = &["frame", "pitch", "state", "telemetry", "problems", "shutdown", "wake", "pool"];
const EDGES: &[&str] = &["ring", "gpu"];
const STAGES: &[&str] = &["source", "infer", "track", "publish", "control"];

/// What each top-level module may use, besides itself.
fn allowed(module: &str) -> Vec<&'static str> {
    let below = |layers: &[&[&'static str]]| layers.concat();
    match module {
        "cmd" => below(&[&["app", "config"], STAGES, EDGES, GROUND]),
        "app" => below(&[&["config"], STAGES, EDGES, GROUND]),
        "config" => below(&[STAGES, EDGES, GROUND]),
        m if STAGES.contains(&m) => below(&[EDGES, GROUND]),
        // The ring may keep its pixels in the GPU's pinned memory; the GPU plumbing uses nothing of ours.
        "ring" => below(&[&["gpu"], GROUND]),
        "gpu" => Vec::new(),
        m if GROUND.contains(&m) => GROUND.to_vec(),
        other => panic!("module {other} is not placed in the floor plan of src/lib.rs"),
    }
}

fn known(module: &str) -> bool {
    ["cmd", "app", "config"].contains(&module)
        || STAGES.contains(&module)
        || EDGES.contains(&module)
        || GROUND.contains(&module)
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

/// The text with `//` and `/* */` comments and string literals blanked out.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i..].starts_with(b"'\"'") {
            // The character literal '"' opens no string.
            i += 3;
        } else if b[i] == b'r'
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            && matches!(b.get(i + 1), Some(b'#') | Some(b'"'))
        {
            // A raw string r#"..."#: it ends at a quote followed by as many hashes.
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The first segment of every path inside a `{...}` group starting at `s` (just after `{`),
/// nested groups included: `{a, b::{c, d}, self}` gives `a`, `b`, `self`.
fn group_heads(s: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_start = true;
    for (i, c) in s.char_indices() {
        match c {
            '{' => {
                depth += 1;
                at_start = false;
            }
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_start = true,
            c if c.is_whitespace() => {}
            _ if at_start && depth == 0 => {
                let name = ident(&s[i..]);
                if !name.is_empty() {
                    heads.push(name.to_string());
                }
                at_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// The top-level modules named in `crate::` paths of `text` (comments and strings left out).
fn crate_paths(text: &str) -> BTreeSet<String> {
    paths_after(&code_only(text), "crate::")
}

fn paths_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let preceded_by_ident = rest[..i].chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let after = rest[i + prefix.len()..].trim_start();
        if !preceded_by_ident {
            if let Some(group) = after.strip_prefix('{') {
                out.extend(group_heads(group));
            } else if !ident(after).is_empty() {
                out.insert(ident(after).to_string());
            }
        }
        rest = &rest[i + prefix.len()..];
    }
    out
}

/// The top-level modules reached by `super::` paths climbing to the crate root from a file at
/// module depth `depth` (`src/x/mod.rs` and `src/x.rs` are 1, `src/x/y.rs` 2, ...).
fn super_paths(text: &str, depth: usize) -> BTreeSet<String> {
    let code = code_only(text);
    let climb = "super::".repeat(depth);
    paths_after(&code, &climb).into_iter().filter(|m| known(m) && m != "super").collect()
}

/// A file's top-level module and its module depth.
fn place(src: &Path, file: &Path) -> (String, usize) {
    let rel = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let module = parts[0].trim_end_matches(".rs").to_string();
    let last_is_mod = parts.last().is_some_and(|p| p == "mod.rs");
    let depth = parts.len() - usize::from(last_is_mod);
    (module, depth)
}

/// Every top-level module's uses of the others.
fn uses(src: &Path) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for f in &files {
        let (module, depth) = place(src, f);
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let rel = f.strip_prefix(src).unwrap().display().to_string();
        let entry = out.entry(module.clone()).or_default();
        for used in crate_paths(&text).into_iter().chain(super_paths(&text, depth)) {
            if used != module {
                entry.insert((used, rel.clone()));
            }
        }
    }
    out
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0
            && let Some(c) = visit(n, graph, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn stages_never_import_each_other_or_config_and_layers_point_down() {
    let src = super::util::repo_root().join("src");
    let all = uses(&src);
    let mut violations = Vec::new();
    let mut checked = 0;
    for (module, used) in &all {
        for (u, file) in used {
            checked += 1;
            if !allowed(module).contains(&u.as_str()) {
                violations.push(format!("{file} uses crate::{u}"));
            }
        }
    }
    assert!(checked > 50, "found only {checked} paths into other modules: is the scan broken?");
    assert!(violations.is_empty(), "the floor plan is broken:\n{}", violations.join("\n"));
}

#[test]
fn no_two_folders_depend_on_each_other() {
    let src = super::util::repo_root().join("src");
    let graph: BTreeMap<String, BTreeSet<String>> =
        uses(&src).into_iter().map(|(m, used)| (m, used.into_iter().map(|(u, _)| u).collect())).collect();
    assert!(graph.len() >= 15, "only {} modules seen", graph.len());
    assert_eq!(find_cycle(&graph), None, "a cycle between top-level modules");
}

#[test]
fn the_scan_sees_plain_nested_braced_and_multi_line_paths_but_not_comments_or_strings() {
    let found = crate_paths(
        "use crate::ring::FrameRing;\nlet x = crate::infer::pre::f();\nuse crate::{config, track::Tracker};\n// crate::app\n/* crate::cmd */ let s = \"crate::gpu\";\n",
    );
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["config", "infer", "ring", "track"]);
    let found = crate_paths(
        "use crate::{\n    frame::{BBox, Track},\n    publish::{\n        payload::X,\n    },\n    pitch,\n};\n",
    );
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["frame", "pitch", "publish"]);
    // `foocrate::` is not our path; raw strings and the '"' literal hide nothing and show nothing.
    assert!(crate_paths("mycrate::app::x();").is_empty());
    let found =
        crate_paths("let q = '\"'; use crate::ring;\nlet j = r#\"{\"a\": \"crate::cmd\"}\"#; use crate::wake;\n");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["ring", "wake"]);
}

#[test]
fn the_scan_resolves_super_paths_that_climb_to_the_crate_root() {
    // In a stage's mod.rs (depth 1), `super::config` is `crate::config`.
    let text = "use super::config::Config;\nuse super::{\n    app,\n    frame::BBox,\n};\n";
    assert_eq!(super_paths(text, 1).into_iter().collect::<Vec<_>>(), ["app", "config", "frame"]);
    // One level down (`src/infer/post.rs`, depth 2), `super::x` is a sibling, `super::super::x` the root's.
    assert!(super_paths("use super::config;\n", 2).is_empty());
    assert_eq!(super_paths("use super::super::config;\n", 2).into_iter().collect::<Vec<_>>(), ["config"]);
    let src = Path::new("/r/src");
    assert_eq!(place(src, Path::new("/r/src/infer/mod.rs")), ("infer".into(), 1));
    assert_eq!(place(src, Path::new("/r/src/infer/post.rs")), ("infer".into(), 2));
    assert_eq!(place(src, Path::new("/r/src/frame.rs")), ("frame".into(), 1));
}

#[test]
fn a_cycle_between_modules_is_found_and_a_layered_graph_has_none() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
        }
        g
    };
    assert_eq!(find_cycle(&graph(&[("app", "config"), ("config", "infer"), ("infer", "frame")])), None);
    let c = find_cycle(&graph(&[("app", "config"), ("frame", "pitch"), ("pitch", "state"), ("state", "frame")]))
        .expect("frame -> pitch -> state -> frame");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4, "{c:?}");
}

#[test]
fn a_stage_importing_config_through_super_is_a_violation() {
    assert!(!allowed("infer").contains(&"config"));
    assert!(super_paths("use super::config::Config;", 1).contains("config"));
    assert!(!allowed("app").contains(&"cmd"), "the appliance never uses the offline commands");
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
