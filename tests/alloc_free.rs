//! The per-frame hot path allocates nothing once warm: checked with a counting allocator.
//! (A separate test binary, so no other test's allocations are counted.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use footrackd::ring::OverflowPolicy;
use footrackd::frame::{FrameMeta, PixelFormat};
use footrackd::infer::manifest::ModelManifest;
use footrackd::infer::post::{decode_yolox, nms_in_place};
use footrackd::infer::pre::{Preprocessor, Region, YuvFrame};
use footrackd::publish::payload::{TrackMessageHeader, encode_tracks};
use footrackd::ring::FrameRing;
use footrackd::track::{Tracker, TrackerOptions};

#[path = "support/scene.rs"]
mod scene;
use scene::SyntheticScene;

struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_frame_work_allocates_nothing() {
    let manifest = ModelManifest::parse(&std::fs::read_to_string("models/yolox_nano.toml").unwrap()).unwrap();
    let table = manifest.class_table();
    let mut pre = Preprocessor::new(&manifest);
    let (w, h) = (1280u32, 720u32);
    let ring = FrameRing::new(4, footrackd::frame::yuv420_bytes(w, h), OverflowPolicy::DropOldest);
    let mut input = vec![0.0f32; pre.input_len()];
    // A model output with a few confident rows, as the detector would hand over.
    let cols = 5 + manifest.num_classes;
    let mut output = vec![0.0f32; 3549 * cols];
    for r in (0..3549).step_by(150) {
        output[r * cols + 4] = 0.9;
        output[r * cols + 5] = 0.9;
    }
    let mut scene = SyntheticScene::new(30, w as f32, h as f32, 3);
    let mut tracker = Tracker::new(TrackerOptions::default());
    let mut dets = Vec::with_capacity(1024);
    let mut raw = Vec::with_capacity(1024);
    let mut payload = String::with_capacity(16 * 1024);

    let mut one_frame = |n: u64| {
        let mut slot = ring.acquire().unwrap();
        let s = slot.slot();
        s.data.resize(footrackd::frame::yuv420_bytes(w, h)).unwrap();
        s.data.fill(128);
        s.meta = FrameMeta { number: n, width: w, height: h, ..Default::default() };
        s.format = PixelFormat::I420;
        slot.publish();
        let frame = ring.take().unwrap();
        let yuv = YuvFrame::new(&frame.slot().data, w, h, PixelFormat::I420).unwrap();
        pre.fill(&yuv, Region { x: 0, y: 0, w: w / 2, h: h / 2 }, &mut input);
        raw.clear();
        decode_yolox(&output, 416, 416, &manifest.strides, &table, 0.3, &mut raw);
        nms_in_place(&mut raw, 0.5);
        scene.next_frame(&mut dets);
        let tracks = tracker.step(1.0, &dets);
        encode_tracks(&mut payload, TrackMessageHeader { device: "d", source: "s", publish_unix_ns: n }, &frame.slot().meta, tracks, &[]);
    };
    for n in 0..50 {
        one_frame(n);
    }
    let before = ALLOCATIONS.load(Relaxed);
    for n in 50..550 {
        one_frame(n);
    }
    let allocated = ALLOCATIONS.load(Relaxed) - before;
    assert_eq!(allocated, 0, "{allocated} allocations in 500 steady-state frames");
}
