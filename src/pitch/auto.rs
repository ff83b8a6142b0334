//! Calibration without hand work: the pitch keypoint model runs every few frames and at once
//! after a cut; each plausible fit re-anchors the [`CameraFollower`], which carries the
//! calibration through the frames in between. A cut, or a follower that loses the pitch, makes
//! the calibration untrusted until the next accepted fit: no pitch positions are better than
//! wrong ones. The model itself runs in `infer`; this is the policy and its counts.

use super::follow::CameraFollower;
use super::homography::Homography;
use super::keypoints::{FitRules, FoundKeypoint, KEYPOINTS, KeypointFit, fit_keypoints, pitch_keypoints};
use super::scene_cut::SceneCut;
use crate::frame::{BBox, YuvFrame};

/// When the keypoint model runs and what a fit must meet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoRules {
    /// Frames between keypoint runs while the calibration is followed (1 = every frame).
    pub every_frames: u32,
    /// What a fit must meet to be trusted.
    pub fit: FitRules,
}

/// Where this frame's calibration came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoSource {
    /// A keypoint fit on this very frame.
    Fitted,
    /// Followed from the last fit by image motion.
    Followed,
}

/// A trusted calibration of one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoCalibrated {
    /// Image pixels to pitch metres.
    pub homography: Homography,
    /// Fitted now, or followed since the last fit.
    pub source: AutoSource,
    /// RMS error of the last accepted fit's keypoints, metres.
    pub fit_error_m: f64,
}

/// Counts since start, for health and for measuring.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AutoCounts {
    /// Frames seen.
    pub frames: u64,
    /// Frames with a trusted calibration.
    pub calibrated: u64,
    /// Keypoint runs.
    pub runs: u64,
    /// Fits accepted.
    pub fits: u64,
    /// Scene cuts seen.
    pub cuts: u64,
    /// Frames since the last accepted fit (none yet: `None`).
    pub frames_since_fit: Option<u64>,
    /// RMS error of the last accepted fit, metres.
    pub last_error_m: Option<f64>,
    /// Of accepted fits that found the followed calibration still trusted: how far it had
    /// drifted from the fit (RMS over the fit's keypoints, metres), the last one.
    pub last_drift_m: Option<f64>,
    /// Sum of those drifts, metres.
    pub drift_sum_m: f64,
    /// How many drifts were measured.
    pub drifts: u64,
}

/// The policy and state of automatic calibration for one camera.
#[derive(Debug)]
pub struct AutoCalibration {
    rules: AutoRules,
    cut: SceneCut,
    follower: CameraFollower,
    places: [(f64, f64); KEYPOINTS],
    since_run: u32,
    cut_now: bool,
    current: Option<AutoCalibrated>,
    /// A keypoint run on its way in the background: the followed calibration of the frame it
    /// reads, which brings its fit forward to the frame its answer arrives with.
    pending: Option<Homography>,
    counts: AutoCounts,
}

impl AutoCalibration {
    /// Nothing calibrated yet: the first frame runs the keypoint model.
    pub fn new(rules: AutoRules) -> Self {
        AutoCalibration {
            places: pitch_keypoints(rules.fit.pitch_m.0, rules.fit.pitch_m.1),
            rules,
            cut: SceneCut::default(),
            follower: CameraFollower::new(None),
            since_run: u32::MAX,
            cut_now: false,
            current: None,
            pending: None,
            counts: AutoCounts::default(),
        }
    }

    /// First half of a frame: the scene test. Whether the keypoint model should run on it: on
    /// a cut, while nothing is trusted, and every `every_frames` frames (not while a run is on
    /// its way in the background).
    pub fn wants_keypoints(&mut self, frame: &YuvFrame<'_>) -> bool {
        self.cut_now = self.cut.observe(frame);
        if self.cut_now {
            self.counts.cuts += 1;
            // A run on the view before the cut says nothing of this one.
            self.pending = None;
        } else if self.pending.is_some() {
            return false;
        }
        // Frames since the last run, this one included.
        let waited = self.since_run.saturating_add(1);
        let every = self.rules.every_frames.max(1);
        self.cut_now || waited >= every || self.current.is_none() && waited >= every.div_ceil(2)
    }

