//! The control plane against a real mosquitto: systemd notification, health, remote config,
//! SIGHUP reload, and the thermal throttle driven by a fake sysfs tree.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util::broker::Broker;
use crate::util::daemon;
use crate::util::recorder::{Message, Recorder};

fn demo_clip() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/clip.mp4")
}

/// A live-like config: the demo clip at its own rate, drop_oldest, fast health.
fn live_config(port: u16, device: &str, extra: &str) -> String {
    daemon::offline_config(&demo_clip(), port, device)
        .replace("realtime = false", "realtime = true")
        .replace("overflow = \"block\"", "overflow = \"drop_oldest\"")
        + "[control]\nhealth_interval_secs = 0.5\nremote_config = true\n"
        + extra
}

fn json(m: &Message) -> serde_json::Value {
    serde_json::from_str(&m.payload).unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", m.topic, m.payload))
}

fn last_on(rec: &Recorder, topic: &str) -> Option<Message> {
    rec.messages().into_iter().rfind(|m| m.topic == topic)
}

/// A `NOTIFY_SOCKET` the test owns, and a daemon run that reports to it.
struct NotifySocket {
    sock: UnixDatagram,
    path: PathBuf,
}

impl NotifySocket {
    fn bind(dir: &Path, name: &str) -> NotifySocket {
        let path = dir.join(name);
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        NotifySocket { sock, path }
    }

