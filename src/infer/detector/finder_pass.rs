//! The ball finder's pass over the frames the detector has just detected on: its balls join the
//! detector's, and a failing finder leaves the detector's balls (said once, and on recovery).

use std::time::Instant;

use super::super::ball_finder::BallFinder;
use super::super::options::GpuInput;
use crate::frame::{Detection, YuvFrame};

/// The ball finder and whether it failed last (said once, and again when it recovers).
pub(super) struct FinderPass {
    finder: Box<BallFinder>,
    failing: bool,
}

impl FinderPass {
    pub(super) fn new(finder: BallFinder) -> Self {
        FinderPass { finder: Box::new(finder), failing: false }
    }

    /// How frames reach the GPU (see `Detector::set_gpu_input`).
    pub(super) fn set_gpu_input(&mut self, mode: GpuInput) {
        self.finder.set_gpu_input(mode);
    }

    /// Adds the balls found in `frames` (one size) to `outs`, those scoring at least `min_score`;
    /// returns the seconds it took. A failing finder leaves the detector's balls: the frames go on.
    pub(super) fn run(&mut self, frames: &[YuvFrame<'_>], outs: &mut [Vec<Detection>], min_score: f32) -> f64 {
        let started = Instant::now();
        let found = self.finder.find_many(frames, outs, min_score);
        let secs = started.elapsed().as_secs_f64();
        tracing::trace!(frames = frames.len(), ms = secs * 1e3, "Ball finder run.");
        match (found, self.failing) {
            (Err(e), false) => {
                tracing::warn!(error = %e, "The ball finder failed; the detector's balls stand until it works again.");
                self.failing = true;
            }
            (Ok(_), true) => {
                tracing::info!("The ball finder works again.");
                self.failing = false;
            }
            _ => {}
        }
        secs
    }
}
