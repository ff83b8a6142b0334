//! End to end: a real clip through decode, detection, tracking and MQTT.

use std::collections::HashSet;
use std::time::Duration;

use crate::util::broker::{Broker, free_port};
use crate::util::recorder::Recorder;
use crate::util::{broadcast_clip, daemon};

fn tracks_of(payload: &str) -> Vec<(u64, String)> {
    let v: serde_json::Value = serde_json::from_str(payload).expect("track message is JSON");
    v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_u64().unwrap(), t["class"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn broadcast_clip_yields_persistent_player_tracks_and_status_goes_online_then_stopped() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-e2e/#");
    let dir = tempfile::tempdir().unwrap();
    let path = daemon::write_config(dir.path(), &daemon::offline_config(&broadcast_clip(), broker.port, "t-e2e"));
    let frames = 75;
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", &frames.to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(rec.wait_for(Duration::from_secs(5), |m| m.iter().any(|x| x.payload == "stopped")), "no stopped status");

    let msgs = rec.messages();
    let statuses: Vec<&str> =
        msgs.iter().filter(|m| m.topic == "footrack/t-e2e/status").map(|m| m.payload.as_str()).collect();
    assert_eq!(statuses.first(), Some(&"online"), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&"stopped"), "{statuses:?}");

    let frames_seen: Vec<Vec<(u64, String)>> =
        msgs.iter().filter(|m| m.topic == "footrack/t-e2e/tracks").map(|m| tracks_of(&m.payload)).collect();
    assert_eq!(frames_seen.len(), frames, "one track message per frame (block policy processes every frame)");
    let first: serde_json::Value =
        serde_json::from_str(&msgs.iter().find(|m| m.topic.ends_with("/tracks")).unwrap().payload).unwrap();
    assert_eq!(first["schema"], 2);
    assert_eq!(first["width"], 1280);
    assert!(first["pts_ms"].is_number() && first["capture_unix_ms"].is_number());

    // Players are found: a broadcast wide shot shows well over five at a time.
    let mut counts: Vec<usize> = frames_seen.iter().map(|f| f.iter().filter(|(_, c)| c == "player").count()).collect();
    counts.sort();
    let median = counts[counts.len() / 2];
    assert!(median >= 6, "median players per frame {median}");

    // Most ids persist from one frame to the next.
    let mut kept = 0usize;
    let mut total = 0usize;
    for w in frames_seen.windows(2) {
        let prev: HashSet<u64> = w[0].iter().map(|(id, _)| *id).collect();
        total += w[1].len();
        kept += w[1].iter().filter(|(id, _)| prev.contains(id)).count();
    }
    let persistence = kept as f64 / total.max(1) as f64;
    assert!(persistence > 0.8, "only {:.0} % of ids persisted frame to frame", persistence * 100.0);
    // And the tracker is not minting ids freely: far fewer distinct ids than detections.
    let distinct: HashSet<u64> = frames_seen.iter().flatten().map(|(id, _)| *id).collect();
    assert!(distinct.len() < total / 5, "{} distinct ids over {} track reports", distinct.len(), total);
}

#[test]
fn without_a_broker_every_frame_is_still_processed_and_the_daemon_exits_cleanly() {
    // Nothing listens on this port: processing goes on, frame after frame (messages wait in the
    // spool; tests/outage.rs checks what reaches subscribers across an outage).
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = daemon::write_config(dir.path(), &daemon::offline_config(&broadcast_clip(), port, "t-outage"));
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", "20"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("processed 20"), "{stderr}");
    assert!(stderr.contains("MQTT broker unreachable"), "{stderr}");
}

