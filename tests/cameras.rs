//! Several cameras in one daemon: `[[source]]` tables, one shared detector, per-camera topics;
//! from files and from real RTSP servers; a camera whose server dies while the others go on;
//! cameras added and removed by SIGHUP; a remote change addressed to one camera.

use std::collections::HashMap;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::util::broker::{Broker, free_port};
use crate::util::recorder::{Message, Recorder};
use crate::util::{daemon, repo_root};

/// The appliance-wide part of a config: device, model, broker, with `extra` sections first and
/// `infer` keys.
fn appliance(device: &str, port: u16, extra: &str, infer: &str) -> String {
    let model = repo_root().join("models/yolox_nano.onnx");
    format!(
        "{extra}[device]\nid = \"{device}\"\n[infer]\n{infer}model = \"{}\"\n[publish]\nbroker_port = {port}\n[control]\nhealth_interval_secs = 0.5\nremote_config = true\n",
        model.display()
    )
}

/// One detector for every camera (on a CPU, `auto` gives each its own; the SIGHUP test keeps that).
const SHARED: &str = "detector_sharing = \"shared\"\n";

/// Live cameras at 4 frames a second each without the ball's second look: within what two
/// shared cores detect, so each camera's rate is its own and one held back by another shows.
const LIVE_4FPS: &str = "max_fps = 4.0\nball_focus_regions = 0\n";

/// One `[[source]]` table.
fn camera(id: &str, uri: &str, own: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nuri = \"{uri}\"\nreconnect_initial_ms = 100\nreconnect_max_ms = 500\nstall_timeout_ms = 2000\n{own}"
    )
}

/// Ball tracks are numbered from here.
const BALL_IDS: u64 = footrackd::track::ball::BALL_ID_BASE;

fn tracks_on(msgs: &[Message], topic: &str) -> Vec<serde_json::Value> {
    msgs.iter().filter(|m| m.topic == topic).map(|m| serde_json::from_str(&m.payload).unwrap()).collect()
}

fn count(rec: &Recorder, topic: &str) -> usize {
    rec.messages().iter().filter(|m| m.topic == topic).count()
}

/// Track messages per camera, sampled every `step` for `span`: the smallest count any camera
/// added in a step after the first second (a camera held back shows as a gap).
fn rates(rec: &Recorder, topics: &[String], span: Duration) -> HashMap<String, usize> {
    let start: Vec<usize> = topics.iter().map(|t| count(rec, t)).collect();
    std::thread::sleep(span);
    topics.iter().zip(start).map(|(t, s)| (t.clone(), count(rec, t) - s)).collect()
}