    /// Starts `footrackd <args>` reporting here, with a watchdog of `watchdog_usec` if given.
    fn spawn_daemon(&self, args: &[&str], watchdog_usec: Option<&str>) -> std::process::Child {
        let mut cmd = std::process::Command::new(daemon::binary());
        cmd.args(args)
            .env("NOTIFY_SOCKET", &self.path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(usec) = watchdog_usec {
            cmd.env("WATCHDOG_USEC", usec);
        }
        cmd.spawn().unwrap()
    }

    /// Appends every notification to `out` until `timeout` passes or `done(out)` holds.
    fn receive(&self, out: &mut Vec<String>, timeout: Duration, mut done: impl FnMut(&[String]) -> bool) {
        let until = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        while Instant::now() < until && !done(out) {
            if let Ok(n) = self.sock.recv(&mut buf) {
                out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    }

    /// Appends what is already waiting.
    fn drain(&self, out: &mut Vec<String>) {
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.sock.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
}

fn sigterm(child: &std::process::Child) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/footrackd.service")).unwrap();
    // verify checks that ExecStart binaries exist: point them at the one just built.
    let unit = unit.replace("/usr/local/bin/footrackd", daemon::binary().to_str().unwrap());
    for key in ["Type=notify", "WatchdogSec=", "ExecStartPre=", "ExecReload=", "DeviceAllow=", "Restart=on-failure"] {
        assert!(unit.contains(key), "unit lacks {key}");
    }
    assert!(
        !unit.lines().any(|l| l.trim_start().starts_with("PrivateDevices=yes")),
        "PrivateDevices would hide cameras and GPUs"
    );
    let path = dir.path().join("footrackd.service");
    std::fs::write(&path, unit).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (package systemd)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("footrackd.service:"), "systemd-analyze verify: {stderr}");
}

#[test]
fn notify_socket_gets_ready_then_watchdog_status_with_frame_progress_and_stopping() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let sock = NotifySocket::bind(dir.path(), "notify.sock");
    let cfg = daemon::write_config(dir.path(), &daemon::offline_config(&demo_clip(), broker.port, "t-notify"));
    let mut child =
        sock.spawn_daemon(&["run", "-c", cfg.to_str().unwrap(), "--no-env", "--max-frames", "60"], Some("1000000"));
    let mut messages: Vec<String> = Vec::new();
    sock.receive(&mut messages, Duration::from_secs(60), |_| matches!(child.try_wait(), Ok(Some(_))));
    sock.drain(&mut messages);
    assert!(child.wait().unwrap().success());
    let pos = |p: &str| messages.iter().position(|m| m.lines().any(|l| l.starts_with(p)));
    let ready = pos("READY=1").unwrap_or_else(|| panic!("no READY in {messages:?}"));
    let watchdog = pos("WATCHDOG=1").unwrap_or_else(|| panic!("no WATCHDOG in {messages:?}"));
    assert!(ready < watchdog, "WATCHDOG before READY: {messages:?}");
    assert!(pos("STATUS=").is_some(), "no STATUS in {messages:?}");
    let status = messages.iter().find(|m| m.starts_with("STATUS=")).unwrap();
    assert!(status.contains("frames processed"), "{status}");
    // The input ending is not a signal: STOPPING is sent only on SIGTERM/SIGINT (checked below).
    assert!(pos("STOPPING=1").is_none(), "STOPPING without a signal: {messages:?}");

    // SIGTERM path: STOPPING=1 is sent.
    let sock2 = NotifySocket::bind(dir.path(), "notify2.sock");
    let cfg2 = daemon::write_config(dir.path(), &live_config(broker.port, "t-notify2", ""));
    let mut child = sock2.spawn_daemon(&["run", "-c", cfg2.to_str().unwrap(), "--no-env"], None);
    let mut got = Vec::new();
    sock2.receive(&mut got, Duration::from_secs(30), |m| m.iter().any(|m| m.contains("READY=1")));
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    sock2.drain(&mut got);
    assert!(got.iter().any(|m| m.contains("STOPPING=1")), "no STOPPING after SIGTERM: {got:?}");
}

#[test]
fn health_messages_follow_the_documented_schema() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-health/#");
    let dir = tempfile::tempdir().unwrap();
    let cfg = daemon::write_config(dir.path(), &live_config(broker.port, "t-health", ""));
    let mut child = daemon::spawn(&["run", "-c", cfg.to_str().unwrap(), "--no-env"]);
    let got = rec.wait_for(Duration::from_secs(40), |m| {
        m.iter()
            .filter(|x| x.topic == "footrack/t-health/health")
            .filter_map(|x| serde_json::from_str::<serde_json::Value>(&x.payload).ok())
            .any(|v| v["infer"]["fps_processed"].as_f64().unwrap_or(0.0) > 0.0)
    });
    sigterm(&child);
    child.wait().unwrap();
    assert!(got, "no health message with processed frames");
    let h = json(&last_on(&rec, "footrack/t-health/health").unwrap());
    assert_eq!(h["schema"], 2);
    assert_eq!(h["device"], "t-health");
    for path in [
        "/source/state",
        "/source/decoder",
        "/source/fps_in",
        "/source/reconnects_last_hour",
        "/source/stalls_last_hour",
        "/source/connection_quality",
        "/infer/fps_processed",
        "/infer/fps_skipped",
        "/inference_ms/p50",
        "/inference_ms/p95",
        "/latency_ms/p50",
        "/latency_ms/p95",
        "/latency_ms/p99",
        "/ring/depth",
        "/ring/slots",
        "/drops_total/ring_oldest",
        "/drops_total/rate_limit",
        "/drops_total/publish_queue_full",
        "/system/cpu_percent",
        "/system/rss_mb",
        "/system/mem_available_mb",
        "/system/gpu_memory_mb",
        "/system/temperatures",
        "/system/gpus",
        "/system/nvml",
        "/throttle/state",
        "/throttle/rate_fps",
        "/mqtt/connected",
        "/mqtt/replayed_total",
        "/mqtt/spool_dropped_total",
        "/platform/jetson",
        "/platform/unified_memory",
    ] {
        assert!(h.pointer(path).is_some(), "health lacks {path}: {h}");
    }
    assert_eq!(h["source"]["decoder"], "software");
    assert!(h["system"]["rss_mb"].as_f64().unwrap() > 10.0);
}