/// Issue 19: `infer.max_fps = 10` on a 25 fps camera delivers 10 fps (it delivered 8.3: the
/// limit rounded down to a divisor of the source's rate).
#[test]
fn a_rate_limit_of_10_fps_on_a_25_fps_clip_processes_10_frames_a_second() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-rate/tracks");
    let dir = tempfile::tempdir().unwrap();
    // 12 s at 25 fps; small frames keep the test quick.
    let clip = crate::util::frames::test_pattern_clip_sized(dir.path(), "twelve.mp4", 300, 25, 320, 180);
    let toml = daemon::offline_config(&clip, broker.port, "t-rate").replace("[infer]\n", "[infer]\nmax_fps = 10.0\n");
    let path = daemon::write_config(dir.path(), &toml);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(rec.wait_for(Duration::from_secs(10), |m| m.len() >= 120), "{} messages", rec.messages().len());
    std::thread::sleep(Duration::from_millis(300));
    let frames: Vec<u64> = rec
        .messages()
        .iter()
        .map(|m| serde_json::from_str::<serde_json::Value>(&m.payload).unwrap()["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(frames.len(), 120, "10 of every 25 frames of 300: {stderr}");
    // As evenly spaced as 25 fps allows: 2 or 3 frames apart.
    assert!(frames.windows(2).all(|w| (2..=3).contains(&(w[1] - w[0]))), "{frames:?}");
}

#[test]
fn sigterm_drains_and_publishes_stopped() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-term/#");
    let dir = tempfile::tempdir().unwrap();
    // Realtime playback of the whole clip: it would run ~20 s if not stopped.
    let cfg = daemon::offline_config(&broadcast_clip(), broker.port, "t-term")
        .replace("realtime = false", "realtime = true")
        .replace("overflow = \"block\"", "overflow = \"drop_oldest\"");
    let path = daemon::write_config(dir.path(), &cfg);
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(
        rec.wait_for(Duration::from_secs(30), |m| m.iter().filter(|x| x.topic.ends_with("/tracks")).count() >= 5),
        "no tracks"
    );
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
    assert!(
        rec.wait_for(Duration::from_secs(5), |m| m.last().is_some_and(|x| x.payload == "stopped")),
        "last status is not stopped"
    );
}

#[test]
fn a_calibrated_camera_adds_pitch_positions_and_speeds_to_tracks() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-pitch/tracks");
    let dir = tempfile::tempdir().unwrap();
    // The demo clip's homography at frame 1 (the camera barely moves over the first frames).
    let root = env!("CARGO_MANIFEST_DIR");
    let row = std::fs::read_to_string(format!("{root}/demo/homography.csv")).unwrap();
    let h: Vec<&str> = row.lines().nth(1).unwrap().split(',').skip(1).collect();
    let clip = std::path::PathBuf::from(format!("{root}/demo/clip.mp4"));
    let cfg = daemon::offline_config(&clip, broker.port, "t-pitch")
        + &format!("[pitch]\nimage_to_pitch = [{}]\n", h.join(", "));
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", "6"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(rec.wait_for(Duration::from_secs(5), |m| m.len() >= 6));
    let last: serde_json::Value = serde_json::from_str(&rec.messages()[5].payload).unwrap();
    let tracks = last["tracks"].as_array().unwrap();
    assert!(tracks.len() >= 5, "{last}");
    for t in tracks.iter().filter(|t| t["class"] == "player") {
        let (x, y) = (t["pitch"][0].as_f64().unwrap(), t["pitch"][1].as_f64().unwrap());
        assert!((-5.0..110.0).contains(&x) && (-5.0..73.0).contains(&y), "{t}");
        assert!((0.0..15.0).contains(&t["speed_mps"].as_f64().unwrap()), "{t}");
    }
}

/// Issue 13: the connection handshake (TCP, CONNECT, CONNACK) through 500 ms of round-trip
/// latency completes: the client is not restarted in the middle of it.
#[test]
fn mqtt_connects_through_a_slow_link() {
    let broker = Broker::start();
    let proxy = crate::util::proxy::DelayProxy::start(broker.port, Duration::from_millis(250));
    let rec = Recorder::start(broker.port, "footrack/t-slow/#");
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::repo_root().join("demo/clip.mp4");
    let cfg = daemon::write_config(
        dir.path(),
        &daemon::offline_config(&clip, proxy.port, "t-slow").replace("realtime = false", "realtime = true"),
    );
    let started = std::time::Instant::now();
    let mut child = daemon::spawn(&["run", "-c", cfg.to_str().unwrap(), "--no-env", "--max-frames", "250"]);
    let online = rec.wait_for(Duration::from_secs(15), |m| {
        m.iter().any(|m| m.topic == "footrack/t-slow/status" && m.payload == "online")
    });
    eprintln!(
        "online through 500 ms of round-trip latency {:.2} s after the daemon started",
        started.elapsed().as_secs_f64()
    );
    let tracks = rec
        .wait_for(Duration::from_secs(15), |m| m.iter().filter(|m| m.topic == "footrack/t-slow/tracks").count() >= 5);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        online,
        "never online through the slow link: {:?}",
        rec.messages().iter().map(|m| &m.topic).collect::<Vec<_>>()
    );
    assert!(tracks, "track messages did not pass the slow link");
}