    /// Whether this frame's keypoint run may answer frames later, in the background (after
    /// [`AutoCalibration::wants_keypoints`]): while the calibration is trusted and followed,
    /// and not on a cut (the view has no calibration to follow until its own fit).
    pub fn can_wait(&self) -> bool {
        !self.cut_now && self.current.is_some()
    }

    /// After [`AutoCalibration::finish`] of a frame whose keypoint run goes on in the
    /// background: its answer comes to [`AutoCalibration::finish_late`].
    pub fn sent_in_background(&mut self) {
        self.pending = self.current.map(|c| c.homography);
        self.since_run = 0;
    }

    /// As [`AutoCalibration::finish`], with the answer of the run sent in the background
    /// (`None`: it failed): its keypoints are of that earlier frame, and its fit is brought
    /// forward to this one by the camera motion followed since.
    pub fn finish_late(
        &mut self,
        frame: &YuvFrame<'_>,
        people: &[BBox],
        keypoints: Option<&[Option<FoundKeypoint>]>,
    ) -> Option<AutoCalibrated> {
        let then = self.pending.take();
        self.counts.runs += u64::from(keypoints.is_some());
        let fitted = keypoints.and_then(|k| fit_keypoints(k, &self.rules.fit).ok().map(|f| (f, k)));
        let current = self.finish(frame, people, None);
        let (Some((fit, found)), Some(then), Some(now)) = (fitted, then, current) else { return current };
        // This frame to the sent one (through the pitch, as followed), then the sent one's fit.
        let Some(moved) = then.inverse().and_then(|to_then| to_then.after(&now.homography)) else { return current };
        let Some(homography) = fit.homography.after(&moved) else { return current };
        self.count_drift(&then, &fit, found);
        self.follower.rebase(homography);
        self.fitted(KeypointFit { homography, ..fit });
        self.current
    }

    /// Second half: this frame's calibration, from `keypoints` when the model ran on it
    /// (`people`: boxes the follower leaves out). `None` while untrusted.
    pub fn finish(
        &mut self,
        frame: &YuvFrame<'_>,
        people: &[BBox],
        keypoints: Option<&[Option<FoundKeypoint>]>,
    ) -> Option<AutoCalibrated> {
        self.counts.frames += 1;
        if self.cut_now {
            // The view before the cut says nothing of this one.
            self.follower.reset(None);
            self.current = None;
        }
        let fit = keypoints.and_then(|k| {
            self.since_run = 0;
            self.counts.runs += 1;
            fit_keypoints(k, &self.rules.fit).ok().map(|f| (f, k))
        });
        if keypoints.is_none() {
            self.since_run = self.since_run.saturating_add(1);
        }
        match fit {
            Some((fit, found)) => self.accept(frame, people, fit, found),
            None => {
                let followed = self.follower.update(frame, people).homography;
                let error = self.current.map(|c| c.fit_error_m);
                self.current = followed.zip(error).map(|(homography, fit_error_m)| AutoCalibrated {
                    homography,
                    source: AutoSource::Followed,
                    fit_error_m,
                });
            }
        }
        if let Some(n) = self.counts.frames_since_fit.as_mut() {
            *n += 1;
        }
        if self.current.is_some() {
            self.counts.calibrated += 1;
        }
        self.current
    }

    fn accept(&mut self, frame: &YuvFrame<'_>, people: &[BBox], fit: KeypointFit, found: &[Option<FoundKeypoint>]) {
        if let Some(prev) = self.current {
            self.count_drift(&prev.homography, &fit, found);
        }
        self.follower.reset(Some(fit.homography));
        self.follower.update(frame, people);
        self.fitted(fit);
    }

