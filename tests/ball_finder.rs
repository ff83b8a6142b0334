//! The ball finder on real broadcast frames (the ball set's valid split, frames it was not trained
//! on): with it the best ball of a frame is the true one more often than with the detector's
//! candidates alone. On the demo clip, whose ground truth is exact but whose players are pasted
//! cut-outs, it adds balls the detector misses and touches nothing else.

use footrackd::config::{RawConfig, validate};
use footrackd::frame::{BBox, Detection, ObjectClass, PixelFormat};
use footrackd::infer::pre::YuvFrame;
use footrackd::infer::{BallCheck, BallFinder, Detector};

use crate::ball_check::true_balls;
use crate::util::{frames, repo_root};

/// Whether a detection lies within 6 px of the true ball.
fn on_truth(d: &Detection, truth: (f32, f32)) -> bool {
    let (cx, cy) = d.bbox.center();
    d.class == ObjectClass::Ball && (cx - truth.0).hypot(cy - truth.1) <= 6.0
}

/// Whether the frame's best ball lies within 6 px of the truth.
fn best_is_true(dets: &[Detection], truth: (f32, f32)) -> bool {
    let best = dets.iter().filter(|d| d.class == ObjectClass::Ball).max_by(|a, b| a.score.total_cmp(&b.score));
    best.is_some_and(|d| on_truth(d, truth))
}

/// The ball set's valid split: 123 real broadcast frames with one labelled ball each, stretched
/// to 640x640 by their publisher (SOURCE.md).
fn ball_valid_split() -> std::path::PathBuf {
    repo_root().join("../shared/data/roboflow-football-ball-detection/valid")
}

/// One plane resized bilinearly (the stills' stretch undone as `tools/train/prepare_ball.py` does).
fn resize_plane(src: &[u8], (sw, sh): (usize, usize), (dw, dh): (usize, usize), out: &mut Vec<u8>) {
    for y in 0..dh {
        let fy = ((y as f32 + 0.5) * sh as f32 / dh as f32 - 0.5).clamp(0.0, (sh - 1) as f32);
        let (y0, wy) = (fy as usize, fy.fract());
        let y1 = (y0 + 1).min(sh - 1);
        for x in 0..dw {
            let fx = ((x as f32 + 0.5) * sw as f32 / dw as f32 - 0.5).clamp(0.0, (sw - 1) as f32);
            let (x0, wx) = (fx as usize, fx.fract());
            let x1 = (x0 + 1).min(sw - 1);
            let p = |yy: usize, xx: usize| f32::from(src[yy * sw + xx]);
            let top = p(y0, x0) * (1.0 - wx) + p(y0, x1) * wx;
            let bottom = p(y1, x0) * (1.0 - wx) + p(y1, x1) * wx;
            out.push((top * (1.0 - wy) + bottom * wy).round() as u8);
        }
    }
}

/// A still decoded and resized to `w` x `h` I420.
fn still_at(path: &std::path::Path, (w, h): (usize, usize)) -> Vec<u8> {
    let still = footrackd::source::decode_still(path).unwrap();
    let (sw, sh) = (still.width as usize, still.height as usize);
    let (y, chroma) = still.i420.split_at(sw * sh);
    let (u, v) = chroma.split_at((sw / 2) * (sh / 2));
    let mut out = Vec::with_capacity(w * h * 3 / 2);
    resize_plane(y, (sw, sh), (w, h), &mut out);
    resize_plane(u, (sw / 2, sh / 2), (w / 2, h / 2), &mut out);
    resize_plane(v, (sw / 2, sh / 2), (w / 2, h / 2), &mut out);
    out
}

/// The labelled ball of a frame (YOLO text: class, centre and size as fractions) at `w` x `h`.
fn labelled_ball(label: &std::path::Path, (w, h): (usize, usize)) -> Option<BBox> {
    let text = std::fs::read_to_string(label).ok()?;
    let v: Vec<f32> = text.split_whitespace().skip(1).take(4).map(|t| t.parse().unwrap()).collect();
    let (w, h) = (w as f32, h as f32);
    (v.len() == 4).then(|| BBox::from_cxcywh(v[0] * w, v[1] * h, v[2] * w, v[3] * h))
}

/// Whether the frame's best ball overlaps the labelled one (IoU 0.3, as docs/detector.md counts).
fn best_overlaps(dets: &[Detection], truth: &BBox) -> bool {
    let best = dets.iter().filter(|d| d.class == ObjectClass::Ball).max_by(|a, b| a.score.total_cmp(&b.score));
    best.is_some_and(|d| d.bbox.iou(truth) >= 0.3)
}

