//! Pre-processing: a region of a YUV 4:2:0 frame, letterboxed into the model's CHW float input.
//!
//! The region is scaled to fit the input keeping its aspect ratio, placed top-left, and the
//! bottom/right padded (YOLOX's convention). Colour conversion (BT.601, limited range), resampling
//! (bilinear luma, nearest chroma), channel order and normalisation happen in one pass over the
//! output pixels, so no intermediate RGB image is made. Index tables are reused between calls.

use crate::frame::{BBox, PixelFormat};
use crate::infer::manifest::{ColorOrder, ModelManifest};

/// A rectangle of the frame, in pixels, fed to the model as one input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Region {
    /// The region clipped to a `width` x `height` frame (at least one pixel).
    pub fn clipped(self, width: u32, height: u32) -> Region {
        let x = self.x.min(width.saturating_sub(1));
        let y = self.y.min(height.saturating_sub(1));
        Region { x, y, w: self.w.min(width - x).max(1), h: self.h.min(height - y).max(1) }
    }
}

/// How model-input pixels map back to frame pixels for one region.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    /// Input pixels per frame pixel.
    pub scale: f32,
    /// Region origin in the frame.
    pub offset_x: f32,
    /// Region origin in the frame.
    pub offset_y: f32,
    /// Width of the scaled content inside the input (the rest is padding).
    pub content_w: u32,
    /// Height of the scaled content inside the input.
    pub content_h: u32,
}

impl Letterbox {
    /// The geometry of fitting `region` into a `in_w` x `in_h` input.
    pub fn fit(region: Region, in_w: u32, in_h: u32) -> Self {
        let scale = (in_w as f32 / region.w.max(1) as f32).min(in_h as f32 / region.h.max(1) as f32);
        Letterbox {
            scale,
            offset_x: region.x as f32,
            offset_y: region.y as f32,
            content_w: ((region.w as f32 * scale).round() as u32).clamp(1, in_w),
            content_h: ((region.h as f32 * scale).round() as u32).clamp(1, in_h),
        }
    }

    /// Maps a box in model-input pixels to frame pixels.
    pub fn to_frame(&self, b: BBox) -> BBox {
        BBox {
            x1: b.x1 / self.scale + self.offset_x,
            y1: b.y1 / self.scale + self.offset_y,
            x2: b.x2 / self.scale + self.offset_x,
            y2: b.y2 / self.scale + self.offset_y,
        }
    }
}

pub use crate::frame::YuvFrame;

/// Converts frame regions into model input tensors.
pub struct Preprocessor {
    in_w: u32,
    in_h: u32,
    order: ColorOrder,
    /// Per output channel (model order): multiplier and offset so that value = pixel * mul + add.
    mul: [f32; 3],
    add: [f32; 3],
    pad: [f32; 3],
    x0: Vec<u32>,
    xfrac: Vec<f32>,
    cx: Vec<u32>,
}

impl Preprocessor {
    /// A preprocessor for the model described by `manifest`.
    pub fn new(manifest: &ModelManifest) -> Self {
        let (mul, add) = manifest.normalisation();
        Self::for_input(
            (manifest.input_width, manifest.input_height),
            manifest.color_order,
            (mul, add),
            manifest.pad_value,
        )
    }

    /// A preprocessor for any model input: `size` in pixels, channel `order`, per-channel
    /// `(mul, add)` so that value = pixel * mul + add, and the letterbox padding pixel value.
    pub fn for_input(size: (u32, u32), order: ColorOrder, (mul, add): ([f32; 3], [f32; 3]), pad_value: u8) -> Self {
        let pad = [0, 1, 2].map(|c| pad_value as f32 * mul[c] + add[c]);
        Preprocessor {
            in_w: size.0,
            in_h: size.1,
            order,
            mul,
            add,
            pad,
            x0: Vec::with_capacity(size.0 as usize),
            xfrac: Vec::with_capacity(size.0 as usize),
            cx: Vec::with_capacity(size.0 as usize),
        }
    }

    /// Floats in one input tensor (`3 * height * width`).
    pub fn input_len(&self) -> usize {
        3 * self.in_w as usize * self.in_h as usize
    }

