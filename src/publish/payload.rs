//! Versioned JSON payloads. Track messages are written by hand into a reused buffer (the hot
//! path); rarer messages use serde. The schema is documented in `docs/mqtt.md`.

use std::fmt::Write;

use crate::frame::TrackRecord;
pub use crate::pitch::{Homography, PitchPos};
use crate::state::FrameState;

/// Version of every payload's schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// Identity fields of a track message.
#[derive(Clone, Copy, Debug)]
pub struct TrackMessageHeader<'a> {
    /// Device id.
    pub device: &'a str,
    /// Source (camera) id.
    pub source: &'a str,
    /// Publish time, ns since the Unix epoch.
    pub publish_unix_ns: u64,
}

/// Writes one frame's game state as JSON into `buf` (cleared first): one entry per reported
/// record (records known to be off the pitch are left out), with the team where teams are
/// assigned, the ball's `predicted` flag, and pitch fields while the camera is calibrated.
pub fn encode_tracks(buf: &mut String, header: TrackMessageHeader<'_>, state: &FrameState) {
    let meta = &state.meta;
    buf.clear();
    // Writing into a String cannot fail.
    let _ = write!(
        buf,
        "{{\"schema\":{SCHEMA_VERSION},\"device\":\"{}\",\"source\":\"{}\",\"frame\":{},\"pts_ms\":",
        header.device, header.source, meta.number
    );
    match meta.pts_ns {
        Some(p) => {
            let _ = write!(buf, "{:.3}", p as f64 / 1e6);
        }
        None => buf.push_str("null"),
    }
    let _ = write!(
        buf,
        ",\"capture_unix_ms\":{:.3},\"publish_unix_ms\":{:.3},\"width\":{},\"height\":{},\"tracks\":[",
        meta.capture_unix_ns as f64 / 1e6,
        header.publish_unix_ns as f64 / 1e6,
        meta.width,
        meta.height
    );
    for (i, r) in state.reported().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        encode_record(buf, r, state.teams_assigned);
    }
    buf.push_str("],\"homography\":");
    match &state.calibration {
        Some(c) => {
            buf.push('[');
            for (k, v) in c.homography.row_major().iter().enumerate() {
                let _ = write!(buf, "{}{v:e}", if k > 0 { "," } else { "" });
            }
            let _ = write!(buf, "],\"calibration\":\"{}\"", c.origin.as_str());
        }
        None => buf.push_str("null,\"calibration\":null"),
    }
    buf.push('}');
}

