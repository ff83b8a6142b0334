//! A broker outage loses nothing within the spool's bound: the daemon's link to mosquitto is cut
//! by a loopback proxy while a subscriber stays connected to the broker itself. The outage lasts
//! `FOOTRACKD_TEST_OUTAGE_SECS` seconds (15 by default; 60 for the figure in the closing note).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::util::broker::Broker;
use crate::util::daemon;
use crate::util::proxy::DelayProxy;
use crate::util::recorder::Recorder;

/// What one outage run saw.
struct Outcome {
    frames: u64,
    missing: Vec<u64>,
    spool_dropped: u64,
    /// The largest step between consecutive health messages' `uptime_secs`.
    health_gap_secs: f64,
}

#[test]
fn a_broker_outage_within_the_spool_loses_no_track_or_health_message() {
    let outage: u64 = std::env::var("FOOTRACKD_TEST_OUTAGE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let o = outage_run(outage, 1024, "t-outage");
    assert_eq!(o.spool_dropped, 0, "an outage within the spool drops nothing");
    assert!(o.missing.is_empty(), "frames without a track message: {:?}", o.missing);
    // Health taken during the outage (every second) waited and arrived too.
    assert!(o.health_gap_secs < 2.5, "health messages missing: a {:.1} s gap", o.health_gap_secs);
}

/// Beyond the bound, the oldest waiting messages are dropped, and exactly those are missing:
/// the count health reports equals what subscribers never got.
#[test]
fn beyond_the_spool_the_oldest_are_dropped_and_counted_exactly() {
    let o = outage_run(12, 40, "t-spool");
    assert!(o.spool_dropped > 0, "a 12 s outage at 10 fps overflows a 40-message spool");
    assert_eq!(
        o.missing.len() as u64,
        o.spool_dropped,
        "missing frames {:?} against {} dropped",
        o.missing,
        o.spool_dropped
    );
    // The oldest went first: what is missing is one run of frames from the outage's start.
    assert!(o.missing.windows(2).all(|w| w[1] == w[0] + 1), "not one contiguous run: {:?}", o.missing);
    assert!(*o.missing.last().unwrap() < o.frames - 40, "newest frames were dropped");
}

/// Runs the 10 fps test clip through the daemon with its broker link cut for `outage` seconds.
fn outage_run(outage: u64, queue_capacity: usize, device: &str) -> Outcome {
    let frames = (outage + 14) * 10;
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::frames::test_pattern_clip(dir.path(), "ten-fps.mp4", frames, 10);
    let broker = Broker::start();
    let proxy = DelayProxy::start(broker.port, Duration::ZERO);
    let rec = Recorder::start(broker.port, &format!("footrack/{device}/#"));
    let model = crate::util::repo_root().join("models/yolox_nano.onnx");
    let cfg = format!(
        "[device]\nid = \"{device}\"\n[source]\nuri = \"{}\"\nrealtime = true\n[ring]\noverflow = \"block\"\n[infer]\nmodel = \"{}\"\nthreads = 1\n\
         [publish]\nbroker_port = {}\nqueue_capacity = {queue_capacity}\n[control]\nhealth_interval_secs = 1.0\n",
        clip.display(),
        model.display(),
        proxy.port
    );
    let path = daemon::write_config(dir.path(), &cfg);
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(
        rec.wait_for(Duration::from_secs(20), |m| m.iter().any(|x| x.topic.ends_with("/tracks"))),
        "no track message before the outage"
    );
    std::thread::sleep(Duration::from_secs(2));
    proxy.set_cut(true);
    std::thread::sleep(Duration::from_secs(outage));
    proxy.set_cut(false);
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
    assert!(rec.wait_for(Duration::from_secs(10), |m| m.iter().any(|x| x.payload == "stopped")), "no stopped status");

    let msgs = rec.messages();
    let mut per_frame: BTreeMap<u64, u32> = BTreeMap::new();
    for m in msgs.iter().filter(|m| m.topic.ends_with("/tracks")) {
        let v: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
        *per_frame.entry(v["frame"].as_u64().unwrap()).or_default() += 1;
    }
    let repeats: u32 = per_frame.values().map(|n| n - 1).sum();
    let missing: Vec<u64> = (0..frames).filter(|f| !per_frame.contains_key(f)).collect();
    let health: Vec<serde_json::Value> = msgs
        .iter()
        .filter(|m| m.topic.ends_with("/health"))
        .map(|m| serde_json::from_str(&m.payload).unwrap())
        .collect();
    let last = health.last().expect("health messages");
    eprintln!(
        "outage of {outage} s at 10 fps: {} of {frames} frames' track messages arrived, {} missing, {repeats} repeats (replayed {}), spool dropped {}, reconnects {}",
        per_frame.len(),
        missing.len(),
        last["mqtt"]["replayed_total"],
        last["mqtt"]["spool_dropped_total"],
        last["mqtt"]["connects_total"]
    );
    assert!(last["mqtt"]["connects_total"].as_u64().unwrap() >= 2, "the daemon reconnected");
    let mut uptimes: Vec<f64> = health.iter().filter_map(|h| h["uptime_secs"].as_f64()).collect();
    uptimes.sort_by(f64::total_cmp);
    let health_gap_secs = uptimes.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    eprintln!("health: {} messages, largest gap {health_gap_secs:.1} s", uptimes.len());
    Outcome { frames, missing, spool_dropped: last["mqtt"]["spool_dropped_total"].as_u64().unwrap(), health_gap_secs }
}
