//! Post-processing: model output tensors to detections, and class-aware non-maximum suppression.
//!
//! Decoders append to a caller-owned `Vec` so that no allocation happens per frame once it has grown.

use crate::frame::{BBox, Detection, ObjectClass};

/// The lowest scores decoded: people at one, the ball at its own (lower while the ball's second
/// look wants weak candidates to look at again).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// People (every role).
    pub people: f32,
    /// The ball.
    pub ball: f32,
}

impl Thresholds {
    /// One threshold for every class.
    pub fn all(score: f32) -> Self {
        Thresholds { people: score, ball: score }
    }

    fn of(self, class: ObjectClass) -> f32 {
        if class == ObjectClass::Ball { self.ball } else { self.people }
    }

    fn lowest(self) -> f32 {
        self.people.min(self.ball)
    }
}

/// Decodes a YOLOX output `[1, N, 5 + C]` whose rows are raw grid offsets.
///
/// `class_table[i]` says what model class `i` becomes (`None` = ignored). Boxes are in
/// model-input pixels; detections scoring below their threshold (objectness x class) are skipped.
pub fn decode_yolox(
    output: &[f32],
    input_w: u32,
    input_h: u32,
    strides: &[u32],
    class_table: &[Option<ObjectClass>],
    threshold: Thresholds,
    out: &mut Vec<Detection>,
) {
    let row_len = 5 + class_table.len();
    let floor = threshold.lowest();
    let mut row = 0usize;
    for &stride in strides {
        let gw = (input_w / stride) as usize;
        let gh = (input_h / stride) as usize;
        let s = stride as f32;
        for gy in 0..gh {
            for gx in 0..gw {
                let Some(r) = output.get(row * row_len..(row + 1) * row_len) else { return };
                row += 1;
                let obj = r[4];
                if obj < floor {
                    continue;
                }
                let mut best: Option<(ObjectClass, f32)> = None;
                for (ci, class) in class_table.iter().enumerate() {
                    let Some(class) = class else { continue };
                    let score = obj * r[5 + ci];
                    if score >= threshold.of(*class) && best.is_none_or(|(_, b)| score > b) {
                        best = Some((*class, score));
                    }
                }
                if let Some((class, score)) = best {
                    let cx = (r[0] + gx as f32) * s;
                    let cy = (r[1] + gy as f32) * s;
                    let w = r[2].exp() * s;
                    let h = r[3].exp() * s;
                    out.push(Detection { bbox: BBox::from_cxcywh(cx, cy, w, h), score, class });
                }
            }
        }
    }
}

/// Decodes an Ultralytics YOLOv8/YOLO11 output `[1, 4 + C, N]`: column `n` holds
/// `(cx, cy, w, h, score_0 .. score_C-1)` in model-input pixels, scores already in 0..1.
pub fn decode_yolov8(
    output: &[f32],
    anchors: usize,
    class_table: &[Option<ObjectClass>],
    threshold: Thresholds,
    out: &mut Vec<Detection>,
) {
    let rows = 4 + class_table.len();
    if output.len() < rows * anchors {
        return;
    }
    let at = |k: usize, n: usize| output[k * anchors + n];
    for n in 0..anchors {
        let mut best: Option<(ObjectClass, f32)> = None;
        for (ci, class) in class_table.iter().enumerate() {
            let Some(class) = class else { continue };
            let score = at(4 + ci, n);
            if score >= threshold.of(*class) && best.is_none_or(|(_, b)| score > b) {
                best = Some((*class, score));
            }
        }
        if let Some((class, score)) = best {
            let bbox = BBox::from_cxcywh(at(0, n), at(1, n), at(2, n), at(3, n));
            out.push(Detection { bbox, score, class });
        }
    }
}

