//! Following a panning, zooming camera on the bundled demo clip, whose generator knows the true
//! image-to-pitch homography of every frame: the follower starts from frame 1's and is scored
//! on every later frame (drift in metres on the pitch).

use footrackd::frame::{BBox, YuvFrame};
use footrackd::pitch::keypoints::{FitRules, FoundKeypoint, pitch_keypoints};
use footrackd::pitch::{AutoCalibration, AutoRules, AutoSource, CameraFollower, Homography};

use crate::util::{frames, repo_root};

fn truths() -> Vec<Homography> {
    let text = std::fs::read_to_string(repo_root().join("demo/homography.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            Homography::from_row_major(&l.split(',').skip(1).map(|t| t.parse().unwrap()).collect::<Vec<f64>>()).unwrap()
        })
        .collect()
}

fn people(frame: u64) -> Vec<BBox> {
    let gt = std::fs::read_to_string(repo_root().join("demo/gt/gt.txt")).unwrap();
    gt.lines()
        .filter(|l| l.starts_with(&format!("{frame},")))
        .map(|l| {
            let f: Vec<f32> = l.split(',').map(|t| t.parse().unwrap()).collect();
            BBox::from_xywh(f[2], f[3], f[4], f[5])
        })
        .collect()
}

/// Mean distance (m) between where the two homographies put a grid over the visible pitch.
fn drift(a: &Homography, b: &Homography) -> f64 {
    let mut sum = 0.0;
    let mut n = 0;
    for y in (260..=700).step_by(40) {
        for x in (40..=1240).step_by(80) {
            if let (Some(p), Some(q)) = (a.apply_f64(x as f64, y as f64), b.apply_f64(x as f64, y as f64)) {
                sum += ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt();
                n += 1;
            }
        }
    }
    sum / n.max(1) as f64
}

#[test]
fn the_calibration_follows_a_panning_zooming_camera() {
    let truth = truths();
    let total = 250u64; // 10 s
    let mut follower = CameraFollower::new(Some(truth[0]));
    let mut errors = Vec::new();
    let mut trusted = 0;
    for chunk in 0..5 {
        for (i, f) in frames::decode(&repo_root().join("demo/clip.mp4"), chunk * 50, 50).iter().enumerate() {
            let n = chunk * 50 + i as u64;
            let px = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
            let state = follower.update(&px, &people(n + 1));
            if let Some(h) = state.homography {
                trusted += 1;
                errors.push((n, drift(&h, &truth[n as usize])));
            }
        }
    }
    let at = |secs: u64| errors.iter().find(|(n, _)| *n == secs * 25 - 1).map_or(f64::NAN, |e| e.1);
    let camera_moved = drift(&truth[0], &truth[total as usize - 1]);
    eprintln!(
        "camera follow on the demo clip: trusted {trusted}/{total} frames; drift {:.2} m at 2 s, {:.2} m at 5 s, {:.2} m at 10 s, {:.2} m at 20 s, worst {:.2} m (the camera moved by {camera_moved:.1} m of pitch)",
        at(2),
        at(5),
        at(10),
        at(20),
        errors.iter().map(|e| e.1).fold(0.0, f64::max)
    );
    assert_eq!(trusted, total, "a smooth broadcast pan never loses the calibration");
    assert!(camera_moved > 5.0, "the clip really pans");
    assert!(at(10) < 0.1 * camera_moved && at(10) < 3.0, "drift {:.2} m after 10 s", at(10));
}

/// The pitch keypoints a frame whose calibration is `h` shows inside its `size`, as the keypoint
/// model would find them (the demo's pitch y runs the other way).
fn seen_keypoints(h: &Homography, size: (u32, u32)) -> Vec<Option<FoundKeypoint>> {
    let inv = flipped(h).inverse().unwrap();
    let inside = |&(x, y): &(f64, f64)| x >= 0.0 && y >= 0.0 && x < size.0 as f64 && y < size.1 as f64;
    pitch_keypoints(105.0, 68.0)
        .iter()
        .map(|&(x, y)| inv.apply_f64(x, y).filter(inside).map(|(x, y)| FoundKeypoint { x, y, score: 0.9 }))
        .collect()
}

/// `h` with the pitch's y the other way (the keypoint model's pitch against the demo's).
fn flipped(h: &Homography) -> Homography {
    Homography::from_row_major(&[1.0, 0.0, 0.0, 0.0, -1.0, 68.0, 0.0, 0.0, 1.0]).unwrap().after(h).unwrap()
}

/// Several cameras share one keypoint model: a periodic run goes on in the background and its
/// answer comes frames later. Its fit is of the frame it read; brought forward by the motion
/// followed since, it must fit the frame it arrives with, not the one it read.
#[test]
fn a_keypoint_fit_answered_frames_later_is_brought_forward_by_the_camera_motion() {
    let truth = truths();
    let lag = 8;
    let mut auto = AutoCalibration::new(AutoRules { every_frames: 10, fit: FitRules::default() });
    let mut sent: Option<(usize, usize)> = None;
    let (mut late, mut brought, mut stale) = (0, 0.0, 0.0);
    for chunk in 0..3 {
        for (i, f) in frames::decode(&repo_root().join("demo/clip.mp4"), chunk * 50, 50).iter().enumerate() {
            let n = chunk as usize * 50 + i;
            let px = YuvFrame::new(&f.data, f.width, f.height, f.format).unwrap();
            let (size, boxes) = ((f.width, f.height), people(n as u64 + 1));
            let wants = auto.wants_keypoints(&px);
            if wants && !auto.can_wait() {
                auto.finish(&px, &boxes, Some(&seen_keypoints(&truth[n], size))).expect("a clean view is fitted");
            } else if let Some((read, _)) = sent.filter(|&(_, at)| at == n) {
                sent = None;
                let c = auto.finish_late(&px, &boxes, Some(&seen_keypoints(&truth[read], size)));
                let c = c.expect("a followed view stays trusted");
                if c.source == AutoSource::Fitted {
                    late += 1;
                    brought += drift(&c.homography, &flipped(&truth[n]));
                    stale += drift(&flipped(&truth[read]), &flipped(&truth[n]));
                }
            } else {
                auto.finish(&px, &boxes, None).expect("followed between fits");
                if wants {
                    assert!(sent.is_none(), "one run on its way at a time");
                    auto.sent_in_background();
                    sent = Some((n, n + lag));
                }
            }
        }
    }
    let (brought, stale) = (brought / late as f64, stale / late as f64);
    eprintln!(
        "late keypoint fits ({lag} frames): {late} applied, {brought:.3} m from the truth brought forward, {stale:.3} m as read"
    );
    assert!(late >= 10, "the periodic runs went on in the background ({late})");
    assert!(brought < 0.25 && brought < 0.5 * stale, "brought forward {brought:.3} m, as read {stale:.3} m");
    let c = auto.counts();
    assert_eq!(c.fits, late as u64 + 1, "the first fit was made on its frame, the others late");
}
