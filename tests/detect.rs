//! The batched detector on real decoded frames: one model call per frame, the same detections as
//! one call per region.

use footrackd::config::{RawConfig, validate};
use footrackd::frame::ObjectClass;
use footrackd::infer::Detector;
use footrackd::infer::pre::YuvFrame;

use crate::util::{frames, repo_root};

fn detector(batched: bool) -> Detector {
    let mut raw = RawConfig::default();
    raw.infer.model = repo_root().join("models/yolox_nano.onnx").display().to_string();
    raw.infer.threads = 1;
    raw.infer.ball_focus_regions = 0;
    // Calls counted here are the detector's alone (tests/ball_finder.rs has the finder's).
    raw.infer.ball_finder_model = String::new();
    (raw.infer.tile_columns, raw.infer.tile_rows, raw.infer.full_frame) = (2, 2, true);
    let cfg = validate(raw, false).unwrap();
    let mut opts = cfg.detector_options();
    assert!(opts.manifest.dynamic_batch, "the shipped model takes a batch");
    opts.manifest.dynamic_batch = batched;
    Detector::new(opts).unwrap()
}

#[test]
fn one_batched_call_per_frame_finds_what_one_call_per_region_finds() {
    let frames = frames::decode(&repo_root().join("demo/clip.mp4"), 40, 3);
    assert_eq!(frames.len(), 3);
    let (mut batched, mut single) = (detector(true), detector(false));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut total = 0;
    for f in &frames {
        let yuv = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
        let ta = batched.detect(&yuv, &mut a).unwrap();
        let tb = single.detect(&yuv, &mut b).unwrap();
        assert_eq!((ta.runs, ta.images), (1, 5), "2x2 tiles + whole frame in one call");
        assert_eq!((tb.runs, tb.images), (5, 5));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.class, y.class);
            let d = (x.bbox.x1 - y.bbox.x1).abs()
                + (x.bbox.y1 - y.bbox.y1).abs()
                + (x.bbox.x2 - y.bbox.x2).abs()
                + (x.bbox.y2 - y.bbox.y2).abs();
            assert!((x.score - y.score).abs() < 1e-3 && d < 0.5, "{x:?} vs {y:?}");
        }
        total += a.len();
    }
    // About 15 players per frame of the demo clip: a detector that finds nothing fails here.
    assert!(total >= 20, "only {total} detections over 3 frames");
}

#[test]
fn calls_padded_to_a_held_batch_shape_find_what_unpadded_calls_find() {
    let frames = frames::decode(&repo_root().join("demo/clip.mp4"), 40, 3);
    let (mut plain, mut padded) = (detector(true), detector(true));
    padded.pad_batches_to(4);
    let yuv: Vec<_> = frames.iter().map(|f| YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap()).collect();
    let mut want: Vec<Vec<_>> = vec![Vec::new(); 3];
    for (f, out) in yuv.iter().zip(&mut want) {
        plain.detect(f, out).unwrap();
    }
    // One frame, then all three: both calls carry four frames' regions (5 each), as a shared
    // detector serving four cameras does whoever has a frame waiting.
    let mut one = vec![Vec::new()];
    let t = padded.detect_many(&yuv[..1], &mut one).unwrap();
    assert_eq!((t.runs, t.images), (1, 20), "one call at the held shape");
    let mut three = vec![Vec::new(); 3];
    let t = padded.detect_many(&yuv, &mut three).unwrap();
    assert_eq!((t.runs, t.images), (1, 20));
    for (got, want) in std::iter::once(&one[0]).chain(&three).zip(std::iter::once(&want[0]).chain(&want)) {
        assert!(want.len() >= 5, "too few detections to compare");
        assert_eq!(got.len(), want.len());
        for (x, y) in got.iter().zip(want) {
            assert_eq!(x.class, y.class);
            assert!((x.score - y.score).abs() < 1e-3 && x.bbox.iou(&y.bbox) > 0.99, "{x:?} vs {y:?}");
        }
    }
}

