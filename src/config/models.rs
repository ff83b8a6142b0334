//! Where the shipped models are found when a config does not say, and the config that
//! `generate-config` writes: one that names them by absolute path, so it runs from any folder.
//!
//! Search order for a model named `models/NAME` (the first folder holding NAME wins):
//! 1. `$FOOTRACKD_MODEL_DIR`;
//! 2. `<binary>/../share/footrackd/models` (the Debian package: `/usr/share/footrackd/models`);
//! 3. `<binary>/../../models` (a cargo build: `target/release/footrackd` in a checkout);
//! 4. the `models/` folder of the checkout the binary was built from;
//! 5. `./models` in the current folder.

use std::path::{Path, PathBuf};

/// The folders searched, in order.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("FOOTRACKD_MODEL_DIR") {
        dirs.push(PathBuf::from(d));
    }
    if let Some(bin_dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        dirs.push(bin_dir.join("../share/footrackd/models"));
        dirs.push(bin_dir.join("../../models"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    dirs.push(PathBuf::from("models"));
    dirs
}

/// The shipped model `models/NAME` (or `NAME`), by absolute path, from the first folder that
/// has it; `None` if none has.
pub fn locate(name: &str) -> Option<PathBuf> {
    let file = Path::new(name).file_name()?;
    model_dirs()
        .into_iter()
        .map(|d| d.join(file))
        .find(|p| p.is_file())
        .map(|p| std::path::absolute(&p).unwrap_or(p))
        .map(|p| normalise(&p))
}

/// `a/b/../c` as `a/c` (without touching the file system), for paths a user reads.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The commented default config with every `"models/NAME"` that can be found written as its
/// absolute path (a model that cannot be found keeps its relative name, and `validate` says so).
pub fn generated_config(default_toml: &str) -> String {
    let mut out = String::with_capacity(default_toml.len() + 256);
    for line in default_toml.split_inclusive('\n') {
        match line.find("\"models/") {
            Some(at) => {
                let rest = &line[at + 1..];
                let end = rest.find('"').unwrap_or(rest.len());
                match locate(&rest[..end]) {
                    Some(abs) => {
                        out.push_str(&line[..at + 1]);
                        out.push_str(&abs.to_string_lossy());
                        out.push_str(&rest[end..]);
                    }
                    None => out.push_str(line),
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_models_are_found_and_written_absolute() {
        let m = locate("models/football_nano_1280x736.onnx").expect("the checkout's model");
        assert!(m.is_absolute() && m.is_file(), "{}", m.display());
        assert!(!m.to_string_lossy().contains(".."), "{}", m.display());
        assert!(locate("models/no_such_model.onnx").is_none());
        let text = generated_config(
            "# keep me\nmodel = \"models/football_nano_1280x736.onnx\"\nother = \"models/none.onnx\"\n",
        );
        assert!(text.starts_with("# keep me\n"));
        assert!(text.contains(&format!("model = \"{}\"\n", m.display())), "{text}");
        assert!(text.contains("other = \"models/none.onnx\""), "{text}");
    }
}
