//! The GPU path on a real GPU (build with `--features cuda`; run on the GPU machine, see
//! docs/gpu.md). They are `#[ignore]`d, so a build without a GPU reports them as ignored rather
//! than passed; `--ignored` runs them, and then a missing GPU or input is a failure.

use footrackd::config::{self, RawConfig};
use footrackd::frame::PixelFormat;
use footrackd::infer::pre::{Preprocessor, Region, YuvFrame};
use footrackd::infer::{Detector, Device, GpuInput, Provider};

const NEEDS_GPU: &str = "needs an NVIDIA GPU: run with --ignored on the GPU machine (scripts/gpu/)";

fn gpu() -> footrackd::gpu::Gpu {
    footrackd::gpu::Gpu::try_new(0).unwrap_or_else(|e| panic!("{NEEDS_GPU}: {e}"))
}

/// A deterministic 4:2:0 test frame with gradients, edges and noise.
fn frame(w: u32, h: u32, format: PixelFormat) -> Vec<u8> {
    let mut d = vec![0u8; footrackd::frame::yuv420_bytes(w, h)];
    let (wu, hu) = (w as usize, h as usize);
    let mut s = 12345u32;
    for y in 0..hu {
        for x in 0..wu {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            d[y * wu + x] = ((x * 255 / wu) as u32 ^ ((y / 16) as u32 * 37) ^ (s >> 28)) as u8;
        }
    }
    let (cw, ch) = (wu.div_ceil(2), hu.div_ceil(2));
    for y in 0..ch {
        for x in 0..cw {
            let (u, v) = ((x * 255 / cw) as u8, (255 - y * 255 / ch) as u8);
            match format {
                PixelFormat::I420 => {
                    d[wu * hu + y * cw + x] = u;
                    d[wu * hu + cw * ch + y * cw + x] = v;
                }
                PixelFormat::Nv12 => {
                    d[wu * hu + y * cw * 2 + x * 2] = u;
                    d[wu * hu + y * cw * 2 + x * 2 + 1] = v;
                }
            }
        }
    }
    d
}

fn cfg(providers: &[Provider]) -> config::Config {
    let mut raw = RawConfig::default();
    raw.infer.model = "models/yolox_nano.onnx".into();
    // The COCO model sees small players only in tiles (the football model's default is the
    // whole frame): 2x2 tiles plus the whole frame, as the tests of the CPU path use.
    (raw.infer.tile_columns, raw.infer.tile_rows, raw.infer.full_frame) = (2, 2, true);
    raw.infer.providers = providers.to_vec();
    raw.infer.gpu_preprocess = true;
    // The ball's second look and the ball finder run their own calls: calls counted here are the
    // detector's alone.
    raw.infer.ball_focus_regions = 0;
    raw.infer.ball_finder_model = String::new();
    config::validate(raw, false).unwrap()
}

#[test]
#[ignore = "needs an NVIDIA GPU: run with --ignored on the GPU machine (scripts/gpu/)"]
fn gpu_letterbox_equals_the_cpu_path_within_tolerance_for_i420_and_nv12_mapped_and_copied() {
    let gpu = gpu();
    let c = cfg(&[Provider::Cuda, Provider::Cpu]);
    let mut det = Detector::new(c.detector_options()).unwrap();
    assert_eq!(det.preprocess_device(), Device::Gpu, "GPU pre-processing did not start");
    let mut cpu = Preprocessor::new(&c.manifest);
    let (w, h) = (1920u32, 1080u32);
    let mut worst = 0.0f32;
    for format in [PixelFormat::I420, PixelFormat::Nv12] {
        let data = frame(w, h, format);
        let mut pinned = footrackd::gpu::PinnedBuffer::new(&gpu, data.len()).unwrap();
        assert!(pinned.set_len(data.len()));
        pinned.as_mut_slice().copy_from_slice(&data);
        for region in [
            Region { x: 0, y: 0, w, h },
            Region { x: 700, y: 300, w: 1104, h: 621 },
            Region { x: 1800, y: 1000, w: 500, h: 500 },
        ] {
            let yuv = YuvFrame::new(&data, w, h, format).unwrap();
            let mut want = vec![0.0f32; cpu.input_len()];
            let lb_cpu = cpu.fill(&yuv, region, &mut want);
            for mode in [GpuInput::Copy, GpuInput::Mapped] {
                det.set_gpu_input(mode);
                let yuv =
                    YuvFrame::new(pinned.as_slice(), w, h, format).unwrap().with_device(Some(pinned.device_ptr()));
                let mut got = vec![0.0f32; cpu.input_len()];
                let lb_gpu = det.letterbox_on_gpu(&yuv, region, &mut got).unwrap();
                assert_eq!(lb_cpu, lb_gpu);
                let diff = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                worst = worst.max(diff);
                assert!(diff <= 0.05, "{format:?} {region:?} {mode:?}: max |cpu - gpu| = {diff}");
            }
        }
    }
    eprintln!("GPU vs CPU letterbox: max abs difference {worst} (pixel values 0..255)");
}