/// One track's entry.
fn encode_record(buf: &mut String, r: &TrackRecord, teams_assigned: bool) {
    let t = &r.track;
    let b = &t.bbox;
    let _ = write!(
        buf,
        "{{\"id\":{},\"class\":\"{}\",\"box\":[{:.1},{:.1},{:.1},{:.1}],\"score\":{:.3},\"lost_frames\":{}",
        t.id,
        t.class.as_str(),
        b.x1,
        b.y1,
        b.x2,
        b.y2,
        t.score,
        t.frames_since_seen
    );
    if t.class.is_person() && teams_assigned {
        match r.team {
            Some(team) => {
                let _ = write!(buf, ",\"team\":\"{}\"", team.as_str());
            }
            None => buf.push_str(",\"team\":null"),
        }
    }
    if let Some(ball) = r.ball {
        let _ = write!(buf, ",\"predicted\":{}", ball.predicted);
    }
    if let Some(p) = r.pitch {
        let _ = write!(
            buf,
            ",\"pitch\":[{:.2},{:.2}],\"velocity_mps\":[{:.2},{:.2}],\"speed_mps\":{:.2},\"speed_kmh\":{:.1},\"distance_m\":{:.1}",
            p.x_m,
            p.y_m,
            p.velocity_mps.0,
            p.velocity_mps.1,
            p.speed_mps,
            p.speed_mps * 3.6,
            p.distance_m
        );
    }
    buf.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{BBox, FrameMeta, ObjectClass, Team, Track};
    use crate::state::{CalibrationInUse, CalibrationOrigin};

    fn state() -> FrameState {
        let meta = FrameMeta {
            number: 7,
            pts_ns: Some(280_000_000),
            capture_unix_ns: 1_700_000_000_123_000_000,
            width: 1280,
            height: 720,
            ..Default::default()
        };
        let tracks = [
            Track {
                id: 3,
                class: ObjectClass::Player,
                bbox: BBox { x1: 1.0, y1: 2.0, x2: 30.5, y2: 80.26 },
                score: 0.912,
                frames_since_seen: 0,
            },
            Track {
                id: 1_000_000_000,
                class: ObjectClass::Ball,
                bbox: BBox::from_xywh(5.0, 5.0, 4.0, 4.0),
                score: 0.5,
                frames_since_seen: 2,
            },
        ];
        let mut s = FrameState::with_capacity(4);
        s.begin(meta, &tracks);
        s.teams_assigned = true;
        s.records[0].team = Some(Team::B);
        s.records[0].pitch = Some(PitchPos {
            x_m: 30.5,
            y_m: 20.25,
            speed_mps: 4.5,
            velocity_mps: (4.5, -0.25),
            distance_m: 12.34,
            on_pitch: true,
        });
        let h = Homography::from_row_major(&[0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]).unwrap();
        s.calibration = Some(CalibrationInUse { homography: h, origin: CalibrationOrigin::Hand, error_m: None });
        s
    }

    fn encode(s: &FrameState) -> serde_json::Value {
        let mut buf = String::new();
        encode_tracks(
            &mut buf,
            TrackMessageHeader { device: "dev", source: "cam", publish_unix_ns: 1_700_000_000_200_000_000 },
            s,
        );
        serde_json::from_str(&buf).unwrap()
    }

    #[test]
    fn track_message_is_valid_json_with_the_documented_fields() {
        let v = encode(&state());
        assert_eq!(v["schema"], 2);
        assert_eq!(v["tracks"][0]["team"], "B");
        assert!(v["tracks"][1].get("team").is_none(), "the ball has no team");
        assert_eq!(v["tracks"][1]["predicted"], true, "a ball not seen in this frame is predicted");
        assert!(v["tracks"][0].get("predicted").is_none(), "people carry no ball state");
        assert_eq!(v["homography"][0], 0.1);
        assert_eq!(v["homography"][8], 1.0);
        assert_eq!(v["calibration"], "hand");
        assert_eq!(v["frame"], 7);
        assert_eq!(v["pts_ms"], 280.0);
        assert_eq!(v["source"], "cam");
        assert_eq!(v["tracks"][0]["id"], 3);
        assert_eq!(v["tracks"][0]["class"], "player");
        assert_eq!(v["tracks"][0]["box"][3], 80.3);
        assert_eq!(v["tracks"][1]["class"], "ball");
        assert_eq!(v["tracks"][1]["lost_frames"], 2);
        assert_eq!(v["tracks"][0]["pitch"][0], 30.5);
        assert_eq!(v["tracks"][0]["speed_mps"], 4.5);
        assert_eq!(v["tracks"][0]["speed_kmh"], 16.2);
        assert_eq!(v["tracks"][0]["velocity_mps"][1], -0.25);
        assert_eq!(v["tracks"][0]["distance_m"], 12.3);
        assert!(v["tracks"][1].get("pitch").is_none());
    }

    #[test]
    fn no_timestamp_no_calibration_and_no_teams_are_written_as_such() {
        let mut s = state();
        s.meta.pts_ns = None;
        s.calibration = None;
        s.teams_assigned = false;
        let v = encode(&s);
        assert!(v["pts_ms"].is_null());
        assert!(v["homography"].is_null() && v["calibration"].is_null());
        assert!(v["tracks"][0].get("team").is_none(), "teams off: no team field");
        s.teams_assigned = true;
        s.records[0].team = None;
        assert!(encode(&s)["tracks"][0]["team"].is_null(), "teams on, kit unknown: null");
        s.begin(s.meta, &[]);
        assert_eq!(encode(&s)["tracks"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn a_track_off_the_pitch_is_left_out() {
        let mut s = state();
        if let Some(p) = s.records[0].pitch.as_mut() {
            p.on_pitch = false;
        }
        let v = encode(&s);
        assert_eq!(v["tracks"].as_array().unwrap().len(), 1);
        assert_eq!(v["tracks"][0]["class"], "ball");
    }
}