/// Kills what a test started when it ends, passed or failed (a failed assertion must not leave
/// a daemon or a server running).
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// An RTSP server of `clip` on each of `ports`, killed with the guard when the test ends.
fn rtsp_servers(ports: &[u16], clip: &std::path::Path) -> (Vec<Child>, KillOnDrop) {
    let servers: Vec<Child> = ports.iter().map(|&p| crate::util::rtsp::server(p, clip)).collect();
    let guard = KillOnDrop(servers.iter().map(Child::id).collect());
    (servers, guard)
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

#[test]
fn two_cameras_from_files_publish_every_frame_on_their_own_topics_as_one_camera_would() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-two/#");
    let dir = tempfile::tempdir().unwrap();
    let clip = repo_root().join("demo/clip.mp4");
    let frames = 50;
    // The same clip on both: batched together, each must get exactly what it would alone.
    let cfg = appliance("t-two", broker.port, "[ring]\noverflow = \"block\"\n", SHARED)
        + &camera("left", clip.to_str().unwrap(), "realtime = false\n")
        + &camera("right", clip.to_str().unwrap(), "realtime = false\n[source.track]\nteams = false\n");
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", &frames.to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("camera left:") && stderr.contains("camera right:"), "a summary per camera: {stderr}");
    assert!(
        rec.wait_for(Duration::from_secs(5), |m| m
            .iter()
            .any(|x| x.topic == "footrack/t-two/status" && x.payload == "stopped")),
        "no stopped status"
    );
    let msgs = rec.messages();
    let left = tracks_on(&msgs, "footrack/t-two/left/tracks");
    let right = tracks_on(&msgs, "footrack/t-two/right/tracks");
    assert_eq!((left.len(), right.len()), (frames, frames), "every frame of each camera, on its own topic");
    assert!(left.iter().all(|m| m["source"] == "left") && right.iter().all(|m| m["source"] == "right"));
    assert!(tracks_on(&msgs, "footrack/t-two/tracks").is_empty(), "nothing on the one-camera topic");
    // Same frames, same detections, same ids: batching changes nothing; teams only where asked.
    for (l, r) in left.iter().zip(&right) {
        assert_eq!(l["frame"], r["frame"]);
        same_tracks(l, r);
    }
    let has_team = |ms: &[serde_json::Value]| {
        ms.iter().any(|m| m["tracks"].as_array().unwrap().iter().any(|t| t["team"].is_string()))
    };
    assert!(has_team(&left) && !has_team(&right), "right's own [source.track] turned its teams off");
    // Status per camera, and the device's.
    for topic in ["footrack/t-two/left/status", "footrack/t-two/right/status", "footrack/t-two/status"] {
        let s: Vec<&str> = msgs.iter().filter(|m| m.topic == topic).map(|m| m.payload.as_str()).collect();
        assert_eq!((s.first(), s.last()), (Some(&"online"), Some(&"stopped")), "{topic}: {s:?}");
    }
    // And the same frames detected alone give the same tracks.
    let alone_rec = Recorder::start(broker.port, "footrack/t-alone/tracks");
    let alone = daemon::offline_config(&clip, broker.port, "t-alone")
        .replace("tile_columns = 2\ntile_rows = 2\nfull_frame = true\n", "")
        + "[control]\nhealth_interval_secs = 0.5\n";
    let path = daemon::write_config(dir.path(), &alone);
    assert!(
        daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", &frames.to_string()])
            .status
            .success()
    );
    assert!(
        alone_rec.wait_for(Duration::from_secs(5), |m| m.len() >= frames),
        "{} messages of the camera alone",
        alone_rec.messages().len()
    );
    let alone = tracks_on(&alone_rec.messages(), "footrack/t-alone/tracks");
    assert_eq!(alone.len(), frames);
    for (l, a) in left.iter().zip(&alone) {
        same_tracks(l, a);
    }
}

/// Cameras that share the detector share one pitch keypoint model too (one session, each camera's
/// keypoint frames run in turn by its thread; the periodic refreshes of a followed calibration in
/// the background, answered frames later): every camera is calibrated from the pitch's markings,
/// as one camera alone is (tests/pipeline.rs), refreshed as well as first fitted.
#[test]
fn cameras_sharing_the_detector_share_one_keypoint_model_and_each_is_calibrated() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-kp/#");
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::broadcast_clip();
    let frames = 30;
    let extra = "[ring]\noverflow = \"block\"\n[pitch]\nauto_calibrate = true\nkeypoint_every_frames = 10\n";
    let cfg = appliance("t-kp", broker.port, extra, SHARED)
        + &camera("a", clip.to_str().unwrap(), "realtime = false\n")
        + &camera("b", clip.to_str().unwrap(), "realtime = false\n");
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", &frames.to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("one pitch keypoint model").count(), 1, "one keypoint session: {stderr}");
    assert_eq!(stderr.matches("the keypoint model all cameras share").count(), 2, "both cameras on it: {stderr}");
    assert!(rec.wait_for(Duration::from_secs(5), |m| m.iter().any(|x| x.payload == "stopped")), "no stopped status");
    let msgs = rec.messages();
    for camera in ["a", "b"] {
        let tracks = tracks_on(&msgs, &format!("footrack/t-kp/{camera}/tracks"));
        assert_eq!(tracks.len(), frames, "camera {camera}: every frame");
        let fitted = tracks.iter().filter(|t| t["calibration"] == "keypoints").count();
        let calibrated = tracks.iter().filter(|t| !t["homography"].is_null()).count();
        let fitted_at: Vec<u64> =
            tracks.iter().filter(|t| t["calibration"] == "keypoints").filter_map(|t| t["frame"].as_u64()).collect();
        eprintln!("camera {camera}: fitted from the keypoints at frames {fitted_at:?}, {calibrated} calibrated");
        // The first fit is made on its frame (nothing to follow yet); the refreshes, sent every
        // 10 frames, are answered and applied a frame or more later.
        assert!(fitted >= 2, "camera {camera}: {fitted} fits from the keypoints, the first alone");
        let first = fitted_at[0];
        assert!(
            fitted_at[1..].iter().all(|n| !(n - first).is_multiple_of(10)),
            "camera {camera}: refreshes applied on the frames they read, not later: {fitted_at:?}"
        );
        assert!(calibrated * 10 >= frames * 7, "camera {camera}: {calibrated} of {frames} messages calibrated");
    }
}