    /// Letterboxes `region` of `frame` into `out` (CHW, `input_len()` floats) and returns the geometry.
    ///
    /// `region` is clipped to the frame.
    pub fn fill(&mut self, frame: &YuvFrame<'_>, region: Region, out: &mut [f32]) -> Letterbox {
        let region = region.clipped(frame.width, frame.height);
        let lb = Letterbox::fit(region, self.in_w, self.in_h);
        let (in_w, in_h) = (self.in_w as usize, self.in_h as usize);
        let plane = in_w * in_h;
        let out = &mut out[..3 * plane];
        let (w, h) = (frame.width as usize, frame.height as usize);

        // Horizontal sample positions (luma pair, weight, chroma column) are the same on every
        // row: compute them once per call into reused tables.
        self.x0.clear();
        self.xfrac.clear();
        self.cx.clear();
        let max_x = (frame.width - 1) as f32;
        for dx in 0..lb.content_w {
            let sx = (region.x as f32 + (dx as f32 + 0.5) / lb.scale - 0.5).clamp(0.0, max_x);
            let x0 = sx.floor();
            self.x0.push(x0 as u32);
            self.xfrac.push(sx - x0);
            self.cx.push((((sx + 0.5) as usize).min(w - 1) / 2) as u32);
        }

        let y_plane = &frame.data[..w * h];
        let max_y = (frame.height - 1) as f32;
        // Output channel index of R, G and B.
        let (ri, gi, bi) = match self.order {
            ColorOrder::Rgb => (0, 1, 2),
            ColorOrder::Bgr => (2, 1, 0),
        };
        let (mul, add) = (self.mul, self.add);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let content_w = lb.content_w as usize;
        for dy in 0..in_h {
            let row = dy * in_w;
            if dy >= lb.content_h as usize {
                for c in 0..3 {
                    out[c * plane + row..c * plane + row + in_w].fill(self.pad[c]);
                }
                continue;
            }
            let sy = (region.y as f32 + (dy as f32 + 0.5) / lb.scale - 0.5).clamp(0.0, max_y);
            let y0 = sy.floor() as usize;
            let y1 = (y0 + 1).min(h - 1);
            let fy = sy - y0 as f32;
            let (r0, r1) = (&y_plane[y0 * w..y0 * w + w], &y_plane[y1 * w..y1 * w + w]);
            let cy = ((sy + 0.5) as usize).min(h - 1) / 2;
            // The chroma row(s) of this output row, by layout: no per-pixel branch below.
            let (u_row, v_row, step) = match frame.format {
                PixelFormat::I420 => {
                    let u = w * h + cy * cw;
                    let v = w * h + cw * ch + cy * cw;
                    (&frame.data[u..u + cw], &frame.data[v..v + cw], 1)
                }
                PixelFormat::Nv12 => {
                    let uv = w * h + cy * cw * 2;
                    (&frame.data[uv..uv + cw * 2], &frame.data[uv + 1..uv + cw * 2], 2)
                }
            };
            let [out_r, out_g, out_b] = channel_rows(out, plane, row, [ri, gi, bi]);
            for dx in 0..content_w {
                let x0 = self.x0[dx] as usize;
                let x1 = (x0 + 1).min(w - 1);
                let fx = self.xfrac[dx];
                let top = r0[x0] as f32 + (r0[x1] as f32 - r0[x0] as f32) * fx;
                let bot = r1[x0] as f32 + (r1[x1] as f32 - r1[x0] as f32) * fx;
                let luma = top + (bot - top) * fy;
                let c = self.cx[dx] as usize * step;
                let (r, g, b) = yuv_to_rgb(luma, u_row[c] as f32, v_row[c] as f32);
                out_r[dx] = r * mul[ri] + add[ri];
                out_g[dx] = g * mul[gi] + add[gi];
                out_b[dx] = b * mul[bi] + add[bi];
            }
            for c in 0..3 {
                out[c * plane + row + content_w..c * plane + row + in_w].fill(self.pad[c]);
            }
        }
        lb
    }
}

/// Row `row` of the channel planes `order` (each plane `plane` floats; CHW), as three disjoint
/// mutable slices starting at that row.
fn channel_rows(out: &mut [f32], plane: usize, row: usize, order: [usize; 3]) -> [&mut [f32]; 3] {
    let (p0, rest) = out.split_at_mut(plane);
    let (p1, p2) = rest.split_at_mut(plane);
    let mut planes = [Some(&mut p0[row..]), Some(&mut p1[row..]), Some(&mut p2[row..])];
    // The order is a permutation of 0..3 (RGB or BGR), so each plane is taken once.
    order.map(|i| planes[i].take().unwrap_or_default())
}

