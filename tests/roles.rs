//! The role model on real decoded frames of the demo clip, whose ground truth is exact: its
//! referee and players (kits cut from real broadcast frames) told apart on their crops.

use std::collections::HashMap;

use footrackd::config::{RawConfig, validate};
use footrackd::frame::{Detection, ObjectClass};
use footrackd::infer::pre::YuvFrame;
use footrackd::infer::{Detector, RoleClassifier};

use crate::util::{frames, iou, repo_root};

/// The demo clip's people per frame (1-based, as gt.txt): role and `[x1, y1, x2, y2]`.
fn ground_truth() -> HashMap<u64, Vec<(ObjectClass, [f32; 4])>> {
    let text = std::fs::read_to_string(repo_root().join("demo/gt/gt.txt")).unwrap();
    let mut gt: HashMap<u64, Vec<(ObjectClass, [f32; 4])>> = HashMap::new();
    for line in text.lines() {
        let v: Vec<f32> = line.split(',').map(|x| x.parse().unwrap()).collect();
        let role = match v[7] as u32 {
            1 => ObjectClass::Player,
            2 => ObjectClass::Goalkeeper,
            3 => ObjectClass::Referee,
            _ => continue,
        };
        gt.entry(v[0] as u64).or_default().push((role, [v[2], v[3], v[2] + v[4], v[3] + v[5]]));
    }
    gt
}

/// Per labelled role: how many of its people (matched at IoU 0.5) got each role.
type Confusion = HashMap<(ObjectClass, ObjectClass), usize>;

fn count(conf: &mut Confusion, dets: &[Detection], truth: &[(ObjectClass, [f32; 4])]) {
    for (role, b) in truth {
        let best = dets
            .iter()
            .filter(|d| d.class.is_person() && d.score >= 0.25)
            .map(|d| (iou(&[d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2], b), d.class))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((overlap, class)) = best
            && overlap >= 0.5
        {
            *conf.entry((*role, class)).or_default() += 1;
        }
    }
}

/// The share of `role`'s matched people given `role`.
fn recall(conf: &Confusion, role: ObjectClass) -> (f64, usize) {
    let all: usize = conf.iter().filter(|((r, _), _)| *r == role).map(|(_, n)| n).sum();
    (conf.get(&(role, role)).copied().unwrap_or(0) as f64 / all.max(1) as f64, all)
}

#[test]
fn the_role_model_tells_the_referee_from_the_players_where_the_detector_alone_does_not() {
    let mut raw = RawConfig::default();
    raw.infer.model = repo_root().join("models/football_nano_1280x736.onnx").display().to_string();
    raw.infer.role_model = repo_root().join("models/roles_32x64.onnx").display().to_string();
    raw.infer.ball_focus_regions = 0;
    raw.infer.ball_finder_model = String::new();
    raw.infer.threads = 2;
    let cfg = validate(raw, false).unwrap();
    let mut detector = Detector::new(cfg.detector_options()).unwrap();
    let mut roles = RoleClassifier::new(cfg.role_options().expect("the role model is on")).unwrap();
    let gt = ground_truth();
    let (mut alone, mut looked) = (Confusion::new(), Confusion::new());
    let mut dets = Vec::new();
    // Every 25th frame of the 20 s clip: the referee is in view in most of them.
    for (i, f) in frames::decode(&repo_root().join("demo/clip.mp4"), 0, 500).iter().enumerate().step_by(25) {
        let yuv = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
        detector.detect(&yuv, &mut dets).unwrap();
        let truth = &gt[&(i as u64 + 1)];
        count(&mut alone, &dets, truth);
        let people = dets.iter().filter(|d| d.class.is_person()).count();
        assert_eq!(roles.classify(&yuv, &mut dets).unwrap(), people, "every person looked at");
        assert_eq!(roles.confidence().len(), dets.len());
        count(&mut looked, &dets, truth);
    }
    let (referee, refs) = recall(&looked, ObjectClass::Referee);
    let (player, players) = recall(&looked, ObjectClass::Player);
    let (referee_alone, _) = recall(&alone, ObjectClass::Referee);
    eprintln!(
        "roles: referee {referee:.2} of {refs}, player {player:.2} of {players}; detector alone: referee {referee_alone:.2}"
    );
    assert!(refs >= 10 && players >= 200, "too few people matched: {looked:?}");
    assert!(referee >= 0.9, "the referee called referee in {referee:.2} of frames: {looked:?}");
    assert!(player >= 0.95, "players called players {player:.2}: {looked:?}");
    // The detector alone calls the referee a player: the role model is what tells him apart.
    assert!(referee_alone < referee, "{alone:?}");
}