/// The same people with the same ids and boxes within a pixel: a batch of frames may round
/// differently in the model than one frame alone. The ball is left out: its second look is aimed
/// by the whole-frame pass, so a tenth of a pixel there moves it by a few, and a ball near the
/// score threshold found in one run and not the other starts a new ball track (a new id).
fn same_tracks(a: &serde_json::Value, b: &serde_json::Value) {
    let of = |m: &serde_json::Value| -> Vec<(u64, Vec<f64>)> {
        let mut t: Vec<(u64, Vec<f64>)> = m["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["id"].as_u64().unwrap() < BALL_IDS)
            .map(|t| {
                (t["id"].as_u64().unwrap(), t["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect())
            })
            .collect();
        t.sort_by_key(|(id, _)| *id);
        t
    };
    let (ta, tb) = (of(a), of(b));
    let ids = |t: &[(u64, Vec<f64>)]| t.iter().map(|(id, _)| *id).collect::<Vec<_>>();
    assert_eq!(ids(&ta), ids(&tb), "frame {}: track ids", a["frame"]);
    for ((id, x), (_, y)) in ta.iter().zip(&tb) {
        assert!(
            x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 1.0),
            "frame {} track {id}: {x:?} against {y:?}",
            a["frame"]
        );
    }
}

#[test]
fn four_cameras_from_files_each_get_every_frame() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-four/+/tracks");
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::frames::test_pattern_clip_sized(dir.path(), "small.mp4", 40, 25, 640, 360);
    let own = "realtime = false\n[source.pitch]\nauto_calibrate = false\n";
    let cfg = appliance("t-four", broker.port, "[ring]\noverflow = \"block\"\n", SHARED)
        + &(0..4).map(|i| camera(&format!("cam{i}"), clip.to_str().unwrap(), own)).collect::<String>();
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(rec.wait_for(Duration::from_secs(5), |m| m.len() >= 160), "{} messages", rec.messages().len());
    let msgs = rec.messages();
    for i in 0..4 {
        let t = tracks_on(&msgs, &format!("footrack/t-four/cam{i}/tracks"));
        let frames: Vec<u64> = t.iter().map(|m| m["frame"].as_u64().unwrap()).collect();
        assert_eq!(frames, (0..40).collect::<Vec<u64>>(), "cam{i}: every frame, in order");
    }
}

#[test]
fn validate_names_the_camera_and_refuses_twice_used_ids() {
    let dir = tempfile::tempdir().unwrap();
    let clip = repo_root().join("demo/clip.mp4");
    let twice = appliance("t-ids", 1883, "", "")
        + &format!(
            "[[source]]\nid = \"left\"\nuri = \"{0}\"\n[[source]]\nid = \"left\"\nuri = \"{0}\"\nstall_timeout_ms = 10\n",
            clip.display()
        );
    let path = daemon::write_config(dir.path(), &twice);
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("used twice"), "{stderr}");
    assert!(stderr.contains("camera \"left\": source.stall_timeout_ms"), "the camera is named: {stderr}");
    let ok =
        appliance("t-ids", 1883, "", "") + &camera("a", clip.to_str().unwrap(), "") + &camera("b", "rtsp://cam/b", "");
    let path = daemon::write_config(dir.path(), &ok);
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("camera a: ok") && stdout.contains("camera b: ok"), "{stdout}");
}