/// BT.601 limited-range YUV to RGB, each 0..255.
#[inline]
pub fn yuv_to_rgb(y: f32, u: f32, v: f32) -> (f32, f32, f32) {
    let c = 1.164_383 * (y - 16.0);
    let d = u - 128.0;
    let e = v - 128.0;
    let r = c + 1.596_027 * e;
    let g = c - 0.391_762 * d - 0.812_968 * e;
    let b = c + 2.017_232 * d;
    (r.clamp(0.0, 255.0), g.clamp(0.0, 255.0), b.clamp(0.0, 255.0))
}

/// Inverse of [`yuv_to_rgb`], for building test frames.
pub fn rgb_to_yuv(r: f32, g: f32, b: f32) -> (u8, u8, u8) {
    let y = 16.0 + 0.256_788 * r + 0.504_129 * g + 0.097_906 * b;
    let u = 128.0 - 0.148_223 * r - 0.290_993 * g + 0.439_216 * b;
    let v = 128.0 + 0.439_216 * r - 0.367_788 * g - 0.071_427 * b;
    (y.round().clamp(0.0, 255.0) as u8, u.round().clamp(0.0, 255.0) as u8, v.round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::manifest::ModelManifest;

    fn manifest() -> ModelManifest {
        ModelManifest::parse(&std::fs::read_to_string("models/yolox_nano.toml").unwrap()).unwrap()
    }

    #[test]
    fn letterbox_of_a_wide_frame_fits_width_and_pads_below() {
        let lb = Letterbox::fit(Region { x: 0, y: 0, w: 1280, h: 720 }, 416, 416);
        assert!((lb.scale - 0.325).abs() < 1e-6);
        assert_eq!((lb.content_w, lb.content_h), (416, 234));
        // A box in input pixels maps back through scale and region offset.
        let lb = Letterbox::fit(Region { x: 100, y: 50, w: 832, h: 416 }, 416, 416);
        let b = lb.to_frame(BBox { x1: 10.0, y1: 20.0, x2: 30.0, y2: 40.0 });
        assert_eq!(b, BBox { x1: 120.0, y1: 90.0, x2: 160.0, y2: 130.0 });
    }

    #[test]
    fn fill_converts_colour_pads_and_orders_channels() {
        // A 64x32 frame, left half pure red, right half pure blue.
        let (w, h) = (64u32, 32u32);
        let mut data = vec![0u8; crate::frame::yuv420_bytes(w, h)];
        let (cw, ch) = (w as usize / 2, h as usize / 2);
        let base = (w * h) as usize;
        for y in 0..h as usize {
            for x in 0..w as usize {
                let (yy, u, v) = if x < 32 { rgb_to_yuv(255.0, 0.0, 0.0) } else { rgb_to_yuv(0.0, 0.0, 255.0) };
                data[y * w as usize + x] = yy;
                if y % 2 == 0 && x % 2 == 0 {
                    data[base + (y / 2) * cw + x / 2] = u;
                    data[base + cw * ch + (y / 2) * cw + x / 2] = v;
                }
            }
        }
        let frame = YuvFrame::new(&data, w, h, PixelFormat::I420).unwrap();
        let m = manifest();
        let mut pre = Preprocessor::new(&m);
        let mut out = vec![0.0f32; pre.input_len()];
        let lb = pre.fill(&frame, Region { x: 0, y: 0, w, h }, &mut out);
        assert_eq!((lb.content_w, lb.content_h), (416, 208));
        let plane = 416 * 416;
        // BGR order: channel 2 is red. Sample well inside the red half, row 50.
        let at = |c: usize, x: usize, y: usize| out[c * plane + y * 416 + x];
        assert!(at(2, 50, 50) > 240.0 && at(0, 50, 50) < 15.0, "red: r={} b={}", at(2, 50, 50), at(0, 50, 50));
        assert!(at(0, 380, 50) > 240.0 && at(2, 380, 50) < 15.0, "blue");
        // Below the content: padding value 114 in every channel.
        assert_eq!(at(0, 10, 300), 114.0);
        assert_eq!(at(1, 10, 415), 114.0);
    }
}