#[test]
fn remote_config_is_validated_applied_persisted_and_refused_with_reasons() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-remote/#");
    let dir = tempfile::tempdir().unwrap();
    let cfg = daemon::write_config(dir.path(), &live_config(broker.port, "t-remote", ""));
    let mut child = daemon::spawn(&["run", "-c", cfg.to_str().unwrap(), "--no-env"]);
    assert!(
        rec.wait_for(Duration::from_secs(30), |m| m.iter().any(|x| x.topic.ends_with("/tracks"))),
        "daemon did not start"
    );
    let state0 = json(&last_on(&rec, "footrack/t-remote/config/state").expect("config/state at start"));
    assert_eq!(state0["config"]["track"]["min_hits"], 2);

    // Valid change: applied and echoed.
    rec.publish(
        "footrack/t-remote/config/set",
        r#"{"track": {"min_hits": 3}, "infer": {"score_threshold": 0.3}}"#,
        false,
    );
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m
            .iter()
            .any(|x| x.topic.ends_with("/config/state") && x.payload.contains("\"min_hits\":3"))),
        "change not echoed on config/state"
    );
    // Invalid, forbidden and malformed changes: refused with reasons, nothing changes.
    for (payload, reason) in [
        (r#"{"infer": {"tile_columns": 0}}"#, "infer.tile_columns"),
        (r#"{"publish": {"broker_host": "elsewhere"}}"#, "may not be changed remotely"),
        ("{not json", "not a JSON object"),
    ] {
        rec.publish("footrack/t-remote/config/set", payload, false);
        assert!(
            rec.wait_for(Duration::from_secs(10), |m| m
                .iter()
                .any(|x| x.topic.ends_with("/config/error") && x.payload.contains(reason))),
            "no config/error mentioning {reason:?}"
        );
    }
    let state = json(&last_on(&rec, "footrack/t-remote/config/state").unwrap());
    assert_eq!(state["config"]["infer"]["tile_columns"], 2, "refused change must not apply");
    assert!(!state.to_string().contains("password"));
    // The daemon keeps running: more track messages arrive after the refusals.
    let n = rec.messages().iter().filter(|x| x.topic.ends_with("/tracks")).count();
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m.iter().filter(|x| x.topic.ends_with("/tracks")).count() > n + 5)
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());

    // The accepted change survives a restart: it was persisted beside the config file.
    let overlay = dir.path().join("footrackd.remote.toml");
    assert!(overlay.is_file(), "overlay not written");
    let out = daemon::run(&["validate", "-c", cfg.to_str().unwrap(), "--no-env"]);
    assert!(out.status.success());
    let raw = footrackd::config::load_raw(&cfg, false).unwrap();
    assert_eq!(raw.track.min_hits, 3);
    assert!((raw.infer.score_threshold - 0.3).abs() < 1e-6);
}

#[test]
fn sighup_reloads_a_valid_file_and_keeps_running_on_an_invalid_one() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-hup/#");
    let dir = tempfile::tempdir().unwrap();
    let text = live_config(broker.port, "t-hup", "");
    let cfg = daemon::write_config(dir.path(), &text);
    let mut child = daemon::spawn(&["run", "-c", cfg.to_str().unwrap(), "--no-env"]);
    assert!(rec.wait_for(Duration::from_secs(30), |m| m.iter().any(|x| x.topic.ends_with("/tracks"))));
    let hup = |c: &std::process::Child| {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::Signal::SIGHUP).unwrap()
    };
    std::fs::write(&cfg, format!("{text}[track]\nmin_hits = 4\n")).unwrap();
    hup(&child);
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m
            .iter()
            .any(|x| x.topic.ends_with("/config/state") && x.payload.contains("\"min_hits\":4"))),
        "reload not applied"
    );
    std::fs::write(&cfg, format!("{text}[track]\nmin_hits = 999\n")).unwrap();
    hup(&child);
    std::thread::sleep(Duration::from_secs(1));
    assert!(child.try_wait().unwrap().is_none(), "an invalid reload must not stop the daemon");
    let state = json(&last_on(&rec, "footrack/t-hup/config/state").unwrap());
    assert_eq!(state["config"]["track"]["min_hits"], 4);
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

fn write_zone(root: &Path, celsius: f32) {
    let z = root.join("class/thermal/thermal_zone0");
    std::fs::create_dir_all(&z).unwrap();
    std::fs::write(z.join("type"), "GPU-therm\n").unwrap();
    let tmp = z.join("temp.tmp");
    std::fs::write(&tmp, format!("{}\n", (celsius * 1000.0) as i64)).unwrap();
    std::fs::rename(tmp, z.join("temp")).unwrap();
}

