//! The batched detector on real decoded frames: one model call per frame, the same detections as
//! one call per region.

use footrackd::config::{RawConfig, validate};
use footrackd::infer::Detector;
use footrackd::infer::pre::YuvFrame;

use crate::util::{frames, repo_root};

fn detector(batched: bool) -> Detector {
    let mut raw = RawConfig::default();
    raw.infer.model = repo_root().join("models/yolox_nano.onnx").display().to_string();
    raw.infer.threads = 1;
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
