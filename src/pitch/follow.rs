//! Following a moving camera: from one calibrated frame, the image-to-pitch homography is carried
//! from frame to frame by the image motion of the pitch between them (people masked out).
//!
//! Each frame's luma is box-filtered down to about 320 pixels wide. Textured patches of a key
//! frame (a grid, people and their surroundings left out) are found again in the current frame by
//! block matching (sum of absolute differences) around where the last motion predicts them; the
//! matches give the homography from the current image to the key frame's (sampled RANSAC, then
//! least squares on the inliers), and the calibration becomes `key ∘ motion`. Measuring against a
//! key frame, not the previous frame, keeps errors from adding up frame after frame; the key moves
//! on when the view has moved well away from it. Too few consistent matches (a cut, a close-up, a
//! blur) and the calibration is no longer trusted: pitch positions stop until a new anchor.
//! Every buffer is reused: nothing is allocated per frame.

use super::calibrate::{PointPair, dlt, error_m, four_point};
use super::homography::Homography;
use crate::frame::{BBox, YuvFrame};

/// Width of the working image.
const WORK_WIDTH: u32 = 320;
/// Patch half-size and search radius, working pixels.
const HALF: i32 = 4;
const SEARCH: i32 = 8;
/// The first, small search window around the predicted place (working pixels).
const NEAR: i32 = 3;
/// Grid of candidate patches.
const GRID_X: i32 = 24;
const GRID_Y: i32 = 14;
/// RANSAC draws and inlier distance (working pixels).
const DRAWS: usize = 300;
const INLIER_PX: f64 = 1.0;
/// Fewest inliers, and smallest inlier share, for a trusted step.
const MIN_INLIERS: usize = 16;
const MIN_SHARE: f64 = 0.5;

/// What the follower knows after a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FollowState {
    /// The image-to-pitch homography of this frame, while trusted.
    pub homography: Option<Homography>,
    /// Matches that agreed with the camera motion in this step.
    pub inliers: usize,
    /// Frames since the anchor.
    pub frames: u64,
}

/// Carries a calibration along a moving camera.
#[derive(Debug, Default)]
pub struct CameraFollower {
    current: Option<Homography>,
    /// The key frame (working luma), its calibration, and the last motion (current image to key).
    key: Vec<u8>,
    key_h: Option<Homography>,
    to_key: Option<Homography>,
    cur: Vec<u8>,
    /// One working row's input columns summed over its `scale` input rows (reused).
    column_sums: Vec<u16>,
    mask: Vec<bool>,
    key_mask: Vec<bool>,
    scale: f32,
    dims: (i32, i32),
    have_key: bool,
    pairs: Vec<PointPair>,
    inliers: Vec<PointPair>,
    frames: u64,
    rng: u64,
}

impl CameraFollower {
    /// A follower that starts from `anchor`, the calibration of the next frame it sees.
    pub fn new(anchor: Option<Homography>) -> Self {
        let cap = (GRID_X * GRID_Y) as usize;
        CameraFollower {
            current: anchor,
            pairs: Vec::with_capacity(cap),
            inliers: Vec::with_capacity(cap),
            rng: 0x2545_f491_4f6c_dd1d,
            ..Default::default()
        }
    }

    /// Re-anchors: `anchor` is the calibration of the next frame.
    pub fn reset(&mut self, anchor: Option<Homography>) {
        self.current = anchor;
        self.have_key = false;
        self.frames = 0;
    }

    /// Replaces this frame's calibration by `now`, a better one of the same frame (a keypoint fit
    /// brought forward to it), keeping the key frame and the motion followed from it.
    pub fn rebase(&mut self, now: Homography) {
        self.current = Some(now);
        if self.have_key {
            // current = key_h after to_key: the key's calibration that gives `now` here.
            self.key_h = match self.to_key.and_then(|m| m.inverse()) {
                Some(back) => now.after(&back),
                None => Some(now),
            };
        }
    }

    /// Follows the camera to this frame; `people` are boxes to leave out (they move on their own).
    pub fn update(&mut self, frame: &YuvFrame<'_>, people: &[BBox]) -> FollowState {
        self.downscale(frame);
        self.build_mask(people);
        if self.current.is_none() {
            self.have_key = false;
        } else if !self.have_key {
            self.make_key();
        } else {
            let motion = self.estimate();
            self.current = match (motion, self.key_h) {
                (Some(m), Some(k)) => k.after(&m),
                _ => None,
            };
            self.to_key = motion;
            if let Some(m) = motion
                && self.far_from_key(&m)
            {
                self.make_key();
            }
        }
        self.frames += 1;
        FollowState { homography: self.current, inliers: self.inliers.len(), frames: self.frames }
    }

