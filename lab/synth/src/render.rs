//! Drawing one broadcast frame: the pitch through the camera, then players and the ball far to
//! near, recording each object's box and how much of it is visible.

use super::camera::{Camera, Mat3, apply};
use super::motion::{Entity, PITCH_LENGTH_M, PITCH_WIDTH_M, Role};
use super::rng::hash2;
use super::sprites::{Sprite, SpriteBank};

/// A drawn figure: box (x1, y1, x2, y2) and its foot point, pixels.
type DrawnExtent = (f32, f32, f32, f32, (f32, f32));
/// Height of a standing player, metres.
const PLAYER_HEIGHT_M: f64 = 1.85;
/// Ball diameter, metres.
const BALL_DIAMETER_M: f64 = 0.22;

/// One object as drawn: its box and visible fraction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DrawnBox {
    /// Index into the entity list.
    pub entity: usize,
    /// Box in pixels (x, y, w, h), clipped to the frame.
    pub x: f32,
    /// Top.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
    /// Fraction of the object's pixels visible (not occluded, inside the frame).
    pub visibility: f32,
    /// Where the object touches the pitch, in pixels (bottom-centre of the unclipped box).
    pub foot: (f32, f32),
}

/// Draws frames of one size.
pub struct Renderer {
    width: u32,
    height: u32,
    /// RGB pixels of the current frame.
    pub rgb: Vec<u8>,
    owner: Vec<u16>,
    /// Sprite index per entity id, fixed for the clip so each player keeps a look.
    pub sprite_of: Vec<(u32, usize)>,
}

fn pitch_colour(x: f64, y: f64, line_half_m: f64) -> [u8; 3] {
    // Beyond the run-off: advertising boards and stands.
    if !(-4.0..PITCH_LENGTH_M as f64 + 4.0).contains(&x) || !(-3.0..PITCH_WIDTH_M as f64 + 3.0).contains(&y) {
        let n = hash2((x * 2.0) as i32, (y * 2.0) as i32, 7);
        let v = (40.0 + 50.0 * n) as u8;
        return [v, v.saturating_sub(5), v.saturating_add(8)];
    }
    // Mowing stripes every 1/18 of the length, and a little texture.
    let stripe = ((x / (PITCH_LENGTH_M as f64 / 18.0)).floor() as i64).rem_euclid(2) == 0;
    let n = hash2((x * 4.0) as i32, (y * 4.0) as i32, 3) - 0.5;
    let (r, g, b) = if stripe { (58.0, 128.0, 52.0) } else { (68.0, 142.0, 60.0) };
    let mut c = [(r + 10.0 * n) as u8, (g + 14.0 * n) as u8, (b + 8.0 * n) as u8];
    if on_line(x, y, line_half_m) {
        c = [235, 240, 235];
    }
    c
}

/// Whether a pitch point lies on one of the markings (line half-width in metres).
fn on_line(x: f64, y: f64, hw: f64) -> bool {
    let (l, w) = (PITCH_LENGTH_M as f64, PITCH_WIDTH_M as f64);
    let seg_h = |y0: f64, x0: f64, x1: f64| (y - y0).abs() <= hw && x >= x0 - hw && x <= x1 + hw;
    let seg_v = |x0: f64, y0: f64, y1: f64| (x - x0).abs() <= hw && y >= y0 - hw && y <= y1 + hw;
    let circle = |cx: f64, cy: f64, r: f64| (((x - cx).powi(2) + (y - cy).powi(2)).sqrt() - r).abs() <= hw;
    if seg_h(0.0, 0.0, l) || seg_h(w, 0.0, l) || seg_v(0.0, 0.0, w) || seg_v(l, 0.0, w) || seg_v(l / 2.0, 0.0, w) {
        return true;
    }
    if circle(l / 2.0, w / 2.0, 9.15) || ((x - l / 2.0).powi(2) + (y - w / 2.0).powi(2)).sqrt() <= hw * 2.5 {
        return true;
    }
    for (gx, dir) in [(0.0, 1.0), (l, -1.0)] {
        // Penalty area 16.5 x 40.32, goal area 5.5 x 18.32, spot at 11 m, arc of 9.15 m.
        for (depth, half) in [(16.5, 20.16), (5.5, 9.16)] {
            let x1 = gx + dir * depth;
            let (lo, hi) = if dir > 0.0 { (gx, x1) } else { (x1, gx) };
            if seg_v(x1, w / 2.0 - half, w / 2.0 + half)
                || seg_h(w / 2.0 - half, lo, hi)
                || seg_h(w / 2.0 + half, lo, hi)
            {
                return true;
            }
        }
        let spot = gx + dir * 11.0;
        if ((x - spot).powi(2) + (y - w / 2.0).powi(2)).sqrt() <= hw * 2.5 {
            return true;
        }
        if circle(spot, w / 2.0, 9.15) && (x - gx) * dir > 16.5 {
            return true;
        }
    }
    false
}

