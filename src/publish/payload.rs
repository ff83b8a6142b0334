//! Versioned JSON payloads. Track messages are written by hand into a reused buffer (the hot
//! path); rarer messages use serde. The schema is documented in `docs/mqtt.md`.

use std::fmt::Write;

use crate::frame::{FrameMeta, Team, Track};
pub use crate::pitch::{Homography, PitchPos};

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

/// Writes one frame's tracks as JSON into `buf` (cleared first). `pitch[i]`, when given, is
/// track `i`'s pitch position (with a calibrated camera; tracks flagged off the pitch are left
/// out); `teams[i]`, when given, is player track `i`'s team; `homography` is the image-to-pitch
/// calibration in use.
pub fn encode_tracks(
    buf: &mut String,
    header: TrackMessageHeader<'_>,
    meta: &FrameMeta,
    tracks: &[Track],
    pitch: &[Option<PitchPos>],
    teams: &[Option<Team>],
    homography: Option<&Homography>,
) {
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
    let mut first = true;
    for (i, t) in tracks.iter().enumerate() {
        let pos = pitch.get(i).copied().flatten();
        if pos.is_some_and(|p| !p.on_pitch) {
            continue;
        }
        if !first {
            buf.push(',');
        }
        first = false;
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
        if t.class.is_person() && !teams.is_empty() {
            match teams.get(i).copied().flatten() {
                Some(team) => {
                    let _ = write!(buf, ",\"team\":\"{}\"", team.as_str());
                }
                None => buf.push_str(",\"team\":null"),
            }
        }
        if let Some(p) = pos {
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
    buf.push_str("],\"homography\":");
    match homography {
        Some(h) => {
            buf.push('[');
            for (k, v) in h.row_major().iter().enumerate() {
                let _ = write!(buf, "{}{v:e}", if k > 0 { "," } else { "" });
            }
            buf.push(']');
        }
        None => buf.push_str("null"),
    }
    buf.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{BBox, ObjectClass};

    #[test]
    fn track_message_is_valid_json_with_the_documented_fields() {
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
        let mut buf = String::new();
        let pitch = [
            Some(PitchPos {
                x_m: 30.5,
                y_m: 20.25,
                speed_mps: 4.5,
                velocity_mps: (4.5, -0.25),
                distance_m: 12.34,
                on_pitch: true,
            }),
            None,
        ];
        let h = Homography::from_row_major(&[0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]).unwrap();
        encode_tracks(
            &mut buf,
            TrackMessageHeader { device: "dev", source: "cam", publish_unix_ns: 1_700_000_000_200_000_000 },
            &meta,
            &tracks,
            &pitch,
            &[Some(Team::B), None],
            Some(&h),
        );
        let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
        assert_eq!(v["schema"], 2);
        assert_eq!(v["tracks"][0]["team"], "B");
        assert!(v["tracks"][1].get("team").is_none(), "the ball has no team");
        assert_eq!(v["homography"][0], 0.1);
        assert_eq!(v["homography"][8], 1.0);
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
        let no_pts = FrameMeta { pts_ns: None, ..meta };
        encode_tracks(
            &mut buf,
            TrackMessageHeader { device: "d", source: "c", publish_unix_ns: 0 },
            &no_pts,
            &[],
            &[],
            &[],
            None,
        );
        let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
        assert!(v["pts_ms"].is_null());
        assert!(v["homography"].is_null());
        assert_eq!(v["tracks"].as_array().unwrap().len(), 0);
        // A track off the pitch is left out.
        let off = [Some(PitchPos { on_pitch: false, ..pitch[0].unwrap() }), None];
        encode_tracks(
            &mut buf,
            TrackMessageHeader { device: "d", source: "c", publish_unix_ns: 0 },
            &meta,
            &tracks,
            &off,
            &[],
            Some(&h),
        );
        let v: serde_json::Value = serde_json::from_str(&buf).unwrap();
        assert_eq!(v["tracks"].as_array().unwrap().len(), 1);
        assert_eq!(v["tracks"][0]["class"], "ball");
    }
}