/// The demo clip's frames scaled by 3/2 (nearest neighbour): 1080p, as a broadcast camera gives.
fn upscaled_1080p(f: &crate::util::frames::Frame) -> Vec<u8> {
    assert_eq!(f.format, footrackd::frame::PixelFormat::I420);
    let (w, h) = (f.width as usize, f.height as usize);
    let (cw, ch) = (w / 2, h / 2);
    let mut out = Vec::with_capacity(1920 * 1080 * 3 / 2);
    let mut plane = |src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize| {
        for y in 0..dh {
            let row = &src[(y * sh / dh) * sw..][..sw];
            out.extend((0..dw).map(|x| row[x * sw / dw]));
        }
    };
    plane(&f.data[..w * h], w, h, 1920, 1080);
    plane(&f.data[w * h..][..cw * ch], cw, ch, 960, 540);
    plane(&f.data[w * h + cw * ch..][..cw * ch], cw, ch, 960, 540);
    out
}

/// The true ball centre of demo frame `n` (counted from 0) in 1280x720 pixels.
fn true_ball(n: u64) -> (f32, f32) {
    let gt = std::fs::read_to_string(repo_root().join("demo/gt/gt.txt")).unwrap();
    gt.lines()
        .map(|l| l.split(',').map(|v| v.parse::<f32>().unwrap()).collect::<Vec<_>>())
        .find(|v| v[0] as u64 == n + 1 && v[7] == 4.0)
        .map(|v| (v[2] + v[4] / 2.0, v[3] + v[5] / 2.0))
        .unwrap()
}

fn football_detector(focus_regions: u32) -> Detector {
    let mut raw = RawConfig::default();
    raw.infer.threads = 1;
    raw.infer.ball_focus_regions = focus_regions;
    raw.infer.ball_finder_model = String::new();
    let cfg = validate(raw, false).unwrap();
    Detector::new(cfg.detector_options()).unwrap()
}

#[test]
fn the_ball_gets_a_second_look_at_1080p_where_it_is_expected_and_none_at_720p() {
    let first = 40;
    let frames = frames::decode(&repo_root().join("demo/clip.mp4"), first, 3);
    let mut focus = football_detector(2);
    assert!(focus.looks_twice_at_the_ball());
    let mut dets = Vec::new();
    let mut found = 0;
    for (k, f) in frames.iter().enumerate() {
        // 720p: the 1280x736 model already sees every pixel; the second look would add only cost.
        let yuv = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
        assert_eq!(focus.detect(&yuv, &mut dets).unwrap().images, 1);

        let big = upscaled_1080p(f);
        let yuv = YuvFrame::new(&big, 1920, 1080, f.format).unwrap();
        let (tx, ty) = true_ball(first + k as u64);
        let (tx, ty) = (tx * 1.5, ty * 1.5);
        // Told where the ball is expected (the tracker's prediction), it looks there too.
        let t = focus.detect_with_hint(&yuv, Some((tx + 40.0, ty - 30.0)), &mut dets).unwrap();
        assert_eq!((t.runs, t.images), (2, 3), "the whole frame, then two regions in one call");
        let balls: Vec<_> = dets.iter().filter(|d| d.class == ObjectClass::Ball).collect();
        assert!(balls.iter().all(|d| d.score >= 0.25), "weak candidates are dropped after the look");
        found += balls.iter().any(|d| {
            let (x, y) = d.bbox.center();
            (x - tx).hypot(y - ty) < 6.0
        }) as usize;
    }
    assert!(found >= 2, "the ball found in {found} of 3 frames");
}

#[test]
fn no_second_look_when_it_is_switched_off() {
    let frames = frames::decode(&repo_root().join("demo/clip.mp4"), 40, 1);
    let mut plain = football_detector(0);
    assert!(!plain.looks_twice_at_the_ball());
    let big = upscaled_1080p(&frames[0]);
    let yuv = YuvFrame::new(&big, 1920, 1080, frames[0].format).unwrap();
    let mut dets = Vec::new();
    assert_eq!(plain.detect_with_hint(&yuv, Some((800.0, 500.0)), &mut dets).unwrap().images, 1);
}