#[test]
#[ignore = "needs an NVIDIA GPU: run with --ignored on the GPU machine (scripts/gpu/)"]
fn gpu_and_cpu_detectors_agree_on_a_frame() {
    let _gpu = gpu();
    let mut cpu = Detector::new(cfg(&[Provider::Cpu]).detector_options()).unwrap();
    let mut gpu_det = Detector::new(cfg(&[Provider::Cuda, Provider::Cpu]).detector_options()).unwrap();
    assert_eq!(gpu_det.provider(), Provider::Cuda);
    // A real frame: the first frame of the demo clip, decoded here by the test's own pipeline,
    // is not available without GStreamer; a saved raw frame is used when present.
    let path = std::path::Path::new(".device/frame_1280x720.i420");
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} (scripts/gpu/prepare.sh writes it)", path.display()));
    let yuv = YuvFrame::new(&data, 1280, 720, PixelFormat::I420).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    cpu.detect(&yuv, &mut a).unwrap();
    gpu_det.detect(&yuv, &mut b).unwrap();
    eprintln!("CPU found {} objects, GPU {}", a.len(), b.len());
    assert!(a.len() >= 5, "too few detections to compare");
    let matched = a.iter().filter(|d| b.iter().any(|e| e.class == d.class && e.bbox.iou(&d.bbox) > 0.9)).count();
    assert!(matched as f64 >= 0.9 * a.len() as f64, "only {matched} of {} CPU detections have a GPU twin", a.len());
}

#[test]
#[ignore = "needs an NVIDIA GPU: run with --ignored on the GPU machine (scripts/gpu/)"]
fn a_held_batch_shape_pads_calls_on_the_gpu_and_finds_what_unpadded_calls_find() {
    let _gpu = gpu();
    let c = cfg(&[Provider::Cuda, Provider::Cpu]);
    let (mut plain, mut held) =
        (Detector::new(c.detector_options()).unwrap(), Detector::new(c.detector_options()).unwrap());
    assert!(held.hold_batch_shape(4), "a CUDA detector holds its batch shape");
    let path = std::path::Path::new(".device/frame_1280x720.i420");
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} (scripts/gpu/prepare.sh writes it)", path.display()));
    let yuv = YuvFrame::new(&data, 1280, 720, PixelFormat::I420).unwrap();
    let mut want = Vec::new();
    plain.detect(&yuv, &mut want).unwrap();
    assert!(want.len() >= 5, "too few detections to compare");
    // One frame, then three: both calls carry four frames' regions (5 each), one shape.
    for frames in [1usize, 3, 1] {
        let many: Vec<_> = (0..frames).map(|_| yuv).collect();
        let mut outs = vec![Vec::new(); frames];
        let t = held.detect_many(&many, &mut outs).unwrap();
        assert_eq!((t.runs, t.images), (1, 20), "{frames} frame(s): one call at the held shape");
        for got in &outs {
            let matched =
                want.iter().filter(|d| got.iter().any(|e| e.class == d.class && e.bbox.iou(&d.bbox) > 0.95)).count();
            assert!(
                matched as f64 >= 0.95 * want.len() as f64,
                "{frames} frame(s): {matched} of {} matched",
                want.len()
            );
        }
    }
}

