//! The documentation follows the code: every field a track message carries is named in
//! docs/mqtt.md and in the README's MQTT table.

use std::collections::BTreeSet;

use footrackd::frame::{BBox, FrameMeta, ObjectClass, PitchPos, Team, Track};
use footrackd::pitch::Homography;
use footrackd::publish::payload::{TrackMessageHeader, encode_tracks};
use footrackd::state::{CalibrationInUse, CalibrationOrigin, FrameState};

/// The keys of a track message with every optional part present.
fn every_key() -> (BTreeSet<String>, BTreeSet<String>) {
    let track =
        |id, class| Track { id, class, bbox: BBox::from_xywh(1.0, 2.0, 3.0, 4.0), score: 0.5, frames_since_seen: 1 };
    let mut s = FrameState::with_capacity(2);
    s.begin(
        FrameMeta { pts_ns: Some(1), ..Default::default() },
        &[track(1, ObjectClass::Player), track(2, ObjectClass::Ball)],
    );
    s.teams_assigned = true;
    let pos =
        PitchPos { x_m: 1.0, y_m: 2.0, speed_mps: 3.0, velocity_mps: (1.0, 1.0), distance_m: 4.0, on_pitch: true };
    for r in &mut s.records {
        r.pitch = Some(pos);
        r.team = Some(Team::A);
    }
    let h = Homography::from_row_major(&[0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]).unwrap();
    s.calibration = Some(CalibrationInUse { homography: h, origin: CalibrationOrigin::Hand, error_m: None });
    let mut buf = String::new();
    encode_tracks(&mut buf, TrackMessageHeader { device: "d", source: "s", publish_unix_ns: 1 }, &s);
    let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
    let message = v.as_object().unwrap().keys().cloned().collect();
    let tracks = v["tracks"].as_array().unwrap().iter().flat_map(|t| t.as_object().unwrap().keys().cloned()).collect();
    (message, tracks)
}

#[test]
fn every_track_message_field_is_documented_in_docs_mqtt_and_the_readme() {
    let root = super::util::repo_root();
    let mqtt = std::fs::read_to_string(root.join("docs/mqtt.md")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table =
        readme.lines().find(|l| l.starts_with("| `footrack/<device>/tracks`")).expect("the README's tracks row");
    let (message, tracks) = every_key();
    assert!(tracks.contains("predicted") && tracks.contains("team") && tracks.contains("distance_m"), "{tracks:?}");
    let mut missing = Vec::new();
    for key in message.iter().chain(&tracks) {
        if !mqtt.contains(&format!("`{key}`")) && !mqtt.contains(&format!("`{key}`,")) {
            missing.push(format!("docs/mqtt.md lacks `{key}`"));
        }
        if !table.contains(key.as_str()) {
            missing.push(format!("README's tracks row lacks {key}"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