/// The shipped detector (without its ball finder), ball check and ball finder on the CPU, with
/// the score threshold they use: 0.1, weak candidates too, as the ball tracker's second stage
/// takes them.
fn models_on_cpu() -> (f32, Detector, BallCheck, BallFinder) {
    let cfg = shipped_on_cpu();
    let mut opts = cfg.detector_options();
    opts.ball_finder = None;
    let detector = Detector::new(opts).unwrap();
    let check = BallCheck::new(cfg.ball_check_options().expect("the ball check is on")).unwrap();
    let finder = BallFinder::new(cfg.ball_finder_options().expect("the ball finder is on")).unwrap();
    (cfg.infer.score_threshold, detector, check, finder)
}

/// The shipped settings on the CPU.
fn shipped_on_cpu() -> footrackd::config::Config {
    let mut raw = RawConfig::default();
    raw.infer.model = repo_root().join("models/football_nano_1280x736.onnx").display().to_string();
    raw.infer.ball_check_model = repo_root().join("models/ball_check_32.onnx").display().to_string();
    raw.infer.ball_finder_model = repo_root().join("models/ball_finder.onnx").display().to_string();
    raw.infer.providers = vec![footrackd::infer::Provider::Cpu];
    raw.infer.threads = 2;
    raw.infer.score_threshold = 0.1;
    validate(raw, false).unwrap()
}

#[test]
fn on_real_broadcast_frames_the_best_ball_is_the_true_one_more_often() {
    let split = ball_valid_split();
    let (threshold, mut detector, mut check, mut finder) = models_on_cpu();
    let mut images: Vec<_> = std::fs::read_dir(split.join("images")).unwrap().map(|e| e.unwrap().path()).collect();
    images.sort();
    let size = (1920, 1080);
    let (mut labelled, mut without, mut with) = (0, 0, 0);
    let (mut dets, mut alone) = (Vec::new(), Vec::new());
    for image in &images {
        let Some(truth) =
            labelled_ball(&split.join("labels").join(image.with_extension("txt").file_name().unwrap()), size)
        else {
            continue;
        };
        labelled += 1;
        let i420 = still_at(image, size);
        let yuv = YuvFrame::new(&i420, size.0 as u32, size.1 as u32, PixelFormat::I420).unwrap();
        detector.detect(&yuv, &mut dets).unwrap();
        alone.clone_from(&dets);
        check.rescore(&yuv, &mut alone).unwrap();
        without += usize::from(best_overlaps(&alone, &truth));
        finder.find(&yuv, &mut dets, threshold).unwrap();
        check.rescore(&yuv, &mut dets).unwrap();
        with += usize::from(best_overlaps(&dets, &truth));
    }
    eprintln!("best ball on the labelled one in {without} -> {with} of {labelled} real frames");
    assert!(labelled >= 100, "the valid split labels a ball in each frame: {labelled}");
    // Measured 85 -> 105 of 123 (docs/detector.md): a gain of 20 frames, well clear of the 6 a
    // rebuilt ONNX Runtime or decoder would have to move.
    assert!(
        with >= without + labelled / 20,
        "the finder did not lift the best ball: {without} -> {with} of {labelled}"
    );
}