/// Team accuracy on the bundled demo clip, whose ground truth knows every person's team: each
/// published player track with a team is matched to a ground-truth box (IoU >= 0.5) of the same
/// frame; the team names A/B are mapped to the truth's 0/1 by the better of the two ways.
#[test]
fn player_tracks_carry_the_team_of_their_kit() {
    let root = crate::util::repo_root();
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-teams/tracks");
    let dir = tempfile::tempdir().unwrap();
    let model = root.join("models/football_nano_1280x736.onnx");
    let cfg = format!(
        "[device]\nid = \"t-teams\"\n[source]\nuri = \"{}\"\nrealtime = false\n[ring]\noverflow = \"block\"\n[infer]\nmodel = \"{}\"\n[publish]\nbroker_port = {}\n",
        root.join("demo/clip.mp4").display(),
        model.display(),
        broker.port
    );
    let path = daemon::write_config(dir.path(), &cfg);
    let frames = 150;
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", &frames.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(rec.wait_for(Duration::from_secs(5), |m| m.len() >= frames));
    // Truth: frame -> (box, team) of visible outfield players.
    let gt = std::fs::read_to_string(root.join("demo/gt/gt.txt")).unwrap();
    let pitch = std::fs::read_to_string(root.join("demo/pitch.csv")).unwrap();
    let mut team_of = std::collections::HashMap::new();
    for l in pitch.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        if f[0] == "1" && f[3] == "player" {
            team_of.insert(f[1].to_string(), f[2].to_string());
        }
    }
    let mut counts = [[0u32; 2]; 2]; // [A/B][truth 0/1]
    let mut per_track: std::collections::HashMap<u64, [[u32; 2]; 2]> = std::collections::HashMap::new();
    for m in rec.messages() {
        let v: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
        let frame = v["frame"].as_u64().unwrap() + 1;
        let truth: Vec<([f32; 4], usize)> = gt
            .lines()
            .filter(|l| l.starts_with(&format!("{frame},")))
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let team = team_of.get(f[1])?;
                let n: Vec<f32> = f[2..6].iter().map(|t| t.parse().unwrap()).collect();
                Some(([n[0], n[1], n[0] + n[2], n[1] + n[3]], if team == "0" { 0 } else { 1 }))
            })
            .collect();
        for t in v["tracks"].as_array().unwrap() {
            let Some(team) = t["team"].as_str() else { continue };
            let b: Vec<f32> = t["box"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
            let best =
                truth.iter().map(|(g, team)| (crate::util::iou(g, &b), *team)).max_by(|x, y| x.0.total_cmp(&y.0));
            if let Some((o, truth_team)) = best
                && o >= 0.5
            {
                let ours = usize::from(team == "B");
                counts[ours][truth_team] += 1;
                per_track.entry(t["id"].as_u64().unwrap()).or_default()[ours][truth_team] += 1;
            }
        }
    }
    let total: u32 = counts.iter().flatten().sum();
    let straight = counts[0][0] + counts[1][1];
    let (right, swap) = if straight * 2 >= total { (straight, false) } else { (total - straight, true) };
    let per_detection = right as f64 / total.max(1) as f64;
    let tracks_right = per_track
        .values()
        .filter(|c| {
            let (a, b) =
                if swap { (c[0][1] + c[1][0], c[0][0] + c[1][1]) } else { (c[0][0] + c[1][1], c[0][1] + c[1][0]) };
            a > b
        })
        .count();
    let per_track_acc = tracks_right as f64 / per_track.len().max(1) as f64;
    eprintln!(
        "teams on the demo clip: {per_detection:.3} of {total} labelled player boxes right, {per_track_acc:.3} of {} tracks",
        per_track.len()
    );
    assert!(total >= 500, "players get team labels ({total})");
    assert!(
        per_detection >= 0.9 && per_track_acc >= 0.85,
        "team accuracy {per_detection:.3} per box, {per_track_acc:.3} per track"
    );
}

