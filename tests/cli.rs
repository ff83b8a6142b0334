//! The command line: config tooling and clear errors on bad input.

use crate::util::daemon;

/// Issue 19: `generate-config > f.toml; footrackd validate -c f.toml` works from any folder (the
/// shipped models are named by absolute path), and `detect` needs no camera.
#[test]
fn generate_config_prints_a_config_that_validates_and_detects_from_any_folder() {
    let out = daemon::run(&["generate-config"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let model = crate::util::repo_root().join("models/football_nano_1280x736.onnx");
    assert!(text.contains(&format!("model = \"{}\"", model.display())), "the football detector, by absolute path");
    let dir = tempfile::tempdir().unwrap();
    let path = daemon::write_config(dir.path(), &text);
    let elsewhere = tempfile::tempdir().unwrap();
    let run_in = |args: &[&str]| {
        std::process::Command::new(daemon::binary())
            .args(args)
            .current_dir(elsewhere.path())
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let out = run_in(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A still image, with the generated config and no source.
    let image = dir.path().join("frame.png");
    crate::util::frames::write_test_png(&image);
    let dets = dir.path().join("d.jsonl");
    let out =
        run_in(&["detect", "-c", path.to_str().unwrap(), image.to_str().unwrap(), "--out", dets.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&dets).unwrap().lines().count(), 1);
}

/// Issue 19: relative paths in a config file are relative to the file's folder, not to where
/// the daemon was started; environment overrides stay relative to the current folder.
#[test]
fn relative_paths_in_a_config_resolve_against_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("etc");
    std::fs::create_dir_all(sub.join("models")).unwrap();
    for f in ["yolox_nano.onnx", "yolox_nano.toml"] {
        std::fs::copy(crate::util::repo_root().join("models").join(f), sub.join("models").join(f)).unwrap();
    }
    let path =
        daemon::write_config(&sub, "[source]\nuri = \"clip.mp4\"\n[infer]\nmodel = \"models/yolox_nano.onnx\"\n");
    let raw = footrackd::config::load_raw(&path, false).unwrap();
    assert_eq!(std::path::Path::new(&raw.infer.model), sub.join("models/yolox_nano.onnx"));
    assert_eq!(std::path::Path::new(&raw.source.uri), sub.join("clip.mp4"));
    let out = std::process::Command::new(daemon::binary())
        .args(["validate", "-c", path.to_str().unwrap(), "--no-env"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The bundled demo config runs from any folder too.
    let demo = crate::util::repo_root().join("config/examples/demo.toml");
    let raw = footrackd::config::load_raw(&demo, false).unwrap();
    assert!(std::path::Path::new(&raw.source.uri).is_file(), "{}", raw.source.uri);
    assert!(std::path::Path::new(&raw.infer.model).is_file(), "{}", raw.infer.model);
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
    let cfg = daemon::offline_config(
        std::path::Path::new("/nonexistent/clip.mp4"),
        crate::util::broker::free_port(),
        "t-missing",
    );
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Issue 14: a CSI camera where there is no nvarguscamerasrc (any machine but a Jetson) is a
/// clear, permanent error: validated, then refused at once, not retried as a live source.
#[test]
fn a_csi_camera_without_nvarguscamerasrc_is_named_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = daemon::offline_config(std::path::Path::new("/x"), crate::util::broker::free_port(), "t-csi")
        .replace("uri = \"/x\"", "uri = \"csi://0?width=1280&height=720&fps=60\"");
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let started = std::time::Instant::now();
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nvarguscamerasrc"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "retried: {:?}", started.elapsed());
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

#[test]
fn example_configs_validate() {
    for name in ["demo", "file", "rtsp", "v4l2"] {
        let path = format!("{}/config/examples/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        let mut raw = footrackd::config::load_raw(std::path::Path::new(&path), false).unwrap();
        raw.infer.model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/yolox_nano.onnx").into();
        footrackd::config::validate(raw, true).unwrap_or_else(|p| panic!("{name}: {p}"));
    }
    // Several cameras: the validate command, each camera with its own calibration and colours.
    let path = format!("{}/config/examples/cameras.toml", env!("CARGO_MANIFEST_DIR"));
    let out = crate::util::daemon::run(&["validate", "-c", &path, "--no-env"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for camera in ["main", "behind-goal", "tactical"] {
        assert!(stdout.contains(&format!("camera {camera}: ok")), "{stdout}");
    }
    assert!(stdout.contains("camera behind-goal: pitch calibration: 4 point pairs"), "{stdout}");
}

#[test]
fn track_mot_writes_mot_results_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let det = dir.path().join("det.txt");
    let mut text = String::new();
    for f in 1..=20 {
        text.push_str(&format!("{f},-1,{},100,30,80,0.9,-1,-1,-1\n", 100 + 5 * f));
        text.push_str(&format!("{f},-1,{},300,30,80,0.8,-1,-1,-1\n", 600 - 5 * f));
    }
    std::fs::write(&det, text).unwrap();
    let out = dir.path().join("res.txt");
    let r = daemon::run(&["track-mot", "--det", det.to_str().unwrap(), "--out", out.to_str().unwrap(), "--fps", "25"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let res = std::fs::read_to_string(&out).unwrap();
    let ids: std::collections::BTreeSet<&str> = res.lines().map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(res.lines().all(|l| l.split(',').count() == 10));
    std::fs::write(&det, "1,-1,x,1,1,1,0.5\n").unwrap();
    let r = daemon::run(&["track-mot", "--det", det.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains(":1:"));
}

/// `track-mot --homography --teams`: two players of different kits cross on the pitch while the
/// camera pans fast; the homography of each frame (10 px a metre, shifted with the pan) keeps them
/// apart; a malformed homography file is refused with its line, a bad frame size by its flag.
#[test]
fn track_mot_on_the_pitch_reads_homographies_and_teams_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (det, hom, out) = (dir.path().join("det.txt"), dir.path().join("h.txt"), dir.path().join("res.txt"));
    let (mut d, mut h) = (String::new(), String::new());
    for f in 1..=60 {
        let pan = 8.0 * f as f32; // the camera pans 8 px a frame: the image moves left
        for (k, team) in [(0, 1), (1, 2)] {
            let x_m = if k == 0 { 20.0 + 0.2 * f as f32 } else { 32.0 - 0.2 * f as f32 };
            let y_m = 30.0 + 2.0 * k as f32;
            d.push_str(&format!("{f},-1,{},{},20,50,0.9,{team},-1,-1\n", 10.0 * x_m - pan - 10.0, 10.0 * y_m - 50.0));
        }
        // image -> pitch: x_m = (u + pan) / 10, y_m = v / 10
        h.push_str(&format!("{f},0.1,0,{},0,0.1,0,0,0,1\n", pan / 10.0));
    }
    std::fs::write(&det, d).unwrap();
    std::fs::write(&hom, h).unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec!["track-mot", "--det", det.to_str().unwrap(), "--out", out.to_str().unwrap()];
        a.extend_from_slice(extra);
        daemon::run(&a)
    };
    let r = args(&["--homography", hom.to_str().unwrap(), "--teams", "--frame-size", "1280x720"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let res = std::fs::read_to_string(&out).unwrap();
    let ids: std::collections::BTreeSet<&str> = res.lines().map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(ids.len(), 2, "{res}");
    std::fs::write(&hom, "1,0.1,0,0,0,0.1,0,0,0,1\n2,0.1,0,0\n").unwrap();
    let r = args(&["--homography", hom.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("h.txt:2:") && err.contains("h11"), "{err}");
    let r = args(&["--frame-size", "wide"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("--frame-size"));
}

#[test]
fn bench_reports_stages_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/yolox_nano.onnx");
    let cfg = daemon::write_config(
        dir.path(),
        &format!(
            "[infer]\nmodel = \"{model}\"\ntile_columns = 2\ntile_rows = 2\nfull_frame = true\n[publish]\nbroker_port = {}\n",
            crate::util::broker::free_port()
        ),
    );
    let json = dir.path().join("bench.json");
    let clip = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/clip.mp4");
    let r = daemon::run(&[
        "bench",
        "-c",
        cfg.to_str().unwrap(),
        "--input",
        clip,
        "--frames",
        "20",
        "--inference-runs",
        "2",
        "--streams",
        "2",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["frames"], 20);
    assert!(v["end_to_end_fps"].as_f64().unwrap() > 0.0);
    assert!(v["detector_only_fps"].as_f64().unwrap() > 0.0);
    assert!(v["decode_only_fps"].as_f64().unwrap() > 0.0);
    // 2x2 tiles and the whole frame: five images, one batched call.
    assert_eq!(v["regions_per_frame"], 5);
    assert_eq!(v["model_only"]["batch"], 5);
    let limit = v["physical_limit_fps"].as_f64().unwrap();
    assert!(limit > 0.0 && limit <= v["decode_only_fps"].as_f64().unwrap() + 1e-9);
    assert_eq!(v["streams"]["streams"], 2);
    assert_eq!(v["streams"]["model_only"]["batch"], 10, "two streams' regions in one call");
    assert!(v["streams"]["aggregate_fps"].as_f64().unwrap() > 0.0);
    assert!(v["latency_ms"][0].as_f64().is_some(), "latency after warm-up");
    let stages: Vec<&str> = v["stage_ms"].as_array().unwrap().iter().map(|s| s[0].as_str().unwrap()).collect();
    assert_eq!(
        stages,
        ["decode", "pre_process", "inference", "post_process", "host_copy", "pixels", "track", "publish"]
    );
}

#[test]
fn the_appliance_binary_carries_no_lab_tools() {
    let out = daemon::run(&["synth", "--out", "/nonexistent"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let help = String::from_utf8_lossy(&daemon::run(&["--help"]).stdout).to_string();
    assert!(help.contains("track-mot") && help.contains("bench") && !help.contains("synth"), "{help}");
}

/// Issue 13: an overlay that turned invalid must not keep systemd's `ExecStartPre` validation
/// (and so the service) down: `validate` warns and passes when the file alone is valid.
#[test]
fn validate_passes_with_a_warning_when_only_the_remote_overlay_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/yolox_nano.onnx");
    let cfg = daemon::write_config(
        dir.path(),
        &format!("[source]\nuri = \"rtsp://user:secret@cam/1\"\n[infer]\nmodel = \"{model}\"\n"),
    );
    std::fs::write(dir.path().join("footrackd.remote.toml"), "[infer]\ntile_rows = 0\n").unwrap();
    let r = daemon::run(&["validate", "-c", cfg.to_str().unwrap(), "--no-env"]);
    let (out, err) = (String::from_utf8_lossy(&r.stdout), String::from_utf8_lossy(&r.stderr));
    assert!(r.status.success(), "{err}");
    assert!(err.contains("overlay") && err.contains("infer.tile_rows"), "{err}");
    assert!(out.contains("ok") && !out.contains("secret") && !err.contains("secret"), "{out}{err}");
    // The file itself invalid: still refused.
    std::fs::write(&cfg, format!("[infer]\nmodel = \"{model}\"\ntile_columns = 0\n")).unwrap();
    assert_eq!(daemon::run(&["validate", "-c", cfg.to_str().unwrap(), "--no-env"]).status.code(), Some(78));
}

/// A real broadcast frame of the Roboflow valid split, de-stretched from 1280x1280 to 1920x1080
/// by GStreamer, and its people as labelled (class 1-3), in 1080p pixels.
fn real_frame(dir: &std::path::Path) -> (std::path::PathBuf, Vec<[f32; 4]>) {
    let split = crate::util::shared_data().join("roboflow-football-players-detection/valid");
    let mut images: Vec<_> = std::fs::read_dir(split.join("images")).unwrap().map(|e| e.unwrap().path()).collect();
    images.sort();
    let src = &images[0];
    let out = dir.join("frame.jpg");
    let status = std::process::Command::new("gst-launch-1.0")
        .args([
            "-q",
            "filesrc",
            &format!("location={}", src.display()),
            "!",
            "decodebin",
            "!",
            "videoconvert",
            "!",
            "videoscale",
            "!",
        ])
        .args([
            "video/x-raw,width=1920,height=1080",
            "!",
            "jpegenc",
            "quality=95",
            "!",
            "filesink",
            &format!("location={}", out.display()),
        ])
        .status()
        .expect("gst-launch-1.0 (scripts/setup.sh installs it)");
    assert!(status.success());
    let labels =
        std::fs::read_to_string(split.join("labels").join(src.with_extension("txt").file_name().unwrap())).unwrap();
    let people = labels
        .lines()
        .filter_map(|l| {
            let v: Vec<f32> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (v[0] as u32 != 0).then(|| {
                [
                    (v[1] - v[3] / 2.0) * 1920.0,
                    (v[2] - v[4] / 2.0) * 1080.0,
                    (v[1] + v[3] / 2.0) * 1920.0,
                    (v[2] + v[4] / 2.0) * 1080.0,
                ]
            })
        })
        .collect();
    (out, people)
}

#[test]
fn detect_finds_the_people_of_a_real_frame_and_reports_a_bad_image_without_losing_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (frame, people) = real_frame(dir.path());
    assert!(people.len() >= 10, "a wide shot with many players");
    let garbage = dir.path().join("garbage.jpg");
    std::fs::write(&garbage, b"not a picture").unwrap();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/football_nano_1280x736.onnx");
    let cfg =
        daemon::write_config(dir.path(), &format!("[source]\nuri = \"/dev/null\"\n[infer]\nmodel = \"{model}\"\n"));
    let out_path = dir.path().join("dets.jsonl");
    let out = daemon::run(&[
        "detect",
        "-c",
        cfg.to_str().unwrap(),
        garbage.to_str().unwrap(),
        frame.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a failed image fails the run: {stderr}");
    assert!(stderr.contains("garbage.jpg") && !stderr.contains("panicked"), "{stderr}");
    let text = std::fs::read_to_string(&out_path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "the good image is written: {text}");
    let line = &lines[0];
    assert_eq!(line["image"], frame.to_str().unwrap());
    assert_eq!((line["width"].as_u64(), line["height"].as_u64()), (Some(1920), Some(1080)));
    let dets = line["detections"].as_array().unwrap();
    let mut found = 0;
    let mut true_people = 0;
    let boxes: Vec<(Vec<f32>, String)> = dets
        .iter()
        .map(|d| {
            (
                d["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect(),
                d["class"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (b, class) in &boxes {
        assert!(["player", "goalkeeper", "referee", "ball"].contains(&class.as_str()), "{class}");
        assert!(
            b[0] >= -1.0 && b[1] >= -1.0 && b[2] <= 1921.0 && b[3] <= 1081.0 && b[0] < b[2] && b[1] < b[3],
            "{b:?}"
        );
        if class != "ball" && people.iter().any(|p| crate::util::iou(p, b) >= 0.5) {
            true_people += 1;
        }
    }
    for p in &people {
        if boxes.iter().any(|(b, class)| class != "ball" && crate::util::iou(p, b) >= 0.5) {
            found += 1;
        }
    }
    let person_dets = boxes.iter().filter(|(_, c)| c != "ball").count();
    let recall = found as f32 / people.len() as f32;
    let precision = true_people as f32 / person_dets.max(1) as f32;
    assert!(recall >= 0.85 && precision >= 0.85, "people recall {recall:.2}, precision {precision:.2} on a real frame");
}

/// Frame 1 of the bundled demo clip: each fully visible person's box (MOT row) and true pitch position.
fn demo_frame_one() -> Vec<(String, f64, f64, f64, f64)> {
    let root = crate::util::repo_root();
    let gt = std::fs::read_to_string(root.join("demo/gt/gt.txt")).unwrap();
    let pitch = std::fs::read_to_string(root.join("demo/pitch.csv")).unwrap();
    gt.lines()
        .filter(|l| l.starts_with("1,"))
        .filter_map(|l| {
            let f: Vec<f64> = l.split(',').map(|t| t.parse().unwrap()).collect();
            let inside = f[2] > 1.0 && f[3] > 1.0 && f[2] + f[4] < 1279.0 && f[3] + f[5] < 719.0;
            if f[7] == 4.0 || f[8] < 0.99 || !inside {
                return None;
            }
            let p = pitch.lines().find(|p| p.starts_with(&format!("1,{},", f[1] as u32)))?;
            let p: Vec<&str> = p.split(',').collect();
            Some((l.to_string(), f[2] + f[4] / 2.0, f[3] + f[5], p[4].parse().unwrap(), p[5].parse().unwrap()))
        })
        .collect()
}

#[test]
fn point_pairs_calibrate_the_camera_validate_reports_the_fit_and_pitch_map_maps_boxes() {
    let people = demo_frame_one();
    assert!(people.len() >= 6, "{}", people.len());
    let dir = tempfile::tempdir().unwrap();
    let points: Vec<String> = people[..5].iter().map(|(_, px, py, x, y)| format!("[{px}, {py}, {x}, {y}]")).collect();
    let cfg = daemon::write_config(
        dir.path(),
        &format!("[source]\nuri = \"/dev/null\"\n[pitch]\npoints = [{}]\n", points.join(", ")),
    );
    let out = daemon::run(&["validate", "-c", cfg.to_str().unwrap(), "--no-env"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("pitch calibration: 5 point pairs, 5 kept"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mot = dir.path().join("boxes.txt");
    std::fs::write(&mot, people.iter().map(|p| format!("{}\n", p.0)).collect::<String>()).unwrap();
    let csv = dir.path().join("pitch.csv");
    let out = daemon::run(&[
        "pitch-map",
        "-c",
        cfg.to_str().unwrap(),
        "--mot",
        mot.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Vec<f64>> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|t| t.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), people.len());
    // Every person, including those not used for the fit, lands within 0.3 m of the truth.
    for (row, (_, _, _, x, y)) in rows.iter().zip(&people) {
        assert!((row[2] - x).abs() < 0.3 && (row[3] - y).abs() < 0.3, "{row:?} vs ({x}, {y})");
    }
    // A mistyped pair makes the fit miss: refused, with the key named.
    let mut bad = points.clone();
    bad[2] = bad[2].replacen('[', "[400, 100, 90, 5], [", 1);
    let cfg = daemon::write_config(
        dir.path(),
        &format!("[source]\nuri = \"/dev/null\"\n[pitch]\npoints = [{}]\n", bad.join(", ")),
    );
    let out = daemon::run(&["validate", "-c", cfg.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pitch.points"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn calibrate_fits_real_broadcast_frames_and_reports_a_bad_image_without_losing_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let split = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/roboflow-football-field-keypoints/valid"
    ));
    let mut frames: Vec<_> = std::fs::read_dir(split.join("images")).unwrap().map(|e| e.unwrap().path()).collect();
    frames.sort();
    frames.truncate(6);
    let garbage = dir.path().join("garbage.jpg");
    std::fs::write(&garbage, b"not a picture").unwrap();
    // No source: still images need no camera.
    let cfg = daemon::write_config(dir.path(), "[pitch]\nauto_calibrate = true\n");
    let out_path = dir.path().join("calib.jsonl");
    let mut args = vec!["calibrate", "-c", cfg.to_str().unwrap(), garbage.to_str().unwrap()];
    args.extend(frames.iter().map(|f| f.to_str().unwrap()));
    args.extend(["--out", out_path.to_str().unwrap()]);
    let out = daemon::run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a failed image fails the run: {stderr}");
    assert!(stderr.contains("garbage.jpg") && !stderr.contains("panicked"), "{stderr}");
    let text = std::fs::read_to_string(&out_path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), frames.len(), "every good image is written: {text}");
    let mut errors = Vec::new();
    for (line, frame) in lines.iter().zip(&frames) {
        assert_eq!(line["image"], frame.to_str().unwrap());
        let (w, h) = (line["width"].as_f64().unwrap(), line["height"].as_f64().unwrap());
        let kps = line["keypoints"].as_array().unwrap();
        assert_eq!(kps.len(), 32, "{line}");
        for k in kps.iter().filter(|k| !k.is_null()) {
            let k: Vec<f64> = k.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert!(k.len() == 3 && (0.0..=1.0).contains(&k[2]), "{k:?}");
            assert!(k[0] > -50.0 && k[0] < w + 50.0 && k[1] > -50.0 && k[1] < h + 50.0, "in the image: {k:?}");
        }
        // Scored against the labels: each labelled keypoint through the fit, against its place.
        let Some(hm) = line["homography"].as_array() else { continue };
        let m: Vec<f64> = hm.iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(m.len(), 9);
        assert!(line["inliers"].as_u64().unwrap() >= 5 && line["error_m"].as_f64().unwrap() <= 1.0, "{line}");
        let stem = frame.file_stem().unwrap().to_str().unwrap();
        let label: Vec<f64> = std::fs::read_to_string(split.join("labels").join(format!("{stem}.txt")))
            .unwrap()
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let places = footrackd::pitch::keypoints::pitch_keypoints(105.0, 68.0);
        for (i, place) in places.iter().enumerate() {
            let (x, y, v) = (label[5 + 3 * i] * w, label[6 + 3 * i] * h, label[7 + 3 * i]);
            if v > 0.0 {
                let z = m[6] * x + m[7] * y + m[8];
                let (px, py) = ((m[0] * x + m[1] * y + m[2]) / z, (m[3] * x + m[4] * y + m[5]) / z);
                errors.push((px - place.0).hypot(py - place.1));
            }
        }
    }
    let calibrated = lines.iter().filter(|l| !l["homography"].is_null()).count();
    assert!(calibrated >= 5, "{calibrated} of {} frames calibrated", lines.len());
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    assert!(median < 1.5, "labelled keypoints through the fits: median {median:.2} m");
}
