//! Keypoints from heatmaps: per keypoint the strongest cell, refined to the weighted centre of
//! its 3x3 neighbourhood (as the model was trained and measured: tools/train/kp_eval.py).

use crate::infer::pre::Letterbox;
use crate::pitch::keypoints::FoundKeypoint;

/// One image's heatmaps: `keypoints` planes of `width * height` cells, `stride` input pixels each.
#[derive(Clone, Copy, Debug)]
pub struct Heatmaps<'a> {
    /// The values, plane after plane.
    pub values: &'a [f32],
    /// Cells per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Input pixels per cell.
    pub stride: u32,
}

/// Decodes each plane into `out[k]`: the peak mapped to frame pixels through `lb`, or `None`
/// below `min_score` or in the letterbox padding.
pub fn decode(maps: Heatmaps<'_>, lb: &Letterbox, min_score: f32, out: &mut [Option<FoundKeypoint>]) {
    let cells = maps.width * maps.height;
    for (k, slot) in out.iter_mut().enumerate() {
        *slot = maps.values.get(k * cells..(k + 1) * cells).and_then(|plane| peak(plane, maps, lb, min_score));
    }
}

fn peak(plane: &[f32], maps: Heatmaps<'_>, lb: &Letterbox, min_score: f32) -> Option<FoundKeypoint> {
    let (best, score) = plane.iter().enumerate().fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
    // NaN scores are no keypoint either.
    if score.is_nan() || score < min_score {
        return None;
    }
    let (cy, cx) = (best / maps.width, best % maps.width);
    let (mut sum, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
    for y in cy.saturating_sub(1)..(cy + 2).min(maps.height) {
        for x in cx.saturating_sub(1)..(cx + 2).min(maps.width) {
            let v = plane[y * maps.width + x].max(0.0) as f64;
            sum += v;
            sx += v * x as f64;
            sy += v * y as f64;
        }
    }
    let (gx, gy) = if sum > 0.0 { (sx / sum, sy / sum) } else { (cx as f64, cy as f64) };
    let s = maps.stride as f64;
    // Cell centres in input pixels, then frame pixels.
    let (ix, iy) = ((gx + 0.5) * s - 0.5, (gy + 0.5) * s - 0.5);
    // A peak in the padding is not in the image (one cell of slack for the refinement).
    if ix > lb.content_w as f64 + s || iy > lb.content_h as f64 + s {
        return None;
    }
    let scale = lb.scale as f64;
    Some(FoundKeypoint { x: ix / scale + lb.offset_x as f64, y: iy / scale + lb.offset_y as f64, score })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::pre::Region;

    #[test]
    fn a_peak_is_refined_between_cells_and_mapped_to_the_frame() {
        let (w, h) = (8, 6);
        let mut values = vec![0.0f32; 2 * w * h];
        // Keypoint 0: equal weight on cells (3, 2) and (4, 2): centre x = 3.5 cells.
        values[2 * w + 3] = 0.9;
        values[2 * w + 4] = 0.9;
        // Keypoint 1: below the threshold.
        values[w * h + 5] = 0.2;
        // A 64x48 region at (100, 50) letterboxed into a 32x24 input: scale 0.5.
        let lb = Letterbox::fit(Region { x: 100, y: 50, w: 64, h: 48 }, 32, 24);
        let mut out = [None; 2];
        decode(Heatmaps { values: &values, width: w, height: h, stride: 4 }, &lb, 0.3, &mut out);
        let k = out[0].unwrap();
        assert!((k.x - ((3.5 + 0.5) * 4.0 - 0.5) / 0.5 - 100.0).abs() < 1e-9, "{k:?}");
        assert!((k.y - ((2.0 + 0.5) * 4.0 - 0.5) / 0.5 - 50.0).abs() < 1e-9, "{k:?}");
        assert_eq!(k.score, 0.9);
        assert_eq!(out[1], None);
    }
}