#[test]
#[ignore = "needs an NVIDIA GPU: run with --ignored on the GPU machine (scripts/gpu/)"]
fn the_ball_finder_letterboxes_on_the_gpu_and_finds_what_it_finds_on_the_cpu() {
    let _gpu = gpu();
    let finder = |providers: &[Provider]| {
        let mut raw = RawConfig::default();
        raw.infer.ball_finder_model = "models/ball_finder.onnx".into();
        raw.infer.providers = providers.to_vec();
        let c = config::validate(raw, false).unwrap();
        footrackd::infer::BallFinder::new(c.ball_finder_options().expect("the ball finder is on")).unwrap()
    };
    let (mut cpu, mut gpu_finder) = (finder(&[Provider::Cpu]), finder(&[Provider::Cuda, Provider::Cpu]));
    assert_eq!(gpu_finder.provider(), Provider::Cuda);
    let path = std::path::Path::new(".device/frame_1280x720.i420");
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} (scripts/gpu/prepare.sh writes it)", path.display()));
    let yuv = YuvFrame::new(&data, 1280, 720, PixelFormat::I420).unwrap();
    let big = frame(1920, 1080, PixelFormat::I420);
    let big = YuvFrame::new(&big, 1920, 1080, PixelFormat::I420).unwrap();
    // The real frame, another size (the GPU buffers are made again), then the real frame again.
    for (i, f) in [yuv, big, yuv].iter().enumerate() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        cpu.find(f, &mut a, 0.05).unwrap();
        gpu_finder.find(f, &mut b, 0.05).unwrap();
        eprintln!("frame {i}: CPU found {} balls, GPU {}", a.len(), b.len());
        for d in a.iter().filter(|d| d.score >= 0.1) {
            let (cx, cy) = d.bbox.center();
            let twin = b.iter().any(|e| {
                let (ex, ey) = e.bbox.center();
                (ex - cx).hypot(ey - cy) <= 2.0 && (e.score - d.score).abs() <= 0.05
            });
            assert!(twin, "frame {i}: the CPU's ball {d:?} has no GPU twin in {b:?}");
        }
        if i != 1 {
            assert!(a.iter().any(|d| d.score >= 0.1), "the demo frame shows a ball the finder sees");
        }
    }
    // The same frame kept in GPU memory (as the decoder keeps it): read in place, the same balls.
    let gpu = gpu();
    let mut device = footrackd::gpu::DeviceBuffer::new(&gpu, data.len()).unwrap();
    device.copy_from_host(0, &data).unwrap();
    let layout = footrackd::frame::PlaneLayout::packed(1280, 720, PixelFormat::I420);
    let on_gpu = YuvFrame::on_device(device.device_ptr(), 1280, 720, PixelFormat::I420, layout).unwrap();
    assert!(!on_gpu.on_host());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    gpu_finder.find(&yuv, &mut a, 0.05).unwrap();
    gpu_finder.find(&on_gpu, &mut b, 0.05).unwrap();
    assert!(!a.is_empty());
    let same = a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| x.bbox.iou(&y.bbox) > 0.99 && (x.score - y.score).abs() < 1e-3);
    assert!(same, "a frame in GPU memory gives what its host copy gives: {a:?} vs {b:?}");
    assert!(cpu.find(&on_gpu, &mut b, 0.05).is_err(), "the CPU finder says it cannot read GPU memory");
    // Several frames at once (a shared detector's cameras), four a call (the shipped manifest
    // says one): five make a call of four, then one; each frame gets what it gets alone, the
    // frame in GPU memory beside host frames.
    let mut raw = RawConfig::default();
    raw.infer.ball_finder_model = "models/ball_finder.onnx".into();
    raw.infer.providers = vec![Provider::Cuda, Provider::Cpu];
    let mut opts = config::validate(raw, false).unwrap().ball_finder_options().expect("the ball finder is on");
    opts.manifest.max_batch = 4;
    let mut batched = footrackd::infer::BallFinder::new(opts).unwrap();
    let mut outs = vec![Vec::new(); 5];
    batched.find_many(&[on_gpu, yuv, on_gpu, yuv, on_gpu], &mut outs, 0.05).unwrap();
    for (i, out) in outs.iter().enumerate() {
        let same = out.len() == a.len()
            && out.iter().zip(&a).all(|(x, y)| x.bbox.iou(&y.bbox) > 0.99 && (x.score - y.score).abs() < 1e-3);
        assert!(same, "frame {i} of five gives what it gives alone: {out:?} vs {a:?}");
    }
}
