//! The synthetic clip generator: ground truth consistency, determinism, detectability, and the
//! whole daemon scored against the ground truth.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use footrackd::frame::{BBox, PixelFormat};
use footrackd::infer::pre::YuvFrame;
use footrackd::infer::{Detector, DetectorOptions};
use footrackd_synth::camera::{apply, invert};
use footrackd_synth::motion::Role;
use footrackd_synth::{Scene, SynthOptions, generate};

// The daemon's own test harness: a real mosquitto, an MQTT recorder, daemon runs.
#[path = "../../../tests/util/mod.rs"]
#[allow(dead_code)] // Not every helper of the shared harness is used here.
mod util;

use util::broker::Broker;
use util::recorder::Recorder;
use util::{daemon, repo_root, shared_data};

fn options(out: &Path, seed: u64, seconds: f32, width: u32, height: u32, video: bool) -> SynthOptions {
    SynthOptions {
        out_dir: out.to_path_buf(),
        seed,
        seconds,
        fps: 25,
        width,
        height,
        dataset: shared_data().join("roboflow-football-players-detection"),
        tracab: None,
        bitrate_kbps: 1200,
        video,
    }
}

/// gt.txt rows: frame -> [(id, box, class, visibility)].
pub fn read_gt(path: &Path) -> HashMap<u32, Vec<(u32, BBox, u32, f32)>> {
    let mut out: HashMap<u32, Vec<(u32, BBox, u32, f32)>> = HashMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let v: Vec<f32> = line.split(',').map(|t| t.parse().unwrap()).collect();
        out.entry(v[0] as u32).or_default().push((
            v[1] as u32,
            BBox::from_xywh(v[2], v[3], v[4], v[5]),
            v[7] as u32,
            v[8],
        ));
    }
    out
}

#[test]
fn ground_truth_is_self_consistent_pitch_positions_project_onto_box_feet() {
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), 3, 3.0, 1280, 720, false)).unwrap();
    let gt = read_gt(&dir.path().join("gt/gt.txt"));
    let mut pitch: HashMap<(u32, u32), (f64, f64)> = HashMap::new();
    for line in std::fs::read_to_string(dir.path().join("pitch.csv")).unwrap().lines().skip(1) {
        let v: Vec<&str> = line.split(',').collect();
        pitch.insert((v[0].parse().unwrap(), v[1].parse().unwrap()), (v[4].parse().unwrap(), v[5].parse().unwrap()));
    }
    let mut checked = 0;
    for line in std::fs::read_to_string(dir.path().join("homography.csv")).unwrap().lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|t| t.parse().unwrap()).collect();
        let frame = v[0] as u32;
        let img_to_pitch = [[v[1], v[2], v[3]], [v[4], v[5], v[6]], [v[7], v[8], v[9]]];
        let pitch_to_img = invert(&img_to_pitch).unwrap();
        for (id, b, class, vis) in gt.get(&frame).into_iter().flatten() {
            // Whole, unclipped people only: their box bottom-centre is where they stand.
            if *class == 4 || *vis < 0.99 || b.x1 <= 0.5 || b.y1 <= 0.5 || b.x2 >= 1279.5 || b.y2 >= 719.5 {
                continue;
            }
            let (x, y) = pitch[&(frame, *id)];
            let (u, v) = apply(&pitch_to_img, x, y).unwrap();
            let (fu, fv) = b.foot();
            assert!(
                (u - fu as f64).abs() < 1.5 && (v - fv as f64).abs() < 1.5,
                "frame {frame} id {id}: projected ({u:.1},{v:.1}) vs box foot ({fu:.1},{fv:.1})"
            );
            // And back: the box foot maps to the pitch position within a few centimetres per pixel of error.
            let (px, py) = apply(&img_to_pitch, fu as f64, fv as f64).unwrap();
            assert!((px - x).abs() < 0.5 && (py - y).abs() < 0.5, "frame {frame} id {id}");
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} boxes checked");
}