/// Greedy non-maximum suppression, in place: keeps the highest-scoring box of each overlapping
/// group (IoU above `iou_threshold`). People suppress people whatever their role (one person is
/// one detection, with the role that scored best); the ball only suppresses the ball. The
/// survivors are sorted by score.
pub fn nms_in_place(dets: &mut Vec<Detection>, iou_threshold: f32) {
    dets.sort_unstable_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = 0usize;
    for i in 0..dets.len() {
        let cand = dets[i];
        let suppressed = dets[..kept]
            .iter()
            .any(|k| k.class.is_person() == cand.class.is_person() && k.bbox.iou(&cand.bbox) > iou_threshold);
        if !suppressed {
            dets[kept] = cand;
            kept += 1;
        }
    }
    dets.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<Option<ObjectClass>> {
        let mut t = vec![None; 80];
        t[0] = Some(ObjectClass::Player);
        t[32] = Some(ObjectClass::Ball);
        t
    }

    #[test]
    fn yolox_rows_decode_to_known_boxes_on_their_grids() {
        // 64x64 input, strides 8/16/32: grids 8x8, 4x4, 2x2 = 84 rows of 85.
        let t = table();
        let mut out = vec![0.0f32; 84 * 85];
        // Row for stride 8 at grid (gx=3, gy=2): index 2*8+3 = 19. Player with obj 0.9, cls 0.8.
        let r = &mut out[19 * 85..20 * 85];
        r[0] = 0.5;
        r[1] = 0.25;
        r[2] = (2.0f32).ln();
        r[3] = (4.0f32).ln();
        r[4] = 0.9;
        r[5] = 0.8;
        r[5 + 7] = 0.95; // an unmapped class scoring higher must be ignored
        // Row for stride 16 at grid (1,1): 64 + 1*4 + 1 = 69. Ball.
        let r = &mut out[69 * 85..70 * 85];
        r[4] = 0.8;
        r[5 + 32] = 0.9;
        // Row below threshold.
        out[4] = 0.1;
        out[5] = 0.1;
        let mut dets = Vec::new();
        decode_yolox(&out, 64, 64, &[8, 16, 32], &t, Thresholds::all(0.3), &mut dets);
        assert_eq!(dets.len(), 2);
        let p = dets[0];
        assert_eq!(p.class, ObjectClass::Player);
        assert!((p.score - 0.72).abs() < 1e-6);
        // cx = (0.5 + 3) * 8 = 28, cy = (0.25 + 2) * 8 = 18, w = 16, h = 32.
        assert_eq!(p.bbox, BBox::from_cxcywh(28.0, 18.0, 16.0, 32.0));
        let b = dets[1];
        assert_eq!(b.class, ObjectClass::Ball);
        assert_eq!(b.bbox, BBox::from_cxcywh(16.0, 16.0, 16.0, 16.0));
    }

    #[test]
    fn yolov8_columns_decode_to_known_boxes() {
        // 3 anchors, 80 classes: tensor [84, 3] flattened row-major.
        let t = table();
        let n = 3;
        let mut out = vec![0.0f32; 84 * n];
        let mut set = |k: usize, a: usize, v: f32| out[k * n + a] = v;
        // Anchor 0: player at (100, 50) size 20x40, score 0.9.
        set(0, 0, 100.0);
        set(1, 0, 50.0);
        set(2, 0, 20.0);
        set(3, 0, 40.0);
        set(4, 0, 0.9);
        // Anchor 1: ball at (10, 10) size 4x4, score 0.6; also person 0.2.
        set(0, 1, 10.0);
        set(1, 1, 10.0);
        set(2, 1, 4.0);
        set(3, 1, 4.0);
        set(4 + 32, 1, 0.6);
        set(4, 1, 0.2);
        // Anchor 2: only an unmapped class.
        set(4 + 5, 2, 0.99);
        let mut dets = Vec::new();
        decode_yolov8(&out, n, &t, Thresholds::all(0.25), &mut dets);
        assert_eq!(dets.len(), 2);
        assert_eq!(dets[0].class, ObjectClass::Player);
        assert_eq!(dets[0].bbox, BBox { x1: 90.0, y1: 30.0, x2: 110.0, y2: 70.0 });
        assert_eq!(dets[1].class, ObjectClass::Ball);
        assert!((dets[1].score - 0.6).abs() < 1e-6);
        assert_eq!(dets[1].bbox, BBox { x1: 8.0, y1: 8.0, x2: 12.0, y2: 12.0 });
    }

    #[test]
    fn nms_keeps_the_best_of_each_overlapping_group_per_class() {
        let d = |x: f32, s: f32, class| Detection { bbox: BBox::from_xywh(x, 0.0, 10.0, 10.0), score: s, class };
        let mut dets = vec![
            d(0.0, 0.5, ObjectClass::Player),
            d(1.0, 0.9, ObjectClass::Player), // overlaps the first heavily, scores higher
            d(1.0, 0.4, ObjectClass::Ball),   // same place, other class: kept
            d(50.0, 0.3, ObjectClass::Player),
        ];
        nms_in_place(&mut dets, 0.5);
        assert_eq!(dets.len(), 3);
        assert_eq!(dets[0].score, 0.9);
        assert!(dets.iter().any(|x| x.class == ObjectClass::Ball));
    }

    #[test]
    fn one_person_is_one_detection_whatever_its_roles() {
        let d = |x: f32, s: f32, class| Detection { bbox: BBox::from_xywh(x, 0.0, 20.0, 50.0), score: s, class };
        let mut dets = vec![
            d(0.0, 0.6, ObjectClass::Player),
            d(1.0, 0.8, ObjectClass::Referee),
            d(60.0, 0.5, ObjectClass::Goalkeeper),
        ];
        nms_in_place(&mut dets, 0.5);
        assert_eq!(dets.len(), 2, "{dets:?}");
        assert_eq!(dets[0].class, ObjectClass::Referee);
        assert_eq!(dets[1].class, ObjectClass::Goalkeeper);
    }
}
