//! A deterministic generator of moving player boxes, shared by tests and benchmarks.

use footrackd::frame::{BBox, Detection, ObjectClass};

/// Players walking on straight lines with bounces, plus a ball, seen by a noiseless detector.
#[derive(Clone, Debug)]
pub struct SyntheticScene {
    players: Vec<(f32, f32, f32, f32)>,
    ball: (f32, f32, f32, f32),
    width: f32,
    height: f32,
}

impl SyntheticScene {
    /// `n` players in a `width` x `height` frame, placed from `seed`.
    pub fn new(n: usize, width: f32, height: f32, seed: u64) -> Self {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 10_000) as f32 / 10_000.0
        };
        let players = (0..n)
            .map(|_| (rnd() * (width - 40.0), rnd() * (height - 90.0), rnd() * 6.0 - 3.0, rnd() * 4.0 - 2.0))
            .collect();
        SyntheticScene { players, ball: (width / 2.0, height / 2.0, 9.0, 4.0), width, height }
    }

    /// Advances one frame and writes this frame's detections into `out` (cleared first).
    pub fn next_frame(&mut self, out: &mut Vec<Detection>) {
        out.clear();
        for p in &mut self.players {
            p.0 += p.2;
            p.1 += p.3;
            if p.0 < 0.0 || p.0 > self.width - 40.0 {
                p.2 = -p.2;
            }
            if p.1 < 0.0 || p.1 > self.height - 90.0 {
                p.3 = -p.3;
            }
            out.push(Detection {
                bbox: BBox::from_xywh(p.0, p.1, 30.0, 80.0),
                score: 0.85,
                class: ObjectClass::Player,
            });
        }
        let b = &mut self.ball;
        b.0 += b.2;
        b.1 += b.3;
        if b.0 < 0.0 || b.0 > self.width {
            b.2 = -b.2;
        }
        if b.1 < 0.0 || b.1 > self.height {
            b.3 = -b.3;
        }
        out.push(Detection { bbox: BBox::from_cxcywh(b.0, b.1, 10.0, 10.0), score: 0.6, class: ObjectClass::Ball });
    }
}