impl Renderer {
    /// A renderer for `width` x `height` frames.
    pub fn new(width: u32, height: u32) -> Self {
        let n = (width * height) as usize;
        Renderer { width, height, rgb: vec![0; n * 3], owner: vec![0; n], sprite_of: Vec::new() }
    }

    /// Draws the pitch as `camera` sees it (rows split over `threads` threads).
    pub fn draw_pitch(&mut self, camera: &Camera, threads: usize) {
        let hinv: Mat3 = camera.image_to_pitch();
        let (w, h) = (self.width as usize, self.height as usize);
        let rows_per = h.div_ceil(threads.max(1));
        std::thread::scope(|s| {
            for (chunk_i, chunk) in self.rgb.chunks_mut(rows_per * w * 3).enumerate() {
                let hinv = &hinv;
                s.spawn(move || {
                    for (r, row) in chunk.chunks_mut(w * 3).enumerate() {
                        let v = (chunk_i * rows_per + r) as f64 + 0.5;
                        // Metres per pixel on this row, for lines about 0.12 m wide but never thinner than a pixel.
                        let a = apply(hinv, w as f64 / 2.0, v);
                        let b = apply(hinv, w as f64 / 2.0 + 1.0, v);
                        let c = apply(hinv, w as f64 / 2.0, v + 1.0);
                        let mpp = match (a, b, c) {
                            (Some(a), Some(b), Some(c)) => {
                                let horizontal = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
                                let vertical = ((a.0 - c.0).powi(2) + (a.1 - c.1).powi(2)).sqrt();
                                horizontal.max(vertical).min(2.0)
                            }
                            _ => 1.0,
                        };
                        let hw = (0.06f64).max(0.55 * mpp);
                        for u in 0..w {
                            let den = hinv[2][0] * (u as f64 + 0.5) + hinv[2][1] * v + hinv[2][2];
                            let c = if den <= 0.0 {
                                [30, 30, 36]
                            } else {
                                match apply(hinv, u as f64 + 0.5, v) {
                                    Some((x, y)) => pitch_colour(x, y, hw),
                                    None => [30, 30, 36],
                                }
                            };
                            row[u * 3..u * 3 + 3].copy_from_slice(&c);
                        }
                    }
                });
            }
        });
    }

    /// Draws people and the ball far to near; returns the drawn boxes (objects outside the frame omitted).
    pub fn draw_objects(&mut self, camera: &Camera, entities: &[Entity], bank: &SpriteBank, out: &mut Vec<DrawnBox>) {
        out.clear();
        self.owner.fill(0);
        // (depth, entity index, box, sprite)
        let mut order: Vec<(f64, usize)> = Vec::with_capacity(entities.len());
        for (i, e) in entities.iter().enumerate() {
            if let Some((_, _, depth)) = camera.project([e.x as f64, e.y as f64, 0.0]) {
                order.push((depth, i));
            }
        }
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut total_px: Vec<u32> = vec![0; entities.len()];
        let mut boxes: Vec<Option<DrawnExtent>> = vec![None; entities.len()];
        for &(_, i) in &order {
            let e = &entities[i];
            let drawn = if e.role == Role::Ball {
                self.draw_ball(camera, e, i as u16 + 1)
            } else {
                let sprite = self.sprite_for(e, bank);
                sprite.and_then(|s| self.draw_person(camera, e, s, i as u16 + 1))
            };
            if let Some((bx, total)) = drawn {
                boxes[i] = Some(bx);
                total_px[i] = total;
            }
        }
        let mut visible: Vec<u32> = vec![0; entities.len()];
        for &o in &self.owner {
            if o > 0 {
                visible[o as usize - 1] += 1;
            }
        }
        for (i, b) in boxes.iter().enumerate() {
            let Some((x1, y1, x2, y2, foot)) = *b else { continue };
            let (cx1, cy1) = (x1.max(0.0), y1.max(0.0));
            let (cx2, cy2) = (x2.min(self.width as f32), y2.min(self.height as f32));
            if cx2 - cx1 < 1.0 || cy2 - cy1 < 1.0 {
                continue;
            }
            let vis = if total_px[i] > 0 { visible[i] as f32 / total_px[i] as f32 } else { 0.0 };
            out.push(DrawnBox {
                entity: i,
                x: cx1,
                y: cy1,
                w: cx2 - cx1,
                h: cy2 - cy1,
                visibility: vis.min(1.0),
                foot,
            });
        }
    }

