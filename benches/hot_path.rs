//! Benchmarks of the per-frame hot path: tracker step, NMS, payload encoding, ring hand-over,
//! letterbox pre-processing and camera following. Run with `cargo bench --bench hot_path`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use footrackd::frame::Team;
use footrackd::frame::{BBox, Detection, FrameMeta, ObjectClass, PixelFormat};
use footrackd::infer::manifest::ModelManifest;
use footrackd::infer::post::nms_in_place;
use footrackd::infer::pre::{Preprocessor, Region, YuvFrame};
use footrackd::pitch::Homography;
use footrackd::publish::payload::{TrackMessageHeader, encode_tracks};
use footrackd::ring::FrameRing;
use footrackd::ring::OverflowPolicy;
use footrackd::track::{FramePitch, Tracker, TrackerOptions};

#[path = "../tests/support/scene.rs"]
mod scene;
use scene::SyntheticScene;

fn tracker_step(c: &mut Criterion) {
    let mut g = c.benchmark_group("tracker_step");
    for n in [22usize, 30, 50] {
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let mut scene = SyntheticScene::new(n, 1920.0, 1080.0, 1);
            let mut tracker = Tracker::new(TrackerOptions::default());
            let mut dets = Vec::with_capacity(64);
            for _ in 0..10 {
                scene.next_frame(&mut dets);
                tracker.step(1.0, &dets);
            }
            b.iter(|| {
                scene.next_frame(&mut dets);
                black_box(tracker.step(1.0, &dets).len())
            });
        });
    }
    g.finish();
    // On the pitch (issue 25): a broadcast-like homography, 25 players with kit votes.
    let mut g = c.benchmark_group("tracker_step_on_pitch");
    let h = Homography::from_row_major(&[0.055, 0.0, 0.0, 0.0, 0.063, 0.0, 0.0, 0.0, 1.0]).unwrap();
    for n in [25usize, 50] {
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let mut scene = SyntheticScene::new(n, 1920.0, 1080.0, 1);
            let mut tracker = Tracker::new(TrackerOptions::default());
            let mut dets = Vec::with_capacity(64);
            let mut kits: Vec<Option<Team>> = Vec::with_capacity(64);
            let mut step = |tracker: &mut Tracker, dets: &mut Vec<Detection>, kits: &mut Vec<Option<Team>>| {
                scene.next_frame(dets);
                kits.clear();
                kits.extend(dets.iter().enumerate().map(|(i, _)| Some(if i % 2 == 0 { Team::A } else { Team::B })));
                let pitch = FramePitch { homography: Some(&h), frame_size: (1920.0, 1080.0), teams: kits };
                tracker.step_on_pitch(1.0, dets, pitch).len()
            };
            for _ in 0..10 {
                step(&mut tracker, &mut dets, &mut kits);
            }
            b.iter(|| black_box(step(&mut tracker, &mut dets, &mut kits)));
        });
    }
    g.finish();
}

fn nms(c: &mut Criterion) {
    // 5 regions x ~25 raw boxes: duplicates across tiles, as the detector produces them.
    let mut raw = Vec::new();
    for i in 0..125 {
        let x = (i % 25) as f32 * 70.0 + (i / 25) as f32 * 2.0;
        raw.push(Detection {
            bbox: BBox::from_xywh(x, 300.0, 30.0, 80.0),
            score: 0.3 + (i % 7) as f32 * 0.1,
            class: ObjectClass::Player,
        });
    }
    let mut work = Vec::with_capacity(raw.len());
    c.bench_function("nms_125_boxes", |b| {
        b.iter(|| {
            work.clear();
            work.extend_from_slice(&raw);
            nms_in_place(&mut work, 0.5);
            black_box(work.len())
        })
    });
}

