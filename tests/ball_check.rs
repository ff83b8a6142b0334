//! The ball check on real decoded frames of the demo clip, whose ground truth is exact: the
//! detector fires on some players' feet there (scores up to about 0.6); the check brings those
//! candidates down and leaves the true ball's up.

use std::collections::HashMap;

use footrackd::config::{RawConfig, validate};
use footrackd::frame::{Detection, ObjectClass};
use footrackd::infer::pre::YuvFrame;
use footrackd::infer::{BallCheck, Detector};

use crate::util::{frames, repo_root};

/// The demo clip's visible ball per frame (1-based, as gt.txt): its centre.
pub(crate) fn true_balls() -> HashMap<u64, (f32, f32)> {
    let text = std::fs::read_to_string(repo_root().join("demo/gt/gt.txt")).unwrap();
    let mut out = HashMap::new();
    for line in text.lines() {
        let v: Vec<f32> = line.split(',').map(|x| x.parse().unwrap()).collect();
        if v[7] as u32 == 4 && v[8] > 0.0 {
            out.insert(v[0] as u64, (v[2] + v[4] / 2.0, v[3] + v[5] / 2.0));
        }
    }
    out
}

/// Balls at or above the daemon's score threshold: (on the true ball, elsewhere).
fn count(dets: &[Detection], truth: Option<(f32, f32)>) -> (usize, usize) {
    let balls = dets.iter().filter(|d| d.class == ObjectClass::Ball && d.score >= 0.25);
    balls.fold((0, 0), |(hit, miss), d| {
        let (cx, cy) = d.bbox.center();
        match truth {
            Some((x, y)) if (cx - x).hypot(cy - y) <= 6.0 => (hit + 1, miss),
            _ => (hit, miss + 1),
        }
    })
}

#[test]
fn the_ball_check_drops_false_balls_and_keeps_the_true_one() {
    let mut raw = RawConfig::default();
    raw.infer.model = repo_root().join("models/football_nano_1280x736.onnx").display().to_string();
    raw.infer.ball_check_model = repo_root().join("models/ball_check_32.onnx").display().to_string();
    // The detector's own candidates (tests/ball_finder.rs checks the finder's with the check).
    raw.infer.ball_finder_model = String::new();
    raw.infer.threads = 2;
    let cfg = validate(raw, false).unwrap();
    let mut detector = Detector::new(cfg.detector_options()).unwrap();
    let mut check = BallCheck::new(cfg.ball_check_options().expect("the ball check is on")).unwrap();
    let truth = true_balls();
    let (mut before, mut after) = ((0, 0), (0, 0));
    let mut dets = Vec::new();
    for (i, f) in frames::decode(&repo_root().join("demo/clip.mp4"), 0, 500).iter().enumerate().step_by(5) {
        let yuv = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
        detector.detect(&yuv, &mut dets).unwrap();
        let t = truth.get(&(i as u64 + 1)).copied();
        let people: Vec<Detection> = dets.iter().filter(|d| d.class.is_person()).copied().collect();
        let (hit, miss) = count(&dets, t);
        before = (before.0 + hit, before.1 + miss);
        let balls = dets.iter().filter(|d| d.class == ObjectClass::Ball).count();
        assert_eq!(check.rescore(&yuv, &mut dets).unwrap(), balls, "every ball looked at");
        let kept: Vec<Detection> = dets.iter().filter(|d| d.class.is_person()).copied().collect();
        assert_eq!(kept, people, "people are untouched");
        let (hit, miss) = count(&dets, t);
        after = (after.0 + hit, after.1 + miss);
    }
    eprintln!(
        "ball check on 100 demo frames: true balls {} -> {}, false balls {} -> {}",
        before.0, after.0, before.1, after.1
    );
    // Measured: true balls 86 -> 72, false balls 240 -> 4 (the ball tracker then publishes the
    // ball within 5 px in 0.82 of the clip's frames against 0.76 without the check).
    assert!(before.0 >= 50 && before.1 >= 50, "the detector alone: {before:?}");
    assert!(after.0 as f64 >= 0.75 * before.0 as f64, "true balls lost: {before:?} -> {after:?}");
    assert!(after.1 * 10 <= before.1, "false balls not cut tenfold: {before:?} -> {after:?}");
}
