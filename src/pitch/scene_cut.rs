//! A scene-change test: a broadcast cuts from one camera to another every few seconds, and a
//! calibration carried from the last view is then wrong at once. Each frame's colour
//! distribution (luma and chroma histograms over a sparse grid of samples) is compared with the
//! last frame's: a pan or a zoom moves pixels around but keeps the distribution, a cut changes it.

use crate::frame::YuvFrame;

/// Samples across and down the frame.
const GRID_X: u32 = 96;
const GRID_Y: u32 = 54;
/// Bins of the luma histogram and of each chroma histogram.
const LUMA_BINS: usize = 32;
const CHROMA_BINS: usize = 16;
const BINS: usize = LUMA_BINS + 2 * CHROMA_BINS;

/// Histogram distance (half the L1 distance of the normalised histograms, each of the three
/// counted alike: 0 same, 1 disjoint) above which two frames are of different scenes.
pub(super) const CUT_DISTANCE: f32 = 0.35;

/// Compares each frame with the one before it.
#[derive(Debug, Clone)]
pub struct SceneCut {
    last: [u32; BINS],
    cur: [u32; BINS],
    have_last: bool,
    threshold: f32,
    /// The distance of the last frame to the one before it.
    pub last_distance: f32,
}

impl Default for SceneCut {
    fn default() -> Self {
        SceneCut::new(CUT_DISTANCE)
    }
}

impl SceneCut {
    /// A test that calls frames further apart than `threshold` a cut.
    pub fn new(threshold: f32) -> Self {
        SceneCut { last: [0; BINS], cur: [0; BINS], have_last: false, threshold, last_distance: 0.0 }
    }

    /// Whether `frame` (on the host) starts a new scene; the first frame does not.
    pub fn observe(&mut self, frame: &YuvFrame<'_>) -> bool {
        self.cur = [0; BINS];
        let mut samples = 0u32;
        for gy in 0..GRID_Y {
            let y = (gy * 2 + 1) * frame.height / (GRID_Y * 2);
            for gx in 0..GRID_X {
                let x = (gx * 2 + 1) * frame.width / (GRID_X * 2);
                let Some((l, u, v)) = frame.yuv(x, y) else { continue };
                self.cur[l as usize * LUMA_BINS / 256] += 1;
                self.cur[LUMA_BINS + u as usize * CHROMA_BINS / 256] += 1;
                self.cur[LUMA_BINS + CHROMA_BINS + v as usize * CHROMA_BINS / 256] += 1;
                samples += 1;
            }
        }
        let distance = if samples == 0 || !self.have_last {
            0.0
        } else {
            let l1: u32 = self.cur.iter().zip(&self.last).map(|(a, b)| a.abs_diff(*b)).sum();
            l1 as f32 / (6.0 * samples as f32)
        };
        self.last = self.cur;
        self.have_last = samples > 0;
        self.last_distance = distance;
        distance > self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{PixelFormat, yuv420_bytes};

    fn frame(w: u32, h: u32, fill: impl Fn(u32, u32) -> (u8, u8, u8)) -> Vec<u8> {
        let mut d = vec![0u8; yuv420_bytes(w, h)];
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        for y in 0..h {
            for x in 0..w {
                d[(y * w + x) as usize] = fill(x, y).0;
            }
        }
        for y in 0..ch {
            for x in 0..cw {
                let (_, u, v) = fill(x * 2, y * 2);
                d[(w * h + y * cw + x) as usize] = u;
                d[(w * h + cw * ch + y * cw + x) as usize] = v;
            }
        }
        d
    }

    #[test]
    fn a_pan_is_not_a_cut_and_a_new_view_is() {
        let (w, h) = (320, 180);
        // Grass with white lines, then the same panned by 40 pixels, then a close-up of a face.
        let grass =
            |shift: u32| move |x: u32, _y: u32| if (x + shift) % 80 < 3 { (235, 128, 128) } else { (90, 100, 110) };
        let a = frame(w, h, grass(0));
        let b = frame(w, h, grass(40));
        let c = frame(w, h, |x, y| if (x / 40 + y / 40) % 2 == 0 { (180, 120, 160) } else { (60, 140, 150) });
        let mut cut = SceneCut::default();
        fn f(d: &[u8]) -> YuvFrame<'_> {
            YuvFrame::new(d, 320, 180, PixelFormat::I420).unwrap()
        }
        assert!(!cut.observe(&f(&a)), "the first frame is no cut");
        assert!(!cut.observe(&f(&b)), "a pan: {}", cut.last_distance);
        assert!(cut.observe(&f(&c)), "a new view: {}", cut.last_distance);
        assert!(!cut.observe(&f(&c)), "the same view again");
    }
}
