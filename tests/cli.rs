//! The command line: config tooling and clear errors on bad input.

use crate::util::daemon;

#[test]
fn generate_config_prints_a_config_that_validates() {
    let out = daemon::run(&["generate-config"]);
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // The default names the model relative to the repo root; point it at the checkout.
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/yolox_nano.onnx");
    let path = daemon::write_config(dir.path(), &text.replace("\"models/yolox_nano.onnx\"", &format!("\"{model}\"")));
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn invalid_config_lists_every_problem_and_exits_78_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let path = daemon::write_config(
        dir.path(),
        "[infer]\nmodel = \"/nonexistent.onnx\"\ntile_columns = 0\nscore_threshold = 1.5\n[publish]\nkeep_alive_secs = 0\n",
    );
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in ["infer.model", "infer.tile_columns", "infer.score_threshold", "publish.keep_alive_secs"] {
        assert!(err.contains(key), "missing {key} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    // `run` refuses the same file the same way, before starting anything.
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(78));
}

#[test]
fn malformed_toml_and_unknown_keys_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = daemon::write_config(dir.path(), "[infer\nmodel = ");
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(78));
    let path = daemon::write_config(dir.path(), "[ring]\nslotz = 4\n");
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("slotz"));
}

#[test]
fn missing_input_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = daemon::offline_config(std::path::Path::new("/nonexistent/clip.mp4"), crate::util::broker::free_port(), "t-missing");
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_file_that_is_not_video_fails_with_the_element_named() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, vec![0x42u8; 100_000]).unwrap();
    let cfg = daemon::offline_config(&junk, crate::util::broker::free_port(), "t-junk");
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("GStreamer error from") || err.contains("cannot start the pipeline"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