#[test]
fn a_thermal_ramp_lowers_the_inference_rate_and_a_cool_down_restores_it() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-therm/health");
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("sys");
    write_zone(&sys, 50.0);
    let extra = format!("[throttle]\ninterval_secs = 0.25\nmin_fps = 1.0\nsysfs_root = \"{}\"\n", sys.display());
    let cfg = daemon::write_config(
        dir.path(),
        &live_config(broker.port, "t-therm", &extra)
            .replace("health_interval_secs = 0.5", "health_interval_secs = 0.25"),
    );
    let mut child = daemon::spawn(&["run", "-c", cfg.to_str().unwrap(), "--no-env"]);
    let rate_now = |rec: &Recorder| {
        last_on(rec, "footrack/t-therm/health").map(|m| json(&m)["throttle"]["rate_fps"].as_f64().unwrap())
    };
    assert!(rec.wait_for(Duration::from_secs(30), |m| !m.is_empty()), "no health");
    std::thread::sleep(Duration::from_millis(600));
    let nominal = rate_now(&rec).unwrap();
    assert!(nominal >= 24.0, "nominal rate {nominal}");
    // Ramp up: 82 °C (high) then 92 °C (critical).
    write_zone(&sys, 82.0);
    assert!(
        rec.wait_for(Duration::from_secs(5), |m| m.last().is_some_and(|x| json(x)["throttle"]["state"] == "thermal")),
        "no thermal throttle"
    );
    write_zone(&sys, 92.0);
    assert!(
        rec.wait_for(Duration::from_secs(5), |m| m
            .last()
            .is_some_and(|x| json(x)["throttle"]["rate_fps"].as_f64() == Some(1.0))),
        "critical did not reach min_fps"
    );
    // The cut is real: frames are skipped at ingress.
    std::thread::sleep(Duration::from_millis(800));
    let h = json(&last_on(&rec, "footrack/t-therm/health").unwrap());
    assert!(h["drops_total"]["rate_limit"].as_u64().unwrap() > 0, "{h}");
    assert!(h["infer"]["fps_processed"].as_f64().unwrap() <= 4.0, "{h}");
    // Cool down: the rate climbs back to nominal, step by step.
    write_zone(&sys, 55.0);
    assert!(
        rec.wait_for(Duration::from_secs(12), |m| m.last().is_some_and(|x| json(x)["throttle"]["state"] == "nominal")),
        "rate not restored"
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let rates: Vec<f64> = rec.messages().iter().map(|m| json(m)["throttle"]["rate_fps"].as_f64().unwrap()).collect();
    eprintln!("throttle rate over time (0.25 s apart): {rates:?}");
    let low = rates.iter().position(|&r| r == 1.0).unwrap();
    assert!(rates[low..].windows(2).filter(|w| w[1] > w[0]).count() >= 5, "recovery should be gradual: {rates:?}");
}

/// Builds the fake NVML (`tests/support/fake_nvml.c`) into `dir`.
fn fake_nvml(dir: &Path) -> PathBuf {
    let lib = dir.join("libfake-nvml.so");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_nvml.c");
    let out = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&src)
        .output()
        .expect("cc (build-essential: scripts/setup.sh)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    lib
}

