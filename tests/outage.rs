//! A broker outage loses nothing within the spool's bound: the daemon's link to mosquitto is cut
//! by a loopback proxy while a subscriber stays connected to the broker itself. The outage lasts
//! `FOOTRACKD_TEST_OUTAGE_SECS` seconds (15 by default; 60 for the figure in the closing note).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::util::broker::Broker;
use crate::util::daemon;
use crate::util::proxy::DelayProxy;
use crate::util::recorder::Recorder;

#[test]
fn a_broker_outage_within_the_spool_loses_no_track_message() {
    let outage: u64 = std::env::var("FOOTRACKD_TEST_OUTAGE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let frames = (outage + 14) * 10;
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::frames::test_pattern_clip(dir.path(), "ten-fps.mp4", frames, 10);
    let broker = Broker::start();
    let proxy = DelayProxy::start(broker.port, Duration::ZERO);
    let rec = Recorder::start(broker.port, "footrack/t-outage/#");
    let model = crate::util::repo_root().join("models/yolox_nano.onnx");
    let cfg = format!(
        "[device]\nid = \"t-outage\"\n[source]\nuri = \"{}\"\nrealtime = true\n[ring]\noverflow = \"block\"\n[infer]\nmodel = \"{}\"\nthreads = 1\n\
         [publish]\nbroker_port = {}\nqueue_capacity = 1024\n[control]\nhealth_interval_secs = 1.0\n",
        clip.display(),
        model.display(),
        proxy.port
    );
    let path = daemon::write_config(dir.path(), &cfg);
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(rec.wait_for(Duration::from_secs(20), |m| m.iter().any(|x| x.topic.ends_with("/tracks"))), "no track message before the outage");
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
    let health: Vec<serde_json::Value> =
        msgs.iter().filter(|m| m.topic.ends_with("/health")).map(|m| serde_json::from_str(&m.payload).unwrap()).collect();
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
    assert_eq!(last["mqtt"]["spool_dropped_total"], 0, "an outage within the spool drops nothing");
    assert!(missing.is_empty(), "frames without a track message: {missing:?}");
}