#[test]
fn generation_is_deterministic_for_a_seed() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    generate(&options(a.path(), 11, 2.0, 640, 360, true)).unwrap();
    generate(&options(b.path(), 11, 2.0, 640, 360, true)).unwrap();
    generate(&options(c.path(), 12, 2.0, 640, 360, false)).unwrap();
    for f in ["gt/gt.txt", "pitch.csv", "homography.csv", "meta.json"] {
        let same = std::fs::read(a.path().join(f)).unwrap() == std::fs::read(b.path().join(f)).unwrap();
        assert!(same, "{f} differs between runs");
    }
    // The MP4 header carries the creation time; the coded video (the mdat box) must be identical.
    let (va, vb) = (mdat(&a.path().join("clip.mp4")), mdat(&b.path().join("clip.mp4")));
    assert!(va.len() > 10_000, "no video data");
    assert!(va == vb, "the coded video differs between runs");
    assert_ne!(std::fs::read(a.path().join("gt/gt.txt")).unwrap(), std::fs::read(c.path().join("gt/gt.txt")).unwrap());
    let meta = std::fs::read_to_string(a.path().join("meta.json")).unwrap();
    assert!(meta.contains("CC BY 4.0"), "credits missing from meta.json");
}

/// The payload of the top-level `mdat` box of an MP4 file.
fn mdat(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if &bytes[at + 4..at + 8] == b"mdat" {
            return bytes[at + 8..(at + size).min(bytes.len())].to_vec();
        }
        if size < 8 {
            break;
        }
        at += size;
    }
    Vec::new()
}

fn model_options() -> DetectorOptions {
    let mut raw = footrackd::config::RawConfig::default();
    raw.infer.model = repo_root().join("models/yolox_nano.onnx").display().to_string();
    raw.pitch.keypoint_model = repo_root().join("models/pitch_keypoints_640x384.onnx").display().to_string();
    raw.infer.ball_focus_model = repo_root().join("models/football_nano_320.onnx").display().to_string();
    raw.infer.role_model = repo_root().join("models/roles_32x64.onnx").display().to_string();
    raw.infer.ball_check_model = repo_root().join("models/ball_check_32.onnx").display().to_string();
    raw.infer.ball_finder_model = repo_root().join("models/ball_finder.onnx").display().to_string();
    (raw.infer.tile_columns, raw.infer.tile_rows, raw.infer.full_frame) = (2, 2, true);
    footrackd::config::validate(raw, false).unwrap().detector_options()
}

/// Greedy IoU matching; returns how many of `truth` are matched.
fn matched(truth: &[BBox], found: &[BBox], min_iou: f32) -> usize {
    let mut used = vec![false; found.len()];
    let mut n = 0;
    for t in truth {
        let best = found
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, f)| (i, t.iou(f)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, iou)) = best
            && iou >= min_iou
        {
            used[i] = true;
            n += 1;
        }
    }
    n
}

#[test]
fn the_shipped_detector_finds_most_visible_players_in_generated_frames() {
    let dir = tempfile::tempdir().unwrap();
    let mut scene = Scene::new(&options(dir.path(), 5, 8.0, 1280, 720, false)).unwrap();
    let mut detector = Detector::new(model_options()).unwrap();
    let (mut truth_n, mut found_n) = (0usize, 0usize);
    let mut i420 = Vec::new();
    let mut dets = Vec::new();
    for f in 0..100 {
        let truth = scene.next_frame();
        if f % 10 != 9 {
            continue;
        }
        scene.i420(&mut i420);
        let yuv = YuvFrame::new(&i420, 1280, 720, PixelFormat::I420).unwrap();
        detector.detect(&yuv, &mut dets).unwrap();
        let people: Vec<BBox> = truth
            .boxes
            .iter()
            .filter(|b| truth.entities[b.entity].role != Role::Ball && b.visibility >= 0.5)
            .map(|b| BBox::from_xywh(b.x, b.y, b.w, b.h))
            .collect();
        let found: Vec<BBox> = dets.iter().filter(|d| d.class.is_person()).map(|d| d.bbox).collect();
        truth_n += people.len();
        found_n += matched(&people, &found, 0.3);
    }
    let recall = found_n as f64 / truth_n.max(1) as f64;
    eprintln!("synthetic frames: detector recall {:.3} ({found_n}/{truth_n})", recall);
    assert!(truth_n > 100);
    assert!(recall >= 0.8, "detector recall on generated frames {recall:.3}: cut-outs or scale are wrong");
}