#[test]
fn the_ball_finder_adds_the_balls_the_detector_misses() {
    let (threshold, mut detector, mut check, mut finder) = models_on_cpu();
    let mut shipped = Detector::new(shipped_on_cpu().detector_options()).unwrap();
    assert!(shipped.finds_the_ball(), "the shipped detector runs the ball finder");
    let truth = true_balls();
    let (mut visible, mut without, mut with) = (0, 0, 0);
    let (mut held_without, mut held_with) = (0, 0);
    let (mut dets, mut alone, mut together) = (Vec::new(), Vec::new(), Vec::new());
    for (i, f) in frames::decode(&repo_root().join("demo/clip.mp4"), 0, 500).iter().enumerate().step_by(5) {
        let Some(&t) = truth.get(&(i as u64 + 1)) else { continue };
        visible += 1;
        let yuv = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
        detector.detect(&yuv, &mut dets).unwrap();
        let people: Vec<Detection> = dets.iter().filter(|d| d.class.is_person()).copied().collect();
        alone.clone_from(&dets);
        check.rescore(&yuv, &mut alone).unwrap();
        without += usize::from(best_is_true(&alone, t));
        held_without += usize::from(alone.iter().any(|d| on_truth(d, t)));
        let before = dets.len();
        let added = finder.find(&yuv, &mut dets, threshold).unwrap();
        assert_eq!(dets.len(), before + added, "what is added is counted");
        assert!(dets[before..].iter().all(|d| d.class == ObjectClass::Ball), "only balls are added");
        assert!(dets[before..].iter().all(|d| d.score >= threshold), "none below the threshold");
        let kept: Vec<Detection> = dets.iter().filter(|d| d.class.is_person()).copied().collect();
        assert_eq!(kept, people, "people are untouched");
        if visible % 4 == 1 {
            // The shipped detector runs the finder itself, on the frame it detected on.
            shipped.detect(&yuv, &mut together).unwrap();
            assert_eq!(together, dets, "the detector with its finder finds what the two find apart");
        }
        check.rescore(&yuv, &mut dets).unwrap();
        with += usize::from(best_is_true(&dets, t));
        held_with += usize::from(dets.iter().any(|d| on_truth(d, t)));
    }
    eprintln!("true ball among the candidates in {held_without} -> {held_with} of {visible} demo frames");
    eprintln!("best ball on the true one in {without} -> {with} of {visible} demo frames with a visible ball");
    assert!(visible >= 50, "the clip shows the ball in most frames: {visible}");
    // The pasted cut-outs' feet fool it more than real players' do (77 -> 70 best balls on the
    // true one, measured): ranking is checked on the real frames above, finding here.
    assert!(held_with > held_without, "the finder found no ball the detector missed: {held_without} -> {held_with}");
}

/// The shipped ball finder's options, on the CPU.
fn cpu_finder_options() -> footrackd::infer::BallFinderOptions {
    let mut raw = RawConfig::default();
    raw.infer.ball_finder_model = repo_root().join("models/ball_finder.onnx").display().to_string();
    raw.infer.providers = vec![footrackd::infer::Provider::Cpu];
    validate(raw, false).unwrap().ball_finder_options().expect("the ball finder is on")
}

#[test]
fn frames_of_another_size_are_looked_at_whole() {
    let mut finder = BallFinder::new(cpu_finder_options()).unwrap();
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

#[test]
fn several_frames_in_one_call_find_what_each_finds_alone() {
    let mut opts = cpu_finder_options();
    // Two frames a call (the shipped manifest says one): five frames make calls of 2, 2 and 1.
    opts.manifest.max_batch = 2;
    let mut finder = BallFinder::new(opts).unwrap();
    let clip = repo_root().join("demo/clip.mp4");
    let decoded: Vec<_> = [30, 200, 400].into_iter().flat_map(|i| frames::decode(&clip, i, 1)).collect();
    let yuvs: Vec<_> =
        decoded.iter().cycle().take(5).map(|f| YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap()).collect();
    // A detector ball already in the second frame's list: peaks on it lift it, others are added.
    let seeded =
        Detection { bbox: BBox { x1: 600.0, y1: 300.0, x2: 610.0, y2: 310.0 }, score: 0.3, class: ObjectClass::Ball };
    let start = |i: usize| if i == 1 { vec![seeded] } else { Vec::new() };
    let alone: Vec<Vec<Detection>> = yuvs
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let mut dets = start(i);
            finder.find(y, &mut dets, 0.05).unwrap();
            dets
        })
        .collect();
    let mut together: Vec<Vec<Detection>> = (0..yuvs.len()).map(start).collect();
    let added = finder.find_many(&yuvs, &mut together, 0.05).unwrap();
    assert_eq!(together, alone, "five frames at once find what each finds alone");
    assert_eq!(added, alone.iter().map(|d| d.len()).sum::<usize>() - 1, "every ball but the seeded one is new");
    assert!(alone.iter().all(|d| d.iter().any(|b| b.score >= 0.05)), "each frame has a candidate");
    // Frames of two sizes are refused, not mixed into one call.
    let f = &decoded[0];
    let half = YuvFrame::new(&f.data[..f.data.len() / 4], f.width / 2, f.height / 2, f.format).unwrap();
    let mut outs = vec![Vec::new(), Vec::new()];
    let e = finder.find_many(&[yuvs[0], half], &mut outs, 0.05).unwrap_err();
    assert!(e.to_string().contains("frames of one size"), "{e}");
}
