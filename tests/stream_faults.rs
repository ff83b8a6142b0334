//! Broken inputs: a real RTSP camera that goes away and comes back (footrackd waits, reports the
//! outage in health, and resumes soon after the stream returns), and a truncated file (a clear
//! error or a clean end, never a hang or a panic).

use std::time::{Duration, Instant};

use crate::util::broker::{Broker, free_port};
use crate::util::daemon;
use crate::util::recorder::Recorder;

fn tracks(rec: &Recorder) -> usize {
    rec.messages().iter().filter(|m| m.topic.ends_with("/tracks")).count()
}

#[test]
fn a_camera_that_goes_away_is_waited_for_and_resumed_when_it_returns() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-rtsp/#");
    let port = free_port();
    let mut server = crate::util::rtsp::server(port, &crate::util::repo_root().join("demo/clip.mp4"));
    let dir = tempfile::tempdir().unwrap();
    // The camera comes back with other settings: another resolution (the demo clip is 1280x720).
    let smaller = crate::util::frames::test_pattern_clip_sized(dir.path(), "640x360.mp4", 300, 25, 640, 360);
    let model = crate::util::repo_root().join("models/yolox_nano.onnx");
    let cfg = format!(
        "[device]\nid = \"t-rtsp\"\n[source]\nuri = \"rtsp://127.0.0.1:{port}/clip\"\nreconnect_initial_ms = 100\nreconnect_max_ms = 500\nstall_timeout_ms = 2000\n\
         [infer]\nmodel = \"{}\"\n[publish]\nbroker_port = {}\n[control]\nhealth_interval_secs = 0.5\n",
        model.display(),
        broker.port
    );
    let path = daemon::write_config(dir.path(), &cfg);
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(
        rec.wait_for(Duration::from_secs(30), |m| m.iter().filter(|x| x.topic.ends_with("/tracks")).count() > 20),
        "no tracks from the RTSP camera"
    );

    // The camera goes away for 3 s.
    server.kill().unwrap();
    server.wait().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let during = tracks(&rec);
    assert!(child.try_wait().unwrap().is_none(), "the daemon must wait for its camera, not exit");
    let health: Vec<serde_json::Value> = rec
        .messages()
        .iter()
        .filter(|m| m.topic.ends_with("/health"))
        .filter_map(|m| serde_json::from_str(&m.payload).ok())
        .collect();
    assert!(
        health.iter().rev().take(3).any(|h| h["source"]["state"] != "running"),
        "health does not report the outage"
    );

    // It comes back, at 640x360: tracks resume at the new size.
    let mut server = crate::util::rtsp::server(port, &smaller);
    let back = Instant::now();
    assert!(
        rec.wait_for(Duration::from_secs(15), |m| m.iter().filter(|x| x.topic.ends_with("/tracks")).count()
            > during + 5),
        "tracks did not resume"
    );
    let resumed = back.elapsed();
    let h = rec
        .messages()
        .iter()
        .rev()
        .filter(|m| m.topic.ends_with("/health"))
        .find_map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).ok())
        .unwrap();
    eprintln!(
        "RTSP camera back: tracks resumed {:.2} s after the server returned; reconnects {}",
        resumed.as_secs_f64(),
        h["source"]["reconnects_total"]
    );
    assert!(h["source"]["reconnects_total"].as_u64().unwrap_or(0) >= 1, "{h}");
    assert!(resumed < Duration::from_secs(5), "resumed after {resumed:?}");
    let last = rec
        .messages()
        .iter()
        .rev()
        .find(|m| m.topic.ends_with("/tracks"))
        .map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).unwrap())
        .unwrap();
    assert_eq!(
        (last["width"].as_u64(), last["height"].as_u64()),
        (Some(640), Some(360)),
        "tracks after the return are at the new resolution"
    );

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn a_resolution_change_mid_stream_is_followed_frame_by_frame() {
    let dir = tempfile::tempdir().unwrap();
    let parts = [(320, 180, 30), (640, 360, 30), (320, 180, 20)];
    let stream = crate::util::frames::resolution_change_stream(dir.path(), "changing.h264", &parts);
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-reschange/#");
    // The pitch keypoint model has nothing to find in these frames; left out, the test loads
    // the two cores less while the rest of the suite runs beside it.
    let cfg = daemon::offline_config(&stream, broker.port, "t-reschange") + "[pitch]\nauto_calibrate = false\n";
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(rec.wait_for(Duration::from_secs(20), |m| m.iter().any(|x| x.payload == "stopped")), "no stopped status");
    let sizes: Vec<(u64, u64)> = rec
        .messages()
        .iter()
        .filter(|m| m.topic.ends_with("/tracks"))
        .map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).unwrap())
        .map(|v| (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(u64, u64)> =
        parts.iter().flat_map(|&(w, h, n)| std::iter::repeat_n((u64::from(w), u64::from(h)), n as usize)).collect();
    assert_eq!(sizes, expected, "every frame processed at its own resolution, in order");
}

#[test]
fn a_truncated_file_is_a_clear_error_or_a_clean_end_never_a_hang_or_a_panic() {
    let root = crate::util::repo_root();
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(root.join("demo/clip.mp4")).unwrap();
    // An MP4 cut in the middle (a copy that stopped half way): its index may be at the end.
    let clip = dir.path().join("truncated.mp4");
    std::fs::write(&clip, &whole[..whole.len() / 2]).unwrap();
    let cfg = daemon::offline_config(&clip, free_port(), "t-trunc");
    let path = daemon::write_config(dir.path(), &cfg);
    let started = Instant::now();
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("the daemon hung on a truncated file");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if out.status.success() {
        // Decoded what was there, then stopped at the end of the data.
        assert!(stderr.contains("processed"), "{stderr}");
    } else {
        // Or refused with a clear error naming the input.
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("error:"), "{stderr}");
    }
    eprintln!(
        "truncated file: exit {:?}; {}",
        out.status.code(),
        stderr.lines().filter(|l| l.starts_with("frames:") || l.starts_with("error:")).collect::<Vec<_>>().join(" | ")
    );
}
