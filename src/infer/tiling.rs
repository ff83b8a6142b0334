//! Tiling: which regions of a frame the model sees, so small players and the ball are large enough.

use super::pre::Region;

/// How to cut a frame into model inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TilePlan {
    /// Tile columns.
    pub columns: u32,
    /// Tile rows.
    pub rows: u32,
    /// Overlap between neighbours as a fraction of tile size.
    pub overlap_frac: f32,
    /// Also include the whole frame as one region.
    pub full_frame: bool,
}

impl TilePlan {
    /// How many regions [`TilePlan::regions`] makes: the tiles, plus the whole frame when enabled.
    pub fn region_count(&self) -> usize {
        let tiles = (self.columns * self.rows) as usize;
        if tiles <= 1 { 1 } else { tiles + usize::from(self.full_frame) }
    }

    /// The regions for a `width` x `height` frame: the whole frame first (when enabled), then tiles row by row.
    /// A 1 x 1 grid yields only the whole frame.
    pub fn regions(&self, width: u32, height: u32, out: &mut Vec<Region>) {
        out.clear();
        let tiled = self.columns * self.rows > 1;
        if self.full_frame || !tiled {
            out.push(Region { x: 0, y: 0, w: width, h: height });
        }
        if !tiled {
            return;
        }
        let (xs, tw) = spans(width, self.columns, self.overlap_frac);
        let (ys, th) = spans(height, self.rows, self.overlap_frac);
        for &y in &ys {
            for &x in &xs {
                out.push(Region { x, y, w: tw, h: th });
            }
        }
    }
}

/// Start positions and length of `n` overlapping spans covering `total`.
fn spans(total: u32, n: u32, overlap: f32) -> (Vec<u32>, u32) {
    if n <= 1 {
        return (vec![0], total);
    }
    let len = (total as f32 / (n as f32 - (n as f32 - 1.0) * overlap)).ceil().min(total as f32) as u32;
    let step = (total - len) as f32 / (n - 1) as f32;
    ((0..n).map(|i| (i as f32 * step).round() as u32).collect(), len)
}

/// Whether a box (in frame pixels) touches an edge of `region` that lies inside the frame:
/// such a box is likely a player cut by the tile border, and a neighbouring tile or the
/// whole-frame pass sees the whole player.
pub fn touches_inner_edge(b: &crate::frame::BBox, region: &Region, width: u32, height: u32, margin_px: f32) -> bool {
    let left = region.x as f32;
    let top = region.y as f32;
    let right = (region.x + region.w) as f32;
    let bottom = (region.y + region.h) as f32;
    (region.x > 0 && b.x1 <= left + margin_px)
        || (region.y > 0 && b.y1 <= top + margin_px)
        || (region.x + region.w < width && b.x2 >= right - margin_px)
        || (region.y + region.h < height && b.y2 >= bottom - margin_px)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_frame_with_the_requested_overlap() {
        let plan = TilePlan { columns: 3, rows: 2, overlap_frac: 0.2, full_frame: true };
        let mut r = Vec::new();
        plan.regions(1920, 1080, &mut r);
        assert_eq!(r.len(), 7);
        assert_eq!(plan.region_count(), 7);
        assert_eq!(r[0], Region { x: 0, y: 0, w: 1920, h: 1080 });
        let tiles = &r[1..];
        // Last column and row end at the frame edge.
        assert!(tiles.iter().any(|t| t.x + t.w == 1920 && t.y + t.h == 1080));
        assert_eq!(tiles[0].x, 0);
        // Neighbours overlap by about 20 % of the tile width.
        let ov = (tiles[0].x + tiles[0].w - tiles[1].x) as f32 / tiles[0].w as f32;
        assert!((ov - 0.2).abs() < 0.02, "{ov}");
    }

    #[test]
    fn one_by_one_grid_is_the_whole_frame_once() {
        let plan = TilePlan { columns: 1, rows: 1, overlap_frac: 0.1, full_frame: false };
        let mut r = Vec::new();
        plan.regions(640, 480, &mut r);
        assert_eq!(r, vec![Region { x: 0, y: 0, w: 640, h: 480 }]);
    }
}
