//! Runs the real `footrackd` binary with a generated config.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Path of the built binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_footrackd"))
}

/// Writes `toml` to a config file in `dir` and returns its path.
pub fn write_config(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("footrackd.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// A config for an offline run of `input` against the broker on `port`.
pub fn offline_config(input: &Path, port: u16, device: &str) -> String {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/yolox_nano.onnx");
    format!(
        "[device]\nid = \"{device}\"\n[source]\nuri = \"{}\"\nrealtime = false\n[ring]\noverflow = \"block\"\n[infer]\nmodel = \"{}\"\n[publish]\nbroker_port = {port}\n",
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