#[test]
fn four_rtsp_cameras_keep_their_rate_while_one_server_dies_and_comes_back() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-rtsp4/#");
    let dir = tempfile::tempdir().unwrap();
    let clip = repo_root().join("demo/clip.mp4");
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let (mut servers, mut guard) = rtsp_servers(&ports, &clip);
    let own = "[source.pitch]\nauto_calibrate = false\n";
    let cfg = appliance("t-rtsp4", broker.port, "", &format!("{LIVE_4FPS}{SHARED}"))
        + &(0..4)
            .map(|i| camera(&format!("cam{i}"), &format!("rtsp://127.0.0.1:{}/clip", ports[i]), own))
            .collect::<String>();
    let path = daemon::write_config(dir.path(), &cfg);
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    guard.0.push(child.id());
    let topics: Vec<String> = (0..4).map(|i| format!("footrack/t-rtsp4/cam{i}/tracks")).collect();
    assert!(
        rec.wait_for(Duration::from_secs(30), |m| topics
            .iter()
            .all(|t| m.iter().filter(|x| &x.topic == t).count() >= 4)),
        "not every camera publishes"
    );
    let before = rates(&rec, &topics, Duration::from_secs(3));
    // Camera 0's server dies for 3 s.
    servers[0].kill().unwrap();
    servers[0].wait().unwrap();
    let during = rates(&rec, &topics, Duration::from_secs(3));
    assert!(child.try_wait().unwrap().is_none(), "the daemon runs on");
    for t in &topics[1..] {
        assert!(
            during[t] + 1 >= before[t] && during[t] >= 9,
            "{t}: {} frames in 3 s before the fault, {} during it",
            before[t],
            during[t]
        );
    }
    let health = rec.messages().into_iter().rev().find(|m| m.topic == "footrack/t-rtsp4/cam0/health").unwrap();
    let h: serde_json::Value = serde_json::from_str(&health.payload).unwrap();
    assert_eq!(h["source"]["id"], "cam0");
    servers[0] = crate::util::rtsp::server(ports[0], &clip);
    guard.0.push(servers[0].id());
    let n0 = count(&rec, &topics[0]);
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m.iter().filter(|x| x.topic == topics[0]).count() > n0 + 4),
        "camera 0 did not resume"
    );
    eprintln!("4 RTSP cameras, 4 fps each: before {before:?}, during camera 0's outage {during:?}");
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    assert!(child.wait().unwrap().success());
}