    fn sprite_for<'b>(&self, e: &Entity, bank: &'b SpriteBank) -> Option<&'b Sprite> {
        let idx = self.sprite_of.iter().find(|(id, _)| *id == e.id).map_or(e.id as usize, |(_, s)| *s);
        let pool = match (e.role, e.team) {
            (Role::Goalkeeper, _) => &bank.goalkeepers,
            (Role::Referee, _) => &bank.referees,
            (_, 0) => &bank.team_a,
            _ => &bank.team_b,
        };
        (!pool.is_empty()).then(|| &pool[idx % pool.len()])
    }

    /// Returns the unclipped box (x1, y1, x2, y2, foot) and the number of opaque pixels the object has
    /// (inside or outside the frame).
    fn draw_person(&mut self, camera: &Camera, e: &Entity, s: &Sprite, tag: u16) -> Option<(DrawnExtent, u32)> {
        let (fu, fv, _) = camera.project([e.x as f64, e.y as f64, 0.0])?;
        let (_, hv, _) = camera.project([e.x as f64, e.y as f64, PLAYER_HEIGHT_M])?;
        let ph = (fv - hv).max(2.0);
        let pw = (ph * s.aspect as f64).max(1.0);
        let (x1, y1) = (fu - pw / 2.0, fv - ph);
        let (w, h) = (self.width as i64, self.height as i64);
        let (ix0, iy0) = (x1.floor() as i64, y1.floor() as i64);
        let (ix1, iy1) = ((x1 + pw).ceil() as i64, fv.ceil() as i64);
        let mut total = 0u32;
        for py in iy0..iy1 {
            let sy = (((py as f64 + 0.5 - y1) / ph) * s.height as f64).floor();
            if sy < 0.0 || sy >= s.height as f64 {
                continue;
            }
            for px in ix0..ix1 {
                let sx = (((px as f64 + 0.5 - x1) / pw) * s.width as f64).floor();
                if sx < 0.0 || sx >= s.width as f64 {
                    continue;
                }
                let si = ((sy as u32 * s.width + sx as u32) * 4) as usize;
                if s.rgba[si + 3] < 128 {
                    continue;
                }
                total += 1;
                if px < 0 || py < 0 || px >= w || py >= h {
                    continue;
                }
                let di = (py * w + px) as usize;
                self.rgb[di * 3..di * 3 + 3].copy_from_slice(&s.rgba[si..si + 3]);
                self.owner[di] = tag;
            }
        }
        (total > 0).then_some(((x1 as f32, y1 as f32, (x1 + pw) as f32, fv as f32, (fu as f32, fv as f32)), total))
    }

    fn draw_ball(&mut self, camera: &Camera, e: &Entity, tag: u16) -> Option<(DrawnExtent, u32)> {
        let r_m = BALL_DIAMETER_M / 2.0;
        let (cu, cv, depth) = camera.project([e.x as f64, e.y as f64, e.z as f64 + r_m])?;
        let r = (camera.focal_px * r_m / depth).max(1.2);
        let (w, h) = (self.width as i64, self.height as i64);
        let mut total = 0u32;
        for py in (cv - r).floor() as i64..=(cv + r).ceil() as i64 {
            for px in (cu - r).floor() as i64..=(cu + r).ceil() as i64 {
                let (dx, dy) = (px as f64 + 0.5 - cu, py as f64 + 0.5 - cv);
                if dx * dx + dy * dy > r * r {
                    continue;
                }
                total += 1;
                if px < 0 || py < 0 || px >= w || py >= h {
                    continue;
                }
                let di = (py * w + px) as usize;
                // White ball, darker towards the lower right.
                let shade = (250.0 - 60.0 * ((dx + dy) / (2.0 * r)).max(0.0)) as u8;
                self.rgb[di * 3..di * 3 + 3].copy_from_slice(&[shade, shade, shade]);
                self.owner[di] = tag;
            }
        }
        let (_, fv, _) = camera.project([e.x as f64, e.y as f64, 0.0])?;
        (total > 0).then_some((
            ((cu - r) as f32, (cv - r) as f32, (cu + r) as f32, (cv + r) as f32, (cu as f32, fv as f32)),
            total,
        ))
    }

    /// The frame as I420 (BT.601 limited range), into `out`.
    pub fn to_i420(&self, out: &mut Vec<u8>) {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        out.clear();
        out.resize(w * h + 2 * cw * ch, 0);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                let (r, g, b) = (self.rgb[i] as f32, self.rgb[i + 1] as f32, self.rgb[i + 2] as f32);
                out[y * w + x] = (16.0 + 0.256_788 * r + 0.504_129 * g + 0.097_906 * b).round().clamp(0.0, 255.0) as u8;
            }
        }
        for cy in 0..ch {
            for cx in 0..cw {
                let mut acc = [0.0f32; 3];
                let mut n = 0.0;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (x, y) = ((cx * 2 + dx).min(w - 1), (cy * 2 + dy).min(h - 1));
                    let i = (y * w + x) * 3;
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += self.rgb[i + c] as f32;
                    }
                    n += 1.0;
                }
                let (r, g, b) = (acc[0] / n, acc[1] / n, acc[2] / n);
                out[w * h + cy * cw + cx] =
                    (128.0 - 0.148_223 * r - 0.290_993 * g + 0.439_216 * b).round().clamp(0.0, 255.0) as u8;
                out[w * h + cw * ch + cy * cw + cx] =
                    (128.0 + 0.439_216 * r - 0.367_788 * g - 0.071_427 * b).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}
