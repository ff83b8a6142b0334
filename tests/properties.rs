//! Property tests: arbitrary input never panics the parts that take input, and their outputs
//! keep their promises (no NaN, unique ids, valid JSON, ordered results).

use footrackd::config::{RawConfig, remote, validate};
use footrackd::frame::{BBox, Detection, FrameMeta, ObjectClass, Team, Track};
use footrackd::infer::post::nms_in_place;
use footrackd::pitch::{Homography, PitchPos, PointPair, fit_homography};
use footrackd::publish::payload::{TrackMessageHeader, encode_tracks};
use footrackd::state::{CalibrationInUse, CalibrationOrigin, FrameState};
use footrackd::track::{TrackSection, Tracker, TrackerOptions};
use proptest::prelude::*;

fn class() -> impl Strategy<Value = ObjectClass> {
    prop_oneof![
        Just(ObjectClass::Player),
        Just(ObjectClass::Goalkeeper),
        Just(ObjectClass::Referee),
        Just(ObjectClass::Ball)
    ]
}

/// Boxes anywhere, including degenerate ones (zero size, off the frame, huge).
fn detection() -> impl Strategy<Value = Detection> {
    (-500.0f32..3000.0, -500.0f32..3000.0, 0.0f32..400.0, 0.0f32..600.0, 0.0f32..=1.0, class())
        .prop_map(|(x, y, w, h, score, class)| Detection { bbox: BBox::from_xywh(x, y, w, h), score, class })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn nms_keeps_no_overlapping_pair_of_one_group_and_sorts_by_score(mut dets in prop::collection::vec(detection(), 0..80), iou in 0.1f32..0.9) {
        nms_in_place(&mut dets, iou);
        for w in dets.windows(2) {
            prop_assert!(w[0].score >= w[1].score);
        }
        for (i, a) in dets.iter().enumerate() {
            for b in &dets[i + 1..] {
                if a.class.is_person() == b.class.is_person() {
                    prop_assert!(a.bbox.iou(&b.bbox) <= iou + 1e-6);
                }
            }
        }
    }

    #[test]
    fn the_tracker_never_panics_never_outputs_nan_and_ids_are_unique(frames in prop::collection::vec((prop::collection::vec(detection(), 0..40), 1.0f32..5.0), 1..40)) {
        let mut tracker = Tracker::new(TrackerOptions::from_section(&TrackSection::default(), 25.0));
        for (dets, dt) in &frames {
            let tracks = tracker.step(*dt, dets);
            let mut ids: Vec<u64> = tracks.iter().map(|t| t.id).collect();
            for t in tracks {
                let b = t.bbox;
                prop_assert!([b.x1, b.y1, b.x2, b.y2, t.score].iter().all(|v| v.is_finite()), "{t:?}");
            }
            ids.sort_unstable();
            let n = ids.len();
            ids.dedup();
            prop_assert_eq!(ids.len(), n, "duplicate track ids");
        }
    }

    #[test]
    fn homography_fits_of_arbitrary_points_fail_cleanly_or_fit(points in prop::collection::vec((-2000.0f64..4000.0, -2000.0f64..4000.0, -50.0f64..150.0, -50.0f64..120.0), 0..12), ransac in prop::option::of(0.1f64..5.0)) {
        let pairs: Vec<PointPair> = points.iter().map(|&(px, py, x_m, y_m)| PointPair { px, py, x_m, y_m }).collect();
        if let Ok(c) = fit_homography(&pairs, ransac) {
            prop_assert!(c.inliers >= 4 && c.inliers <= c.points);
            prop_assert!(c.rms_error_m.is_finite() || c.rms_error_m.is_infinite());
            let h = c.homography;
            if let Some((x, y)) = h.apply_f64(pairs[0].px, pairs[0].py) {
                prop_assert!(x.is_finite() && y.is_finite());
            }
        }
    }

    #[test]
    fn track_messages_are_valid_json_whatever_the_tracks(
        tracks in prop::collection::vec((detection(), 0u64..u64::MAX, 0u32..1000), 0..40),
        positions in prop::collection::vec(prop::option::of((-1e4f32..1e4, -1e4f32..1e4, 0.0f32..100.0, any::<bool>())), 0..40),
        teams in prop::collection::vec(prop::option::of(prop_oneof![Just(Team::A), Just(Team::B)]), 0..40),
    ) {
        let tracks: Vec<Track> = tracks.iter().map(|(d, id, lost)| Track { id: *id, class: d.class, bbox: d.bbox, score: d.score, frames_since_seen: *lost }).collect();
        let pitch: Vec<Option<PitchPos>> = positions
            .iter()
            .map(|p| p.map(|(x, y, v, on)| PitchPos { x_m: x, y_m: y, speed_mps: v, velocity_mps: (v, -v), distance_m: v * 10.0, on_pitch: on }))
            .collect();
        let h = Homography::from_row_major(&[0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]);
        let mut buf = String::new();
        let meta = FrameMeta { number: 3, width: 1920, height: 1080, ..Default::default() };
        let mut state = FrameState::with_capacity(4);
        state.begin(meta, &tracks);
        for (i, r) in state.records.iter_mut().enumerate() {
            r.pitch = pitch.get(i).copied().flatten();
            r.team = teams.get(i).copied().flatten();
        }
        state.teams_assigned = !teams.is_empty();
        state.calibration = h.map(|homography| CalibrationInUse { homography, origin: CalibrationOrigin::Hand, error_m: None });
        encode_tracks(&mut buf, TrackMessageHeader { device: "d", source: "s", publish_unix_ns: 1 }, &state);
        let v: serde_json::Value = serde_json::from_str(&buf).map_err(|e| TestCaseError::fail(format!("{e}: {buf}")))?;
        let off = tracks.iter().enumerate().filter(|(i, _)| pitch.get(*i).copied().flatten().is_some_and(|p| !p.on_pitch)).count();
        prop_assert_eq!(v["tracks"].as_array().unwrap().len(), tracks.len() - off);
    }

    #[test]
    fn config_files_of_any_text_parse_or_fail_cleanly(text in "(\\[[a-z]{1,8}\\]\n|[a-z_]{1,16} = (-?[0-9]{1,9}(\\.[0-9]{1,4})?|\"[ -~]{0,12}\"|true|\\[[0-9, ]{0,12}\\])\n|[ -~]{0,20}\n){0,12}") {
        if let Ok(raw) = footrackd::config::parse_raw(&text) {
            let _ = validate(raw, false);
        }
    }

    #[test]
    fn remote_config_payloads_never_panic(payload in prop::collection::vec(any::<u8>(), 0..200), json in "\\{\"(infer|track|log|source|pitch|publish)\": \\{\"[a-z_]{1,20}\": (-?[0-9]{1,6}(\\.[0-9]{1,3})?|true|\"[a-z]{0,8}\"|\\[\\])\\}\\}") {
        let mut raw = RawConfig::default();
        raw.source.uri = "clip.mp4".into();
        raw.infer.model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/yolox_nano.onnx").into();
        let current = validate(raw, true).unwrap();
        let _ = remote::check(&payload, &current);
        if let Ok((cfg, _)) = remote::check(json.as_bytes(), &current) {
            // Whatever was accepted is a valid configuration with the rate floor kept.
            prop_assert!(cfg.infer.max_fps == 0.0 || cfg.infer.max_fps >= 1.0);
        }
    }
}
