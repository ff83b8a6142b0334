//! Drawing into an I420 frame: box outlines, filled rectangles, digits, dots and the minimap.

/// A colour as Y, U, V (BT.601 limited range).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Yuv(pub(super) u8, pub(super) u8, pub(super) u8);

/// Team A.
pub(super) const RED: Yuv = Yuv(81, 90, 240);
/// Team B.
pub(super) const BLUE: Yuv = Yuv(41, 240, 110);
/// Referees.
pub(super) const YELLOW: Yuv = Yuv(210, 16, 146);
/// Goalkeepers.
pub(super) const MAGENTA: Yuv = Yuv(106, 202, 222);
/// Players without a team yet.
pub(super) const GREY: Yuv = Yuv(150, 128, 128);
/// The ball, lines, text.
pub(super) const WHITE: Yuv = Yuv(235, 128, 128);
/// Text background.
pub(super) const BLACK: Yuv = Yuv(16, 128, 128);
/// The minimap's pitch.
pub(super) const PITCH: Yuv = Yuv(80, 110, 100);

/// An I420 picture being drawn on.
pub(super) struct Canvas<'a> {
    /// Planes: Y (w x h), U and V (ceil(w/2) x ceil(h/2)).
    pub(super) data: &'a mut [u8],
    /// Width.
    pub(super) width: u32,
    /// Height.
    pub(super) height: u32,
}

impl Canvas<'_> {
    /// Sets one pixel (and its chroma sample).
    pub(super) fn dot(&mut self, x: i32, y: i32, c: Yuv) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
            return;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let (x, y) = (x as usize, y as usize);
        self.data[y * w + x] = c.0;
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let at = w * h + (y / 2) * cw + x / 2;
        self.data[at] = c.1;
        self.data[at + cw * ch] = c.2;
    }

    /// Fills `[x0, x1) x [y0, y1)`.
    pub(super) fn fill(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Yuv) {
        for y in y0.max(0)..y1.min(self.height as i32) {
            for x in x0.max(0)..x1.min(self.width as i32) {
                self.dot(x, y, c);
            }
        }
    }

    /// A rectangle outline `t` pixels thick.
    pub(super) fn outline(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, t: i32, c: Yuv) {
        self.fill(x0, y0, x1, y0 + t, c);
        self.fill(x0, y1 - t, x1, y1, c);
        self.fill(x0, y0, x0 + t, y1, c);
        self.fill(x1 - t, y0, x1, y1, c);
    }

    /// A filled disc.
    pub(super) fn disc(&mut self, cx: i32, cy: i32, r: i32, c: Yuv) {
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r {
                    self.dot(cx + dx, cy + dy, c);
                }
            }
        }
    }

    /// Text of digits and A-Z (others left blank) at `(x, y)`, glyphs 3x5 scaled by `s`, on a
    /// black band.
    pub(super) fn text(&mut self, x: i32, y: i32, s: i32, text: &str, c: Yuv) {
        let n = text.len() as i32;
        self.fill(x - s, y - s, x + n * 4 * s, y + 6 * s, BLACK);
        for (i, ch) in text.chars().enumerate() {
            let Some(rows) = glyph(ch) else { continue };
            for (ry, row) in rows.iter().enumerate() {
                for rx in 0..3 {
                    if row & (0b100 >> rx) != 0 {
                        let (px, py) = (x + (i as i32 * 4 + rx) * s, y + ry as i32 * s);
                        self.fill(px, py, px + s, py + s, c);
                    }
                }
            }
        }
    }
}

/// 3x5 glyphs, one row per entry, bit 2 = left column.
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'G' => [7, 4, 5, 5, 7],
        'K' => [5, 5, 6, 5, 5],
        'R' => [6, 5, 6, 5, 5],
        'F' => [7, 4, 6, 4, 4],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_stays_inside_the_picture_and_sets_luma_and_chroma() {
        let (w, h) = (9u32, 7u32);
        let mut data = vec![0u8; crate::frame::yuv420_bytes(w, h)];
        let mut c = Canvas { data: &mut data, width: w, height: h };
        c.outline(-5, -5, 50, 50, 2, RED);
        c.text(1, 1, 1, "12", WHITE);
        c.disc(8, 6, 3, BLUE);
        assert_eq!(data[0], BLACK.0, "text band over the outline");
        assert_eq!(data[(h as usize - 1) * w as usize + w as usize - 1], BLUE.0);
    }
}