    fn make_key(&mut self) {
        std::mem::swap(&mut self.key, &mut self.cur);
        self.key_h = self.current;
        self.to_key = None;
        self.have_key = true;
        self.key_mask.clone_from(&self.mask);
    }

    /// Whether the view has moved so far from the key frame that fewer patches would be found.
    fn far_from_key(&self, m: &Homography) -> bool {
        let (w, h) = (self.dims.0 as f64 * self.scale as f64, self.dims.1 as f64 * self.scale as f64);
        let limit = 6.0 * self.scale as f64;
        [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)].iter().any(|&(fx, fy)| {
            let (x, y) = (fx * w, fy * h);
            m.apply_f64(x, y).is_none_or(|(kx, ky)| (kx - x).abs() > limit || (ky - y).abs() > limit)
        })
    }

    fn downscale(&mut self, f: &YuvFrame<'_>) {
        let k = f.width.div_ceil(WORK_WIDTH).max(1);
        let (w, h) = ((f.width / k) as i32, (f.height / k) as i32);
        self.scale = k as f32;
        if self.dims != (w, h) {
            self.have_key = false;
        }
        self.dims = (w, h);
        self.cur.resize((w * h) as usize, 0);
        let stride = f.layout.y_stride as usize;
        let (k, w) = (k as usize, w as usize);
        let span = w * k;
        // Rows are summed column-wise first (a loop the compiler vectorises; k <= 257 keeps u16
        // from overflowing), then each working pixel sums k neighbouring columns.
        self.column_sums.resize(span, 0);
        for y in 0..h as usize {
            self.column_sums.fill(0);
            for dy in 0..k {
                let start = (y * k + dy) * stride;
                if let Some(row) = f.data.get(start..start + span) {
                    for (s, &v) in self.column_sums.iter_mut().zip(row) {
                        *s += u16::from(v);
                    }
                }
            }
            let out = &mut self.cur[y * w..(y + 1) * w];
            for (o, cols) in out.iter_mut().zip(self.column_sums.chunks_exact(k)) {
                let sum: u32 = cols.iter().map(|&c| u32::from(c)).sum();
                *o = (sum / (k * k) as u32) as u8;
            }
        }
    }

    fn build_mask(&mut self, people: &[BBox]) {
        let (w, h) = self.dims;
        self.mask.clear();
        self.mask.resize((w * h) as usize, false);
        for b in people {
            // The box grown by half its size: shadows and motion blur move with the player.
            let (bw, bh) = (b.x2 - b.x1, b.y2 - b.y1);
            let x0 = (((b.x1 - 0.5 * bw) / self.scale) as i32).max(0);
            let x1 = (((b.x2 + 0.5 * bw) / self.scale) as i32).min(w - 1);
            let y0 = (((b.y1 - 0.25 * bh) / self.scale) as i32).max(0);
            let y1 = (((b.y2 + 0.25 * bh) / self.scale) as i32).min(h - 1);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    self.mask[(y * w + x) as usize] = true;
                }
            }
        }
    }

    /// The homography from the current image to the key frame's, in full-frame pixels.
    fn estimate(&mut self) -> Option<Homography> {
        let (w, h) = self.dims;
        self.pairs.clear();
        let margin = HALF + SEARCH + 1;
        let s = self.scale as f64;
        // Where the last motion puts key-frame points in the current frame.
        let from_key = self.to_key.and_then(|m| crate::pitch::invert(m.matrix()).and_then(Homography::from_matrix));
        for gy in 0..GRID_Y {
            for gx in 0..GRID_X {
                let cx = margin + gx * (w - 2 * margin) / (GRID_X - 1);
                let cy = margin + gy * (h - 2 * margin) / (GRID_Y - 1);
                if masked(&self.key_mask, w, cx, cy) || self.texture(cx, cy) < 6.0 * (2 * HALF + 1) as f32 {
                    continue;
                }
                let (qx, qy) = match from_key.and_then(|m| m.apply_f64(cx as f64 * s, cy as f64 * s)) {
                    Some((x, y)) => ((x / s).round() as i32, (y / s).round() as i32),
                    None => (cx, cy),
                };
                if qx < margin || qy < margin || qx >= w - margin || qy >= h - margin || masked(&self.mask, w, qx, qy) {
                    continue;
                }
                if let Some((dx, dy)) = self.best_offset(cx, cy, qx, qy) {
                    // The current frame shows at (qx + dx, qy + dy) what the key frame had at (cx, cy).
                    self.pairs.push(PointPair {
                        px: (qx as f64 + dx) * s,
                        py: (qy as f64 + dy) * s,
                        x_m: cx as f64 * s,
                        y_m: cy as f64 * s,
                    });
                }
            }
        }
        self.fit()
    }

    /// Sum of absolute horizontal and vertical differences in the patch (flat grass is useless).
    fn texture(&self, cx: i32, cy: i32) -> f32 {
        let w = self.dims.0;
        let p = &self.key;
        let (mut gx, mut gy) = (0u32, 0u32);
        for y in cy - HALF..=cy + HALF {
            for x in cx - HALF..cx + HALF {
                let i = (y * w + x) as usize;
                gx += p[i].abs_diff(p[i + 1]) as u32;
                gy += p[i].abs_diff(p[i + w as usize]) as u32;
            }
        }
        gx.min(gy) as f32
    }

    /// Where the key frame's patch at (cx, cy) lies in the current frame, searched around
    /// (qx, qy), as an offset from (qx, qy) with sub-pixel refinement; `None` when the best match
    /// lies on the edge of the search window.
    fn best_offset(&self, cx: i32, cy: i32, qx: i32, qy: i32) -> Option<(f64, f64)> {
        let w = self.dims.0;
        const SIDE: usize = (2 * HALF + 1) as usize;
        let sad = |dx: i32, dy: i32| -> u32 {
            let mut s = 0u32;
            for y in -HALF..=HALF {
                let a = ((cy + y) * w + cx - HALF) as usize;
                let b = ((qy + y + dy) * w + qx - HALF + dx) as usize;
                // Fixed-length rows: one bounds check each, and a loop the compiler unrolls.
                let (key, cur): (&[u8; SIDE], &[u8; SIDE]) =
                    match (self.key[a..a + SIDE].try_into(), self.cur[b..b + SIDE].try_into()) {
                        (Ok(k), Ok(c)) => (k, c),
                        _ => return u32::MAX,
                    };
                s += key.iter().zip(cur).map(|(&k, &c)| u32::from(k.abs_diff(c))).sum::<u32>();
            }
            s
        };
        let window = |r: i32| {
            let (mut best, mut at) = (u32::MAX, (0, 0));
            for dy in -r..=r {
                for dx in -r..=r {
                    let s = sad(dx, dy);
                    if s < best {
                        (best, at) = (s, (dx, dy));
                    }
                }
            }
            (best, at)
        };
        // The last motion predicts (qx, qy): the match is nearly always close to it. A small
        // window first (49 offsets against 289); the whole one only when the best lies on the
        // small one's edge (the true match may lie beyond).
        let (mut best, mut at) = window(NEAR);
        if at.0.abs() == NEAR || at.1.abs() == NEAR {
            (best, at) = window(SEARCH);
        }
        let (dx, dy) = at;
        if dx.abs() == SEARCH || dy.abs() == SEARCH {
            return None; // at the window's edge: the true match may lie beyond
        }
        let refine = |minus: u32, zero: u32, plus: u32| -> f64 {
            let d = minus as f64 - 2.0 * zero as f64 + plus as f64;
            if d > 0.0 { (0.5 * (minus as f64 - plus as f64) / d).clamp(-0.5, 0.5) } else { 0.0 }
        };
        let sx = refine(sad(dx - 1, dy), best, sad(dx + 1, dy));
        let sy = refine(sad(dx, dy - 1), best, sad(dx, dy + 1));
        Some((dx as f64 + sx, dy as f64 + sy))
    }

    fn fit(&mut self) -> Option<Homography> {
        let n = self.pairs.len();
        if n < MIN_INLIERS {
            self.inliers.clear();
            return None;
        }
        let threshold = INLIER_PX * self.scale as f64;
        let (mut best_count, mut best) = (0usize, None);
        for _ in 0..DRAWS {
            let s = [self.draw_index(n), self.draw_index(n), self.draw_index(n), self.draw_index(n)];
            if (0..4).any(|i| (i + 1..4).any(|j| s[i] == s[j])) {
                continue;
            }
            let Some(h) = four_point(&[self.pairs[s[0]], self.pairs[s[1]], self.pairs[s[2]], self.pairs[s[3]]]) else {
                continue;
            };
            let count = self.pairs.iter().filter(|p| error_m(&h, p) <= threshold).count();
            if count > best_count {
                (best_count, best) = (count, Some(h));
            }
        }
        let h = best?;
        self.inliers.clear();
        self.inliers.extend(self.pairs.iter().filter(|p| error_m(&h, p) <= threshold));
        if self.inliers.len() < MIN_INLIERS || (self.inliers.len() as f64) < MIN_SHARE * n as f64 {
            return None;
        }
        dlt(&self.inliers)
    }

    fn draw_index(&mut self, n: usize) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % n as u64) as usize
    }
}

fn masked(mask: &[bool], w: i32, x: i32, y: i32) -> bool {
    (-HALF..=HALF).any(|d| mask[((y + d) * w + x) as usize] || mask[(y * w + x + d) as usize])
}