    /// An accepted fit is this frame's calibration.
    fn fitted(&mut self, fit: KeypointFit) {
        self.counts.fits += 1;
        self.counts.frames_since_fit = Some(0);
        self.counts.last_error_m = Some(fit.error_m);
        self.current =
            Some(AutoCalibrated { homography: fit.homography, source: AutoSource::Fitted, fit_error_m: fit.error_m });
    }

    /// How far the followed calibration `prev` had drifted from `fit` (of the same frame), over
    /// the keypoints `found` there.
    fn count_drift(&mut self, prev: &Homography, fit: &KeypointFit, found: &[Option<FoundKeypoint>]) {
        let (mut sum, mut n) = (0.0, 0usize);
        for (k, &(x_m, y_m)) in found.iter().zip(&self.places) {
            let Some(k) = k.filter(|k| k.score >= self.rules.fit.min_score) else { continue };
            let (Some(a), Some(b)) = (prev.apply_f64(k.x, k.y), fit.homography.apply_f64(k.x, k.y)) else {
                continue;
            };
            // Only keypoints the fit agrees with: an outlier says nothing of the drift.
            if (b.0 - x_m).hypot(b.1 - y_m) <= self.rules.fit.inlier_m {
                sum += (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2);
                n += 1;
            }
        }
        if n > 0 {
            let drift = (sum / n as f64).sqrt();
            self.counts.last_drift_m = Some(drift);
            self.counts.drift_sum_m += drift;
            self.counts.drifts += 1;
        }
    }

    /// Counts since start.
    pub fn counts(&self) -> &AutoCounts {
        &self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{PixelFormat, yuv420_bytes};

    /// Image pixels to pitch metres of a camera that sees the left half of the pitch.
    fn camera() -> Homography {
        Homography::from_row_major(&[18.0, -4.0, 0.0, 0.0, 6.0, 120.0, 0.0, -0.004, 1.0]).unwrap().inverse().unwrap()
    }

    fn found(h: &Homography) -> Vec<Option<FoundKeypoint>> {
        let inv = h.inverse().unwrap();
        pitch_keypoints(105.0, 68.0)
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                (i < 13).then(|| {
                    let (px, py) = inv.apply_f64(x, y).unwrap();
                    FoundKeypoint { x: px, y: py, score: 0.9 }
                })
            })
            .collect()
    }

    #[test]
    fn a_fit_is_trusted_a_lost_view_is_not_and_keypoints_run_again_soon() {
        let (w, h) = (640, 360);
        let grey = vec![100u8; yuv420_bytes(w, h)];
        let frame = YuvFrame::new(&grey, w, h, PixelFormat::I420).unwrap();
        let mut auto = AutoCalibration::new(AutoRules { every_frames: 10, fit: FitRules::default() });
        assert!(auto.wants_keypoints(&frame), "nothing calibrated yet: the first frame runs the model");
        let kps = found(&camera());
        let c = auto.finish(&frame, &[], Some(&kps)).expect("a clean view is fitted");
        assert_eq!(c.source, AutoSource::Fitted);
        assert!(c.fit_error_m < 0.01);
        // A flat grey frame has nothing to follow: the calibration is no longer trusted.
        assert!(!auto.wants_keypoints(&frame));
        assert_eq!(auto.finish(&frame, &[], None), None);
        // Untrusted, the model runs again after half the interval (the fifth frame after the last
        // run), not the whole of it.
        let mut waited = 1;
        while !auto.wants_keypoints(&frame) {
            auto.finish(&frame, &[], None);
            waited += 1;
        }
        assert_eq!(waited, 4);
        let refused: Vec<Option<FoundKeypoint>> = vec![None; KEYPOINTS];
        assert_eq!(auto.finish(&frame, &[], Some(&refused)), None, "too few keypoints: no fit");
        let c = auto.counts();
        assert_eq!((c.runs, c.fits, c.frames, c.calibrated), (2, 1, 2 + waited, 1));
    }
}
