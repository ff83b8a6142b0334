//! The ball finder on real decoded frames of the demo clip, whose ground truth is exact: it finds
//! the ball where the detector does and more, and with the ball check the best ball of a frame
//! is the true one more often than with the detector's candidates alone.

use footrackd::config::{RawConfig, validate};
use footrackd::frame::{Detection, ObjectClass, PixelFormat};
use footrackd::infer::pre::YuvFrame;
use footrackd::infer::{BallCheck, BallFinder, Detector};

use crate::ball_check::true_balls;
use crate::util::{frames, repo_root};

/// Whether the frame's best ball lies within 6 px of the truth.
fn best_is_true(dets: &[Detection], truth: (f32, f32)) -> bool {
    let best = dets.iter().filter(|d| d.class == ObjectClass::Ball).max_by(|a, b| a.score.total_cmp(&b.score));
    best.is_some_and(|d| {
        let (cx, cy) = d.bbox.center();
        (cx - truth.0).hypot(cy - truth.1) <= 6.0
    })
}

#[test]
fn the_ball_finder_adds_the_balls_the_detector_misses() {
    let mut raw = RawConfig::default();
    raw.infer.model = repo_root().join("models/football_nano_1280x736.onnx").display().to_string();
    raw.infer.ball_check_model = repo_root().join("models/ball_check_32.onnx").display().to_string();
    raw.infer.ball_finder_model = repo_root().join("models/ball_finder.onnx").display().to_string();
    raw.infer.providers = vec![footrackd::infer::Provider::Cpu];
    raw.infer.threads = 2;
    // Weak candidates too, as the ball tracker's second stage takes them.
    raw.infer.score_threshold = 0.1;
    let cfg = validate(raw, false).unwrap();
    let mut detector = Detector::new(cfg.detector_options()).unwrap();
    let mut check = BallCheck::new(cfg.ball_check_options().expect("the ball check is on")).unwrap();
    let mut finder = BallFinder::new(cfg.ball_finder_options().expect("the ball finder is on")).unwrap();
    let truth = true_balls();
    let (mut visible, mut without, mut with) = (0, 0, 0);
    let (mut dets, mut alone) = (Vec::new(), Vec::new());
    for (i, f) in frames::decode(&repo_root().join("demo/clip.mp4"), 0, 500).iter().enumerate().step_by(5) {
        let Some(&t) = truth.get(&(i as u64 + 1)) else { continue };
        visible += 1;
        let yuv = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
        detector.detect(&yuv, &mut dets).unwrap();
        let people: Vec<Detection> = dets.iter().filter(|d| d.class.is_person()).copied().collect();
        alone.clone_from(&dets);
        check.rescore(&yuv, &mut alone).unwrap();
        without += usize::from(best_is_true(&alone, t));
        let before = dets.len();
        let added = finder.find(&yuv, &mut dets, cfg.infer.score_threshold).unwrap();
        assert_eq!(dets.len(), before + added, "what is added is counted");
        assert!(dets[before..].iter().all(|d| d.class == ObjectClass::Ball), "only balls are added");
        assert!(dets[before..].iter().all(|d| d.score >= cfg.infer.score_threshold), "none below the threshold");
        let kept: Vec<Detection> = dets.iter().filter(|d| d.class.is_person()).copied().collect();
        assert_eq!(kept, people, "people are untouched");
        check.rescore(&yuv, &mut dets).unwrap();
        with += usize::from(best_is_true(&dets, t));
    }
    eprintln!("best ball on the true one in {without} -> {with} of {visible} demo frames with a visible ball");
    assert!(visible >= 50, "the clip shows the ball in most frames: {visible}");
    assert!(with >= without, "the finder lost balls: {without} -> {with} of {visible}");
}

#[test]
fn frames_of_another_size_are_looked_at_whole() {
    let mut raw = RawConfig::default();
    raw.infer.ball_finder_model = repo_root().join("models/ball_finder.onnx").display().to_string();
    raw.infer.providers = vec![footrackd::infer::Provider::Cpu];
    let cfg = validate(raw, false).unwrap();
    let mut finder = BallFinder::new(cfg.ball_finder_options().expect("the ball finder is on")).unwrap();
    let f = &frames::decode(&repo_root().join("demo/clip.mp4"), 40, 1)[0];
    let yuv = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
    let mut dets = Vec::new();
    finder.find(&yuv, &mut dets, 0.0).unwrap();
    // A frame of an odd size (cropped to 1000x562: not a multiple of 8) after the clip's own:
    // the buffers follow the size and every ball lies inside the frame.
    let (w, h) = (1000usize, 562usize);
    let mut small = Vec::with_capacity(w * h * 3 / 2);
    for row in 0..h {
        small.extend_from_slice(&f.data[row * f.width as usize..row * f.width as usize + w]);
    }
    let (fw, fh) = (f.width as usize, f.height as usize);
    let (cw, fcw, fch) = (w / 2, fw / 2, fh / 2);
    match f.format {
        PixelFormat::I420 => {
            for plane in 0..2 {
                let base = fw * fh + plane * fcw * fch;
                for row in 0..h / 2 {
                    small.extend_from_slice(&f.data[base + row * fcw..base + row * fcw + cw]);
                }
            }
        }
        PixelFormat::Nv12 => {
            for row in 0..h / 2 {
                small.extend_from_slice(&f.data[fw * fh + row * fw..fw * fh + row * fw + w]);
            }
        }
    }
    let yuv = YuvFrame::new(&small, w as u32, h as u32, f.format).unwrap();
    dets.clear();
    finder.find(&yuv, &mut dets, 0.0).unwrap();
    assert!(!dets.is_empty(), "some candidate is found at any threshold");
    for d in &dets {
        let (cx, cy) = d.bbox.center();
        assert!((0.0..w as f32).contains(&cx) && (0.0..h as f32).contains(&cy), "{d:?} outside 1000x562");
    }
}