fn payload(c: &mut Criterion) {
    let mut scene = SyntheticScene::new(23, 1920.0, 1080.0, 2);
    let mut tracker = Tracker::new(TrackerOptions::default().min_hits(1));
    let mut dets = Vec::new();
    scene.next_frame(&mut dets);
    let tracks = tracker.step(1.0, &dets).to_vec();
    let meta =
        FrameMeta { number: 1234, pts_ns: Some(49_360_000_000), width: 1920, height: 1080, ..Default::default() };
    let mut buf = String::with_capacity(8192);
    let mut state = footrackd::state::FrameState::with_capacity(64);
    state.begin(meta, &tracks);
    c.bench_function("encode_tracks_23", |b| {
        b.iter(|| {
            encode_tracks(&mut buf, TrackMessageHeader { device: "dev", source: "cam", publish_unix_ns: 1 }, &state);
            black_box(buf.len())
        })
    });
}

fn ring(c: &mut Criterion) {
    let ring = FrameRing::new(4, 1024, OverflowPolicy::DropOldest);
    c.bench_function("ring_push_take", |b| {
        b.iter(|| {
            let mut w = ring.acquire().unwrap();
            w.slot().meta.number = 1;
            w.publish();
            black_box(ring.take().map(|r| r.slot().meta.number))
        })
    });
}

fn preprocess(c: &mut Criterion) {
    let manifest = ModelManifest::parse(&std::fs::read_to_string("models/yolox_nano.toml").unwrap()).unwrap();
    let mut pre = Preprocessor::new(&manifest);
    let (w, h) = (1920u32, 1080u32);
    let data: Vec<u8> = (0..footrackd::frame::yuv420_bytes(w, h)).map(|i| (i * 31 % 251) as u8).collect();
    let frame = YuvFrame::new(&data, w, h, PixelFormat::I420).unwrap();
    let mut out = vec![0.0f32; pre.input_len()];
    let mut g = c.benchmark_group("letterbox_416");
    g.bench_function("whole_1080p_frame", |b| {
        b.iter(|| black_box(pre.fill(&frame, Region { x: 0, y: 0, w, h }, &mut out)))
    });
    g.bench_function("tile_1104x621", |b| {
        b.iter(|| black_box(pre.fill(&frame, Region { x: 816, y: 459, w: 1104, h: 621 }, &mut out)))
    });
    g.finish();
}

/// Camera following on 1080p luma (the finishing thread's largest per-frame cost with
/// `pitch.auto_calibrate`): a textured frame panning 3 px a frame, 20 players masked out.
fn camera_follow(c: &mut Criterion) {
    use footrackd::pitch::{CameraFollower, Homography};
    let (w, h) = (1920u32, 1080u32);
    let texture = |x: u32, y: u32| ((x * 7 + y * 13) % 97 + ((x / 40 + y / 30) % 2) * 60) as u8;
    let frames: Vec<Vec<u8>> = (0..8u32)
        .map(|i| {
            let mut d = vec![128u8; footrackd::frame::yuv420_bytes(w, h)];
            for y in 0..h {
                for x in 0..w {
                    d[(y * w + x) as usize] = texture(x + 3 * i, y);
                }
            }
            d
        })
        .collect();
    let people: Vec<BBox> =
        (0..20).map(|i| BBox::from_xywh(80.0 + i as f32 * 90.0, 400.0 + (i % 3) as f32 * 120.0, 30.0, 80.0)).collect();
    let anchor = Homography::from_matrix([[0.05, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, 0.0, 1.0]]);
    let mut follower = CameraFollower::new(anchor);
    let mut n = 0usize;
    c.bench_function("camera_follow_1080p", |b| {
        b.iter(|| {
            let f = YuvFrame::new(&frames[n % frames.len()], w, h, PixelFormat::I420).unwrap();
            n += 1;
            black_box(follower.update(&f, &people).inliers)
        })
    });
}

criterion_group!(benches, tracker_step, nms, payload, ring, preprocess, camera_follow);
criterion_main!(benches);