#[test]
fn cameras_are_added_and_removed_by_sighup_and_a_remote_change_reaches_one_camera() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-hup/#");
    let dir = tempfile::tempdir().unwrap();
    let clip = repo_root().join("demo/clip.mp4");
    let ports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    let (_servers, mut guard) = rtsp_servers(&ports, &clip);
    let own = "[source.pitch]\nauto_calibrate = false\n";
    let head = appliance("t-hup", broker.port, "", LIVE_4FPS);
    let two = head.clone()
        + &camera("a", &format!("rtsp://127.0.0.1:{}/clip", ports[0]), own)
        + &camera("b", &format!("rtsp://127.0.0.1:{}/clip", ports[1]), own);
    let three = two.clone() + &camera("c", clip.to_str().unwrap(), &format!("realtime = true\n{own}"));
    let path = daemon::write_config(dir.path(), &two);
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    guard.0.push(child.id());
    let (ta, tb, tc) = ("footrack/t-hup/a/tracks", "footrack/t-hup/b/tracks", "footrack/t-hup/c/tracks");
    assert!(rec.wait_for(Duration::from_secs(30), |m| {
        [ta, tb].iter().all(|t| m.iter().filter(|x| x.topic == *t).count() >= 4)
    }));

    // Added: c starts; a and b never pause.
    std::fs::write(&path, &three).unwrap();
    signal(&child, nix::sys::signal::Signal::SIGHUP);
    let started = Instant::now();
    let mut longest_pause = Duration::ZERO;
    let (mut last_a, mut at) = (count(&rec, ta), Instant::now());
    while count(&rec, tc) < 4 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
        let n = count(&rec, ta);
        if n > last_a {
            (last_a, at) = (n, Instant::now());
        }
        longest_pause = longest_pause.max(at.elapsed());
    }
    assert!(count(&rec, tc) >= 4, "the added camera does not publish");
    assert!(longest_pause < Duration::from_secs(2), "camera a paused {longest_pause:?} while c was added");

    // One camera's own setting, remotely; an appliance-wide one is refused for one camera.
    rec.publish("footrack/t-hup/b/config/set", r#"{"track": {"min_hits": 5}}"#, false);
    rec.publish("footrack/t-hup/a/config/set", r#"{"infer": {"score_threshold": 0.3}}"#, false);
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m
            .iter()
            .any(|x| x.topic == "footrack/t-hup/a/config/error" && x.payload.contains("same for every camera"))),
        "appliance-wide key sent to one camera not refused"
    );
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m
            .iter()
            .any(|x| x.topic == "footrack/t-hup/b/config/state" && x.payload.contains("\"min_hits\":5"))),
        "b did not take its own change"
    );
    let a_state = rec.messages().into_iter().rfind(|m| m.topic == "footrack/t-hup/a/config/state").unwrap();
    assert!(!a_state.payload.contains("\"min_hits\":5"), "a kept its own settings");

    // Removed: c drains and says stopped; a and b go on.
    std::fs::write(&path, &two).unwrap();
    signal(&child, nix::sys::signal::Signal::SIGHUP);
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m
            .iter()
            .any(|x| x.topic == "footrack/t-hup/c/status" && x.payload == "stopped")),
        "the removed camera did not stop"
    );
    let after = rates(&rec, &[ta.to_string(), tb.to_string()], Duration::from_secs(2));
    assert!(after.values().all(|&n| n >= 5), "a and b after c's removal: {after:?}");
    assert!(child.try_wait().unwrap().is_none());
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_camera_that_fails_before_its_first_frame_is_started_again_while_the_other_goes_on() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-late/#");
    let dir = tempfile::tempdir().unwrap();
    let clip = repo_root().join("demo/clip.mp4");
    // Its file is not there yet: the first start fails, the next one (2 s on) finds it.
    let late = dir.path().join("late.mp4");
    let own = "realtime = true\n[source.pitch]\nauto_calibrate = false\n";
    let cfg = appliance("t-late", broker.port, "", LIVE_4FPS)
        + &camera("a", clip.to_str().unwrap(), own)
        + &camera("late", late.to_str().unwrap(), own);
    let path = daemon::write_config(dir.path(), &cfg);
    let child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    let _guard = KillOnDrop(vec![child.id()]);
    assert!(
        rec.wait_for(Duration::from_secs(20), |m| m.iter().any(|x| x.topic == "footrack/t-late/a/tracks")),
        "camera a does not publish"
    );
    let partial = dir.path().join("late.mp4.part");
    std::fs::copy(&clip, &partial).unwrap();
    std::fs::rename(&partial, &late).unwrap();
    assert!(
        rec.wait_for(Duration::from_secs(20), |m| m
            .iter()
            .filter(|x| x.topic == "footrack/t-late/late/tracks")
            .count()
            >= 4),
        "the camera whose file came late was not started again"
    );
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("starting it again"), "the retry is logged: {stderr}");
}
