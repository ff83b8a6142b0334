//! The Debian package: built from the tested binary by `scripts/package-deb.sh`, its contents and
//! control fields checked with `dpkg-deb`, and its default config validated against its models.

use std::process::Command;

use crate::util::{daemon, repo_root};

fn dpkg_deb(args: &[&str]) -> String {
    let out = Command::new("dpkg-deb").args(args).output().expect("dpkg-deb (Debian's dpkg)");
    assert!(out.status.success(), "dpkg-deb {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_package_holds_the_daemon_unit_config_and_models_and_its_config_validates() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/package-deb.sh"))
        .arg(daemon::binary())
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let deb = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let contents = dpkg_deb(&["-c", &deb]);
    for path in [
        "./usr/bin/footrackd",
        "./lib/systemd/system/footrackd.service",
        "./etc/footrackd/footrackd.toml",
        "./etc/default/footrackd",
        "./usr/share/footrackd/models/football_nano_1280x736.onnx",
        "./usr/share/footrackd/models/football_nano_1280x736.toml",
        "./usr/share/footrackd/models/yolox_nano.onnx",
    ] {
        assert!(contents.lines().any(|l| l.ends_with(path)), "{path} missing from the package:\n{contents}");
    }
    assert_eq!(
        dpkg_deb(&["-f", &deb, "Architecture"]).trim(),
        if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" }
    );
    assert!(dpkg_deb(&["-f", &deb, "Depends"]).contains("libgstreamer1.0-0"));
    let root = dir.path().join("root");
    dpkg_deb(&["-x", &deb, root.to_str().unwrap()]);
    let control = dir.path().join("control");
    dpkg_deb(&["-e", &deb, control.to_str().unwrap()]);
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert!(conffiles.contains("/etc/footrackd/footrackd.toml"), "the config survives upgrades");
    assert!(std::fs::read_to_string(control.join("postinst")).unwrap().contains("adduser --system"));
    let unit = std::fs::read_to_string(root.join("lib/systemd/system/footrackd.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/footrackd run") && !unit.contains("/usr/local/bin"), "{unit}");
    // The packaged config names the packaged models; validated here with the extracted tree
    // standing in for /usr/share (and a camera URI, which a user sets).
    let cfg = std::fs::read_to_string(root.join("etc/footrackd/footrackd.toml")).unwrap();
    assert!(cfg.contains("model = \"/usr/share/footrackd/models/football_nano_1280x736.onnx\""));
    assert!(cfg.contains("keypoint_model = \"/usr/share/footrackd/models/pitch_keypoints_640x384.onnx\""));
    assert!(cfg.contains("ball_focus_model = \"/usr/share/footrackd/models/football_nano_320.onnx\""));
    assert!(cfg.contains("role_model = \"/usr/share/footrackd/models/roles_32x64.onnx\""));
    assert!(cfg.contains("ball_check_model = \"/usr/share/footrackd/models/ball_check_32.onnx\""));
    assert!(cfg.contains("ball_finder_model = \"/usr/share/footrackd/models/ball_finder.onnx\""));
    assert!(cfg.contains("listen = \"127.0.0.1:8480\""), "the installed appliance serves its face on loopback");
    let model = root.join("usr/share/footrackd/models/football_nano_1280x736.onnx");
    let keypoints = root.join("usr/share/footrackd/models/pitch_keypoints_640x384.onnx");
    let focus = root.join("usr/share/footrackd/models/football_nano_320.onnx");
    let roles = root.join("usr/share/footrackd/models/roles_32x64.onnx");
    let ball_check = root.join("usr/share/footrackd/models/ball_check_32.onnx");
    let ball_finder = root.join("usr/share/footrackd/models/ball_finder.onnx");
    let out = Command::new(root.join("usr/bin/footrackd"))
        .args(["validate", "-c", root.join("etc/footrackd/footrackd.toml").to_str().unwrap()])
        .env("FOOTRACKD_INFER__MODEL", &model)
        .env("FOOTRACKD_PITCH__KEYPOINT_MODEL", &keypoints)
        .env("FOOTRACKD_INFER__BALL_FOCUS_MODEL", &focus)
        .env("FOOTRACKD_INFER__ROLE_MODEL", &roles)
        .env("FOOTRACKD_INFER__BALL_CHECK_MODEL", &ball_check)
        .env("FOOTRACKD_INFER__BALL_FINDER_MODEL", &ball_finder)
        .env("FOOTRACKD_SOURCE__URI", "rtsp://camera.local/stream")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