/// Issue 14: GPU readings through NVML (a fake library with NVML's ABI, as no GPU is here) in
/// health, the GPU's temperature driving the throttle; no NVML (the library missing, or its
/// driver not loaded) is a reason in health, not an error.
#[test]
fn nvml_readings_reach_health_and_a_hot_gpu_throttles() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/+/health");
    let dir = tempfile::tempdir().unwrap();
    let lib = fake_nvml(dir.path());
    let temp = dir.path().join("gpu-temp");
    std::fs::write(&temp, "45\n").unwrap();
    let empty_sys = dir.path().join("sys");
    std::fs::create_dir_all(&empty_sys).unwrap();
    let extra = format!(
        "[throttle]\ninterval_secs = 0.25\nmin_fps = 1.0\nsysfs_root = \"{}\"\nnvml_library = \"{}\"\n",
        empty_sys.display(),
        lib.display()
    );
    let cfg = daemon::write_config(dir.path(), &live_config(broker.port, "t-nvml", &extra));
    let mut child = std::process::Command::new(daemon::binary())
        .args(["run", "-c", cfg.to_str().unwrap(), "--no-env"])
        .env("FAKE_NVML_TEMP_FILE", &temp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let health = |rec: &Recorder| last_on(rec, "footrack/t-nvml/health").map(|m| json(&m));
    assert!(
        rec.wait_for(Duration::from_secs(30), |m| m.iter().any(|x| x.topic == "footrack/t-nvml/health")),
        "no health"
    );
    let h = health(&rec).unwrap();
    assert_eq!(h["system"]["nvml"], "ok", "{h}");
    assert_eq!(h["system"]["gpu_memory_mb"].as_f64(), Some(2048.0), "{h}");
    let g = &h["system"]["gpus"][0];
    assert_eq!(
        (
            g["name"].as_str(),
            g["memory_total_mb"].as_f64(),
            g["utilization_percent"].as_u64(),
            g["decoder_percent"].as_u64()
        ),
        (Some("Fake GPU"), Some(81920.0), Some(37), Some(12)),
        "{h}"
    );
    assert!(
        h["system"]["temperatures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["zone"] == "GPU0 (NVML)" && t["celsius"] == 45.0),
        "{h}"
    );
    assert_eq!(h["throttle"]["state"], "nominal");
    // The GPU heats up: no thermal zone is hot, the GPU alone throttles the pipeline.
    std::fs::write(&temp, "92\n").unwrap();
    assert!(
        rec.wait_for(Duration::from_secs(5), |m| m
            .iter()
            .rev()
            .find(|x| x.topic == "footrack/t-nvml/health")
            .is_some_and(|x| json(x)["throttle"]["rate_fps"].as_f64() == Some(1.0))),
        "a 92 °C GPU did not throttle: {}",
        health(&rec).unwrap()
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());

    // No GPU: the library is missing, or present with its driver not loaded.
    for (device, library, no_device, says) in [
        ("t-nonvml", "/nonexistent/libnvidia-ml.so.1", false, "not loaded"),
        ("t-nodriver", lib.to_str().unwrap(), true, "Driver Not Loaded"),
    ] {
        let extra = format!("[throttle]\nsysfs_root = \"{}\"\nnvml_library = \"{library}\"\n", empty_sys.display());
        let cfg = daemon::write_config(dir.path(), &live_config(broker.port, device, &extra));
        let mut cmd = std::process::Command::new(daemon::binary());
        cmd.args(["run", "-c", cfg.to_str().unwrap(), "--no-env"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if no_device {
            cmd.env("FAKE_NVML_NO_DEVICE", "1");
        }
        let mut child = cmd.spawn().unwrap();
        let topic = format!("footrack/{device}/health");
        assert!(rec.wait_for(Duration::from_secs(30), |m| m.iter().any(|x| x.topic == topic)), "{device}: no health");
        sigterm(&child);
        assert!(child.wait().unwrap().success(), "{device}: no NVML is not an error");
        let h = json(&last_on(&rec, &topic).unwrap());
        assert!(h["system"]["nvml"].as_str().unwrap().contains(says), "{device}: {h}");
        assert_eq!(h["system"]["gpus"].as_array().map(Vec::len), Some(0), "{device}: {h}");
        assert!(h["system"]["gpu_memory_mb"].is_null(), "{device}: {h}");
    }
}

/// Issue 13 and 14: a camera that is away at boot (an RTSP address nobody serves) is waited for:
/// READY once the daemon runs, WATCHDOG while the source retries (systemd must not kill a daemon
/// that waits for its camera), STATUS saying so, and SIGTERM still stops it cleanly.
#[test]
fn an_unreachable_camera_is_waited_for_with_ready_watchdog_and_a_clean_stop() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let sock = NotifySocket::bind(dir.path(), "notify.sock");
    let nobody = crate::util::broker::free_port();
    let model = crate::util::repo_root().join("models/yolox_nano.onnx");
    let cfg = daemon::write_config(
        dir.path(),
        &format!(
            "[device]\nid = \"t-away\"\n[source]\nuri = \"rtsp://127.0.0.1:{nobody}/cam\"\nreconnect_initial_ms = 100\nreconnect_max_ms = 400\n[infer]\nmodel = \"{}\"\n[publish]\nbroker_port = {}\n",
            model.display(),
            broker.port
        ),
    );
    let child = sock.spawn_daemon(&["run", "-c", cfg.to_str().unwrap(), "--no-env"], Some("1000000"));
    let mut messages: Vec<String> = Vec::new();
    sock.receive(&mut messages, Duration::from_secs(5), |_| false);
    sigterm(&child);
    let mut child = child;
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM while the camera is away: {status:?}");
    assert!(messages.iter().any(|m| m.contains("READY=1")), "no READY while the camera is away: {messages:?}");
    let watchdogs = messages.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    assert!(watchdogs >= 4, "{watchdogs} WATCHDOG in 5 s with a 1 s watchdog: {messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("STATUS=") && (m.contains("source retrying") || m.contains("source starting"))),
        "{messages:?}"
    );
}

/// Issue 13: a daemon that boots before its broker gets there: once the broker comes up it is
/// `online` (retained) and its `config/set` subscription works.
#[test]
fn a_broker_that_comes_up_after_the_daemon_gets_online_and_the_subscription() {
    let port = crate::util::broker::free_port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = daemon::write_config(dir.path(), &live_config(port, "t-late", ""));
    let mut child = daemon::spawn(&["run", "-c", cfg.to_str().unwrap(), "--no-env"]);
    std::thread::sleep(Duration::from_secs(3));
    let broker = Broker::start_on(port);
    let rec = Recorder::start(broker.port, "footrack/t-late/#");
    let online = rec.wait_for(Duration::from_secs(20), |m| {
        m.iter().any(|x| x.topic == "footrack/t-late/status" && x.payload == "online")
    });
    // The subscription: a change sent now is applied and echoed (retried until it lands, since
    // the subscription may follow the connection by a moment).
    let mut applied = false;
    let until = Instant::now() + Duration::from_secs(20);
    while online && !applied && Instant::now() < until {
        rec.publish("footrack/t-late/config/set", r#"{"track": {"min_hits": 4}}"#, false);
        applied = rec.wait_for(Duration::from_secs(2), |m| {
            m.iter().any(|x| x.topic.ends_with("/config/state") && x.payload.contains("\"min_hits\":4"))
        });
    }
    sigterm(&child);
    let status = child.wait().unwrap();
    assert!(online, "never online after the broker came up");
    assert!(applied, "config/set never applied: the subscription was not restored");
    assert!(status.success());
}

#[test]
fn a_remote_change_that_starves_the_pipeline_is_rolled_back_and_not_kept() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-rollback/#");
    let dir = tempfile::tempdir().unwrap();
    // A minute of video at 25 fps: the camera must still be delivering after the change, its
    // probation and the rollback, however slow a loaded machine makes them (the demo clip is 20 s).
    let clip = crate::util::frames::test_pattern_clip_sized(dir.path(), "minute.mp4", 1500, 25, 640, 360);
    let toml = live_config(broker.port, "t-rollback", "remote_probation_secs = 4.0\n")
        .replace(&demo_clip().display().to_string(), &clip.display().to_string());
    assert!(toml.contains("minute.mp4"));
    let cfg = daemon::write_config(dir.path(), &toml);
    let mut child = daemon::spawn(&["run", "-c", cfg.to_str().unwrap(), "--no-env"]);
    assert!(
        rec.wait_for(Duration::from_secs(30), |m| m.iter().filter(|x| x.topic.ends_with("/tracks")).count() > 30),
        "daemon did not start"
    );
    std::thread::sleep(Duration::from_secs(2)); // a few seconds of rate to compare with
    // Valid, but 8 x 8 tiles and the whole frame: 65 model images per frame instead of 5.
    rec.publish("footrack/t-rollback/config/set", r#"{"infer": {"tile_columns": 8, "tile_rows": 8}}"#, false);
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| m
            .iter()
            .any(|x| x.topic.ends_with("/config/state") && x.payload.contains("\"tile_columns\":8"))),
        "the change was not applied"
    );
    assert!(
        rec.wait_for(Duration::from_secs(30), |m| m
            .iter()
            .any(|x| x.topic.ends_with("/config/error") && x.payload.contains("rolled back"))),
        "no rollback reported on config/error"
    );
    assert!(
        rec.wait_for(Duration::from_secs(10), |m| last_on_in(m, "footrack/t-rollback/config/state")
            .is_some_and(|s| s.contains("\"tile_columns\":2"))),
        "config/state does not show the configuration before the change"
    );
    // Frames flow at the old rate again.
    let n = rec.messages().iter().filter(|x| x.topic.ends_with("/tracks")).count();
    // (The worker first finishes the 65-image frame it is on, then reloads: generous on a loaded machine.)
    assert!(
        rec.wait_for(Duration::from_secs(40), |m| m.iter().filter(|x| x.topic.ends_with("/tracks")).count() > n + 20),
        "frames did not recover"
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    assert!(!dir.path().join("footrackd.remote.toml").exists(), "a rolled-back change must not be persisted");
}

/// Issue 19: a model that exists and passes validation but fails to load is refused by the
/// inference thread; the refusal reaches config/error, config/state never shows it, nothing is
/// persisted, and the old model keeps the frames flowing.
#[test]
fn a_remote_model_that_fails_to_load_is_refused_never_echoed_and_never_persisted() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-badmodel/#");
    let dir = tempfile::tempdir().unwrap();
    // The model folder: the real model, and beside it a "model" that is not ONNX at all, with a
    // manifest (no checksum) that validation accepts.
    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let repo_models = crate::util::repo_root().join("models");
    std::fs::copy(repo_models.join("yolox_nano.onnx"), models.join("yolox_nano.onnx")).unwrap();
    std::fs::copy(repo_models.join("yolox_nano.toml"), models.join("yolox_nano.toml")).unwrap();
    std::fs::write(models.join("broken.onnx"), b"this is not an ONNX model").unwrap();
    let manifest = std::fs::read_to_string(repo_models.join("yolox_nano.toml")).unwrap();
    let manifest: String = manifest.lines().filter(|l| !l.starts_with("sha256")).map(|l| format!("{l}\n")).collect();
    std::fs::write(models.join("broken.toml"), manifest).unwrap();
    let toml = live_config(broker.port, "t-badmodel", "").replace(
        &repo_models.join("yolox_nano.onnx").display().to_string(),
        &models.join("yolox_nano.onnx").display().to_string(),
    );
    let cfg = daemon::write_config(dir.path(), &toml);
    let out = daemon::run(&["validate", "-c", cfg.to_str().unwrap(), "--no-env"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut child = daemon::spawn(&["run", "-c", cfg.to_str().unwrap(), "--no-env"]);
    assert!(
        rec.wait_for(Duration::from_secs(30), |m| m.iter().filter(|x| x.topic.ends_with("/tracks")).count() > 5),
        "daemon did not start"
    );
    rec.publish("footrack/t-badmodel/config/set", r#"{"infer": {"model": "broken.onnx"}}"#, false);
    assert!(
        rec.wait_for(Duration::from_secs(20), |m| m.iter().any(|x| x.topic.ends_with("/config/error")
            && x.payload.contains("not applied")
            && x.payload.contains("infer.model"))),
        "no config/error for the model that failed to load"
    );
    // Frames keep flowing on the old model, and a later valid change still goes through.
    let n = rec.messages().iter().filter(|x| x.topic.ends_with("/tracks")).count();
    assert!(
        rec.wait_for(Duration::from_secs(15), |m| m.iter().filter(|x| x.topic.ends_with("/tracks")).count() > n + 10),
        "frames stopped after the refused model"
    );
    rec.publish("footrack/t-badmodel/config/set", r#"{"track": {"min_hits": 3}}"#, false);
    assert!(
        rec.wait_for(Duration::from_secs(15), |m| m
            .iter()
            .any(|x| x.topic.ends_with("/config/state") && x.payload.contains("\"min_hits\":3"))),
        "a valid change after the refusal was not applied"
    );
    assert!(
        !rec.messages().iter().any(|x| x.topic.ends_with("/config/state") && x.payload.contains("broken.onnx")),
        "config/state echoed the model that failed to load"
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let overlay = std::fs::read_to_string(dir.path().join("footrackd.remote.toml")).unwrap_or_default();
    assert!(!overlay.contains("broken"), "the refused model was persisted: {overlay}");
}

fn last_on_in(msgs: &[Message], topic: &str) -> Option<String> {
    msgs.iter().rfind(|m| m.topic == topic).map(|m| m.payload.clone())
}
