//! The pitch model and the keypoint fit on real labelled broadcast frames (the Roboflow
//! football-field keypoint set's valid split): a homography fitted to a frame's labelled
//! keypoints must map them to their places on a 105 x 68 m pitch drawn to the laws of the game.
//! A wrong keypoint order or a wrong marking would leave metres, not decimetres.

use footrackd::pitch::keypoints::{FitRules, FoundKeypoint, KEYPOINTS, fit_keypoints, pitch_keypoints};

/// The labelled keypoints of each frame of `split`, in 1280 x 720 pixels.
fn labelled(split: &str) -> Vec<(String, Vec<Option<FoundKeypoint>>)> {
    let dir = super::util::shared_data().join("roboflow-football-field-keypoints").join(split).join("labels");
    let mut out = Vec::new();
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten().collect();
    files.sort_by_key(|e| e.path());
    for f in files {
        let text = std::fs::read_to_string(f.path()).unwrap();
        let v: Vec<f64> = text.split_whitespace().map(|t| t.parse().unwrap()).collect();
        assert_eq!(v.len(), 5 + 3 * KEYPOINTS, "{}", f.path().display());
        let kps = (0..KEYPOINTS)
            .map(|i| {
                let (x, y, vis) = (v[5 + 3 * i], v[6 + 3 * i], v[7 + 3 * i]);
                (vis > 0.0).then_some(FoundKeypoint { x: x * 1280.0, y: y * 720.0, score: 1.0 })
            })
            .collect();
        out.push((f.file_name().to_string_lossy().into_owned(), kps));
    }
    out
}

#[test]
fn labelled_keypoints_of_real_frames_fit_the_laws_pitch_to_decimetres() {
    let frames = labelled("valid");
    assert_eq!(frames.len(), 33);
    let places = pitch_keypoints(105.0, 68.0);
    let mut errors = Vec::new();
    let mut refused = Vec::new();
    for (name, kps) in &frames {
        match fit_keypoints(kps, &FitRules::default()) {
            Ok(fit) => {
                // Every labelled keypoint, outliers included, against its place.
                for (k, p) in kps.iter().zip(places) {
                    if let Some(k) = k {
                        let (x, y) = fit.homography.apply_f64(k.x, k.y).unwrap();
                        errors.push(((x - p.0).powi(2) + (y - p.1).powi(2)).sqrt());
                    }
                }
            }
            Err(e) => refused.push(format!("{name}: {e}")),
        }
    }
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    let p90 = errors[errors.len() * 9 / 10];
    println!(
        "{} frames fitted, {} refused; keypoint error median {median:.2} m, p90 {p90:.2} m",
        frames.len() - refused.len(),
        refused.len()
    );
    assert!(refused.len() <= 3, "refused: {refused:?}");
    assert!(median < 0.5 && p90 < 1.5, "median {median:.2} m, p90 {p90:.2} m");
}

#[test]
fn the_shipped_keypoint_model_is_the_file_its_manifest_describes() {
    let models = super::util::repo_root().join("models");
    let manifest: toml::Table =
        std::fs::read_to_string(models.join("pitch_keypoints_640x384.toml")).unwrap().parse().unwrap();
    let bytes = std::fs::read(models.join("pitch_keypoints_640x384.onnx")).unwrap();
    assert_eq!(manifest["sha256"].as_str(), Some(footrackd::infer::manifest::sha256_hex(&bytes).as_str()));
    assert_eq!(manifest["keypoints"].as_integer(), Some(KEYPOINTS as i64));
    assert!(manifest["training"]["data_license"].as_str().is_some_and(|l| l.contains("CC BY 4.0")));
}