/// Scores a daemon run's track messages against gt.txt: recall of visible people and id switches.
pub fn score_tracks(gt: &HashMap<u32, Vec<(u32, BBox, u32, f32)>>, messages: &[String]) -> (f64, usize, usize) {
    let mut last_track_of: HashMap<u32, u64> = HashMap::new();
    let (mut truth_n, mut hit_n, mut switches) = (0usize, 0usize, 0usize);
    for m in messages {
        let v: serde_json::Value = serde_json::from_str(m).unwrap();
        let frame = v["frame"].as_u64().unwrap() as u32 + 1;
        let tracks: Vec<(u64, BBox)> = v["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["class"] != "ball")
            .map(|t| {
                let b = &t["box"];
                (
                    t["id"].as_u64().unwrap(),
                    BBox {
                        x1: b[0].as_f64().unwrap() as f32,
                        y1: b[1].as_f64().unwrap() as f32,
                        x2: b[2].as_f64().unwrap() as f32,
                        y2: b[3].as_f64().unwrap() as f32,
                    },
                )
            })
            .collect();
        let mut used = vec![false; tracks.len()];
        for (id, b, class, vis) in gt.get(&frame).into_iter().flatten() {
            if *class == 4 || *vis < 0.5 {
                continue;
            }
            truth_n += 1;
            let best = tracks
                .iter()
                .enumerate()
                .filter(|(i, _)| !used[*i])
                .map(|(i, t)| (i, b.iou(&t.1)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, iou)) = best
                && iou >= 0.3
            {
                used[i] = true;
                hit_n += 1;
                let tid = tracks[i].0;
                if let Some(prev) = last_track_of.insert(*id, tid)
                    && prev != tid
                {
                    switches += 1;
                }
            }
        }
    }
    (hit_n as f64 / truth_n.max(1) as f64, switches, last_track_of.len())
}

#[test]
fn daemon_on_a_generated_clip_scores_well_against_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    generate(&options(dir.path(), 21, 8.0, 1280, 720, true)).unwrap();
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-synth/tracks");
    let clip: PathBuf = dir.path().join("clip.mp4");
    let cfg = daemon::write_config(dir.path(), &daemon::offline_config(&clip, broker.port, "t-synth"));
    let out = daemon::run(&["run", "-c", cfg.to_str().unwrap(), "--no-env"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        rec.wait_for(Duration::from_secs(5), |m| m.len() >= 200),
        "expected 200 track messages, got {}",
        rec.messages().len()
    );
    let gt = read_gt(&dir.path().join("gt/gt.txt"));
    let payloads: Vec<String> = rec.messages().into_iter().map(|m| m.payload).collect();
    let (recall, switches, ids) = score_tracks(&gt, &payloads);
    eprintln!("synthetic clip end to end: recall {recall:.3}, {switches} id switches over {ids} ground-truth ids");
    // Measured: recall 0.74 and 39 switches for 18 people over 8 s (see docs/synth.md).
    // A tracker that loses identities (fresh ids every few frames) makes hundreds of switches.
    assert!(recall >= 0.6, "recall {recall:.3}");
    assert!(switches as f64 <= ids as f64 * 3.0, "{switches} id switches for {ids} people");
}