#[test]
fn annotate_writes_a_video_of_every_frame_with_the_tracks_drawn() {
    let root = crate::util::repo_root();
    let dir = tempfile::tempdir().unwrap();
    let clip = root.join("demo/clip.mp4");
    let cfg = daemon::offline_config(&clip, free_port(), "t-annotate");
    let path = daemon::write_config(dir.path(), &cfg);
    let video = dir.path().join("annotated.mp4");
    let frames: usize = 30;
    let out = daemon::run(&[
        "run",
        "-c",
        path.to_str().unwrap(),
        "--no-env",
        "--max-frames",
        &frames.to_string(),
        "--annotate",
        video.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let annotated = crate::util::frames::decode(&video, 0, 100);
    assert_eq!(annotated.len(), frames, "every processed frame is in the video (offline: none dropped)");
    let original = crate::util::frames::decode(&clip, 0, frames as u64);
    // Drawing changed the late frames (tracks are confirmed after two frames), in luma.
    let (a, o) = (&annotated[frames - 1], &original[frames - 1]);
    assert_eq!((a.width, a.height), (o.width, o.height));
    let n = (a.width * a.height) as usize;
    let changed = a.data[..n].iter().zip(&o.data[..n]).filter(|(x, y)| x.abs_diff(**y) > 60).count();
    assert!(changed > 500, "only {changed} luma pixels differ: nothing drawn?");
}

#[test]
fn snapshots_are_published_retained_and_written_to_a_file() {
    let root = crate::util::repo_root();
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-snap/snapshot");
    let dir = tempfile::tempdir().unwrap();
    let jpeg = dir.path().join("snap.jpg");
    let cfg = daemon::offline_config(&root.join("demo/clip.mp4"), broker.port, "t-snap").replace(
        "[publish]\n",
        &format!("[publish]\nsnapshot_every_secs = 1\nsnapshot_path = \"{}\"\n", jpeg.display()),
    );
    let path = daemon::write_config(dir.path(), &cfg);
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", "60"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&jpeg).expect("the snapshot file");
    assert!(bytes.starts_with(&[0xFF, 0xD8]) && bytes.len() > 10_000, "a JPEG of the frame ({} bytes)", bytes.len());
    assert!(rec.wait_for(Duration::from_secs(5), |m| !m.is_empty()), "no snapshot on MQTT");
    assert!(rec.messages()[0].payload.len() > 10_000);
}

/// Issue 20: on a real broadcast clip, with no hand calibration, the pitch's own markings give a
/// calibration: most messages carry a homography and pitch positions, the first from a keypoint
/// fit, and health reports the calibration's state.
#[test]
fn a_broadcast_clip_is_calibrated_from_its_pitch_markings_without_hand_work() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-auto/#");
    let dir = tempfile::tempdir().unwrap();
    let cfg = daemon::offline_config(&broadcast_clip(), broker.port, "t-auto")
        + "[control]\nhealth_interval_secs = 1.0\n[pitch]\nauto_calibrate = true\nkeypoint_every_frames = 10\n";
    let path = daemon::write_config(dir.path(), &cfg);
    let frames = 40;
    let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", &frames.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(rec.wait_for(Duration::from_secs(5), |m| m.iter().any(|x| x.payload == "stopped")), "no stopped status");
    let msgs = rec.messages();
    let tracks: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.topic.ends_with("/tracks"))
        .map(|m| serde_json::from_str(&m.payload).unwrap())
        .collect();
    assert_eq!(tracks.len(), frames);
    let calibrated: Vec<&serde_json::Value> = tracks.iter().filter(|t| !t["homography"].is_null()).collect();
    assert!(calibrated.len() * 10 >= frames * 8, "{} of {frames} messages calibrated", calibrated.len());
    assert!(calibrated.iter().any(|t| t["calibration"] == "keypoints"), "a fit from the keypoints");
    assert!(calibrated.iter().all(|t| t["calibration"] == "keypoints" || t["calibration"] == "followed"));
    // Players stand on the pitch (a margin for the touchline and the fit's error).
    let mut on_pitch = 0;
    let mut players = 0;
    for t in &calibrated {
        for r in t["tracks"].as_array().unwrap().iter().filter(|r| r["class"] == "player") {
            let (x, y) = (r["pitch"][0].as_f64().unwrap(), r["pitch"][1].as_f64().unwrap());
            players += 1;
            on_pitch += usize::from((-3.0..108.0).contains(&x) && (-3.0..71.0).contains(&y));
        }
    }
    assert!(on_pitch * 10 >= players * 9, "{on_pitch} of {players} players on the pitch");
    let health: serde_json::Value = msgs
        .iter()
        .rev()
        .find(|m| m.topic.ends_with("/health"))
        .map(|m| serde_json::from_str(&m.payload).unwrap())
        .expect("a health message");
    let c = &health["calibration"];
    assert!(c["share_calibrated"].as_f64().unwrap() > 0.5 && c["fits_accepted"].as_u64().unwrap() >= 1, "{c}");
    assert!(c["last_error_m"].as_f64().unwrap() <= 1.0 && c["keypoint_runs"].as_u64().unwrap() >= 2, "{c}");
}

