//! The kit colour of a person box: mean RGB of the torso's non-grass pixels.

#[cfg(test)]
use crate::frame::PixelFormat;
use crate::frame::{BBox, YuvFrame};

/// Whether a pixel looks like grass: green clearly above red and blue.
fn is_grass(p: [f32; 3]) -> bool {
    p[1] > p[0] + 12.0 && p[1] > p[2] + 12.0
}

/// Mean RGB of the torso (the middle half across, 15-50 % down the box) without grass; `None`
/// when too little of it is visible or the box is too small to tell.
pub fn torso_colour(frame: &YuvFrame<'_>, b: &BBox) -> Option<[f32; 3]> {
    let (w, h) = (b.x2 - b.x1, b.y2 - b.y1);
    if w < 4.0 || h < 10.0 {
        return None;
    }
    let x0 = (b.x1 + 0.25 * w).max(0.0) as u32;
    let x1 = ((b.x1 + 0.75 * w) as u32).min(frame.width.saturating_sub(1));
    let y0 = (b.y1 + 0.15 * h).max(0.0) as u32;
    let y1 = ((b.y1 + 0.5 * h) as u32).min(frame.height.saturating_sub(1));
    // About 64 samples whatever the box size.
    let step_x = ((x1.saturating_sub(x0)) / 8).max(1);
    let step_y = ((y1.saturating_sub(y0)) / 8).max(1);
    let (mut sum, mut n, mut total) = ([0.0f32; 3], 0u32, 0u32);
    let mut y = y0;
    while y <= y1 {
        let mut x = x0;
        while x <= x1 {
            if let Some(p) = frame.rgb(x, y) {
                total += 1;
                if !is_grass(p) {
                    sum = [sum[0] + p[0], sum[1] + p[1], sum[2] + p[2]];
                    n += 1;
                }
            }
            x += step_x;
        }
        y += step_y;
    }
    (n >= 6 && n * 3 >= total).then(|| sum.map(|s| s / n as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An I420 frame of grass with a red-shirted box at (40, 20)-(60, 80).
    fn frame() -> Vec<u8> {
        let (w, h) = (100usize, 100usize);
        let mut data = vec![0u8; w * h * 3 / 2];
        let (grass, red) = ((100u8, 100u8, 100u8), (82u8, 90u8, 240u8)); // (Y, U, V)
        for y in 0..h {
            for x in 0..w {
                let shirt = (40..60).contains(&x) && (20..80).contains(&y);
                let (yy, u, v) = if shirt { red } else { grass };
                data[y * w + x] = yy;
                let c = w * h + (y / 2) * (w / 2) + x / 2;
                data[c] = u;
                data[c + (w / 2) * (h / 2)] = v;
            }
        }
        data
    }

    #[test]
    fn a_red_shirt_on_grass_reads_red_and_grass_alone_reads_nothing() {
        let data = frame();
        let px = YuvFrame::new(&data, 100, 100, PixelFormat::I420).unwrap();
        let c = torso_colour(&px, &BBox { x1: 30.0, y1: 10.0, x2: 70.0, y2: 90.0 }).unwrap();
        assert!(c[0] > 150.0 && c[1] < 80.0 && c[2] < 80.0, "{c:?}");
        assert!(torso_colour(&px, &BBox { x1: 0.0, y1: 0.0, x2: 20.0, y2: 40.0 }).is_none(), "grass only");
    }
}
