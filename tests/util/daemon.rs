//! Runs the real `footrackd` binary with a generated config.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Path of the built daemon: cargo's own path for this package's tests; beside the test
/// executable's folder for the lab crate's tests (the workspace builds both into one target).
/// `FOOTRACKD_BIN` overrides both (a long soak runs a copy while the tree is rebuilt).
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("FOOTRACKD_BIN") {
        return PathBuf::from(p);
    }
    if let Some(p) = option_env!("CARGO_BIN_EXE_footrackd") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir.join("footrackd");
    assert!(bin.is_file(), "{} is missing: build the workspace (cargo test --workspace)", bin.display());
    bin
}

/// Writes `toml` to a config file in `dir` and returns its path.
pub fn write_config(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("footrackd.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// A config for an offline run of `input` against the broker on `port`.
pub fn offline_config(input: &Path, port: u16, device: &str) -> String {
    let model = super::repo_root().join("models/yolox_nano.onnx");
    format!(
        "[device]\nid = \"{device}\"\n[source]\nuri = \"{}\"\nrealtime = false\n[ring]\noverflow = \"block\"\n[infer]\nmodel = \"{}\"\ntile_columns = 2\ntile_rows = 2\nfull_frame = true\n[publish]\nbroker_port = {port}\n",
        input.display(),
        model.display()
    )
}

/// Runs `footrackd <args>` to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(binary()).args(args).env_remove("RUST_LOG").output().unwrap()
}

/// Starts `footrackd <args>` in the background.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(binary()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}
