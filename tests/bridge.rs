//! The fleet arrangement of `config/examples/bridge/`: footrackd publishes to an edge mosquitto
//! bridged (with the example's own bridge settings) to a central mosquitto, through a loopback
//! proxy that cuts the bridge for 10 s. A consumer on the central broker gets every frame's track
//! message.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::util::broker::{Broker, free_port};
use crate::util::daemon;
use crate::util::proxy::DelayProxy;
use crate::util::recorder::Recorder;

/// The example edge configuration, pointed at `central` and without the lines a loopback test
/// cannot use (its own listener and persistence come from the harness; no TLS to the centre).
fn edge_config(central: u16) -> String {
    let example =
        std::fs::read_to_string(crate::util::repo_root().join("config/examples/bridge/edge-mosquitto.conf")).unwrap();
    let mut out = String::new();
    for line in example.lines() {
        let key = line.split_whitespace().next().unwrap_or("");
        match key {
            "listener" | "allow_anonymous" | "persistence" | "persistence_location" | "bridge_cafile" => {}
            "address" => out += &format!("address 127.0.0.1:{central}\n"),
            "restart_timeout" => out += "restart_timeout 1 2\n",
            _ => out += &format!("{line}\n"),
        }
    }
    assert!(
        out.contains("connection central") && out.contains("topic footrack/# out 1"),
        "the example bridges footrack/#"
    );
    out
}

#[test]
fn a_cut_bridge_to_the_central_broker_loses_no_track_message() {
    let frames = 250;
    let dir = tempfile::tempdir().unwrap();
    let clip = crate::util::frames::test_pattern_clip(dir.path(), "bridge.mp4", frames, 10);
    let central = Broker::start();
    let uplink = DelayProxy::start(central.port, Duration::ZERO);
    let edge = Broker::start_with(free_port(), &edge_config(uplink.port));
    let consumer = Recorder::start(central.port, "footrack/t-bridge/#");
    let model = crate::util::repo_root().join("models/yolox_nano.onnx");
    let cfg = format!(
        "[device]\nid = \"t-bridge\"\n[source]\nuri = \"{}\"\nrealtime = true\n[ring]\noverflow = \"block\"\n[infer]\nmodel = \"{}\"\nthreads = 1\n\
         [publish]\nbroker_port = {}\ntracks_qos = 1\n",
        clip.display(),
        model.display(),
        edge.port
    );
    let path = daemon::write_config(dir.path(), &cfg);
    let mut child = daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]);
    assert!(
        consumer.wait_for(Duration::from_secs(30), |m| m.iter().any(|x| x.topic.ends_with("/tracks"))),
        "nothing crossed the bridge"
    );
    std::thread::sleep(Duration::from_secs(2));
    uplink.set_cut(true);
    let during = consumer.messages().len();
    std::thread::sleep(Duration::from_secs(10));
    assert!(consumer.messages().len() <= during + 5, "the bridge was not cut");
    uplink.set_cut(false);
    assert!(child.wait().unwrap().success());
    let arrived = |m: &[crate::util::recorder::Message]| -> BTreeSet<u64> {
        m.iter()
            .filter(|x| x.topic.ends_with("/tracks"))
            .map(|x| serde_json::from_str::<serde_json::Value>(&x.payload).unwrap()["frame"].as_u64().unwrap())
            .collect()
    };
    consumer.wait_for(Duration::from_secs(20), |m| arrived(m).len() as u64 >= frames);
    let got = arrived(&consumer.messages());
    let missing: Vec<u64> = (0..frames).filter(|f| !got.contains(f)).collect();
    eprintln!(
        "bridge cut for 10 s at 10 fps: {} of {frames} frames' track messages reached the central broker",
        got.len()
    );
    assert!(missing.is_empty(), "lost across the bridge: {missing:?}");
}