/// Two frames in flight (the default: the model on the next frame while another thread finishes
/// this one) publish exactly what one at a time does, every frame in order: same ids, classes,
/// boxes and teams. The demo clip is 720p, where the ball's second look (the one input that
/// depends on timing: the tracker's hint) does not run.
#[test]
fn two_frames_in_flight_publish_what_one_at_a_time_does_in_frame_order() {
    let root = crate::util::repo_root();
    let broker = Broker::start();
    let frames = 60;
    let rec = Recorder::start(broker.port, "footrack/+/tracks");
    let run = |in_flight: usize| {
        let device = format!("t-flight{in_flight}");
        let topic = format!("footrack/{device}/tracks");
        let dir = tempfile::tempdir().unwrap();
        let cfg = format!(
            "[device]\nid = \"{device}\"\n[source]\nuri = \"{}\"\nrealtime = false\n[ring]\noverflow = \"block\"\n[infer]\nmodel = \"{}\"\nframes_in_flight = {in_flight}\n[publish]\nbroker_port = {}\n",
            root.join("demo/clip.mp4").display(),
            root.join("models/football_nano_1280x736.onnx").display(),
            broker.port
        );
        let path = daemon::write_config(dir.path(), &cfg);
        let out = daemon::run(&["run", "-c", path.to_str().unwrap(), "--no-env", "--max-frames", &frames.to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            rec.wait_for(Duration::from_secs(5), |m| m.iter().filter(|m| m.topic == topic).count() >= frames),
            "{in_flight} in flight: messages missing"
        );
        rec.messages()
            .iter()
            .filter(|m| m.topic == topic)
            .map(|m| {
                let v: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
                let tracks: Vec<String> = v["tracks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| format!("{} {} {} {}", t["id"], t["class"], t["box"], t["team"]))
                    .collect();
                (v["frame"].as_u64().unwrap(), tracks)
            })
            .collect::<Vec<_>>()
    };
    let one = run(1);
    let two = run(2);
    let order: Vec<u64> = two.iter().map(|(f, _)| *f).collect();
    assert_eq!(order, (0..frames as u64).collect::<Vec<_>>(), "every frame, in order");
    assert!(two.iter().any(|(_, t)| t.iter().any(|s| !s.ends_with("null"))), "teams assigned");
    for ((f, a), (_, b)) in one.iter().zip(&two) {
        assert_eq!(a, b, "frame {f}: one in flight and two differ");
    }
}
