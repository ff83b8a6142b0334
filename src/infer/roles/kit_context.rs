//! The frame's context for the roles. A crop alone often cannot tell a goalkeeper from a player
//! whose kit resembles some other match's goalkeeper; the frame can: players share their kit
//! with their team-mates, a goalkeeper or referee wears one unlike everyone else's. On the
//! players set's labelled boxes, the distances from a person's kit to the two nearest other kits
//! in the frame tell goalkeepers and referees from players with an area under the ROC curve of
//! 0.93-0.95 (train and valid splits). That evidence, as a likelihood ratio fitted on the train
//! split (the manifest's `kit_context`), scales the model's probabilities of the non-player roles.

use super::manifest::KitContext;
use crate::frame::{BBox, Detection, ObjectClass};
use crate::infer::pre::YuvFrame;

/// Most roles a model outputs (player, goalkeeper, referee).
const MAX_ROLES: usize = 3;
/// Kit samples per person: a grid of this many by this many over the torso.
const GRID: usize = 5;
/// Distances are counted up to this (RGB, 0..255 a channel), as in the fit.
const FAR: f32 = 200.0;

/// The context's rule and its per-frame buffers (sized once, reused).
pub(super) struct FrameContext {
    rule: KitContext,
    /// Which outputs are roles of a unique kit (not `player`).
    unique_kit: [bool; MAX_ROLES],
    /// Per detection: the model's probabilities (`None`: not a person looked at).
    probs: Vec<Option<[f32; MAX_ROLES]>>,
    /// Per detection: its kit's colour, when a person whose torso lies in the frame.
    kits: Vec<Option<[f32; 3]>>,
}

impl FrameContext {
    pub(super) fn new(rule: KitContext, classes: &[ObjectClass]) -> Self {
        let mut unique_kit = [false; MAX_ROLES];
        for (u, c) in unique_kit.iter_mut().zip(classes) {
            *u = *c != ObjectClass::Player;
        }
        FrameContext { rule, unique_kit, probs: Vec::with_capacity(512), kits: Vec::with_capacity(512) }
    }

    /// Starts a frame of `detections`.
    pub(super) fn begin(&mut self, detections: usize) {
        self.probs.clear();
        self.probs.resize(detections, None);
        self.kits.clear();
        self.kits.resize(detections, None);
    }

    /// The model's probabilities for detection `i`.
    pub(super) fn set_probabilities(&mut self, i: usize, p: &[f32]) {
        let k = p.len().min(MAX_ROLES);
        let mut probs = [0.0; MAX_ROLES];
        probs[..k].copy_from_slice(&p[..k]);
        self.probs[i] = Some(probs);
    }

    /// Gives each person looked at its role: the model's probabilities scaled by the frame's
    /// context (in frames with at least `min_people` people), the most likely role and its
    /// probability in `confidence`.
    pub(super) fn decide(
        &mut self,
        frame: &YuvFrame<'_>,
        dets: &mut [Detection],
        classes: &[ObjectClass],
        confidence: &mut [f32],
    ) {
        let k = classes.len().min(MAX_ROLES);
        for (i, d) in dets.iter().enumerate() {
            if self.probs[i].is_some() {
                self.kits[i] = kit_colour(frame, &d.bbox);
            }
        }
        let people = self.kits.iter().filter(|c| c.is_some()).count();
        let KitContext { weights, bias, min_people, max_log_ratio } = self.rule;
        for (i, d) in dets.iter_mut().enumerate() {
            let Some(mut p) = self.probs[i] else { continue };
            if people >= min_people
                && let Some(kit) = self.kits[i]
            {
                let (d1, d2) = two_nearest(kit, i, &self.kits);
                let log_ratio = weights[0] * d1.ln_1p() + weights[1] * d2.ln_1p() + bias;
                let ratio = log_ratio.clamp(-max_log_ratio, max_log_ratio).exp();
                for (v, unique) in p[..k].iter_mut().zip(self.unique_kit) {
                    if unique {
                        *v *= ratio;
                    }
                }
                let sum: f32 = p[..k].iter().sum();
                if sum > 0.0 {
                    p[..k].iter_mut().for_each(|v| *v /= sum);
                }
            }
            let best = (0..k).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            d.class = classes[best];
            confidence[i] = p[best];
        }
    }
}

/// The distances from `kit` to the two nearest other kits (each at most [`FAR`]).
fn two_nearest(kit: [f32; 3], me: usize, kits: &[Option<[f32; 3]>]) -> (f32, f32) {
    let (mut d1, mut d2) = (FAR, FAR);
    for (j, other) in kits.iter().enumerate() {
        let Some(o) = other else { continue };
        if j == me {
            continue;
        }
        let d = ((kit[0] - o[0]).powi(2) + (kit[1] - o[1]).powi(2) + (kit[2] - o[2]).powi(2)).sqrt();
        if d < d1 {
            (d1, d2) = (d, d1);
        } else if d < d2 {
            d2 = d;
        }
    }
    (d1, d2)
}

/// A person's kit colour: the per-channel median of a grid over the torso (the middle half of
/// the box's width, 20-50 % of its height); `None` when none of it lies in the frame.
fn kit_colour(frame: &YuvFrame<'_>, b: &BBox) -> Option<[f32; 3]> {
    let (w, h) = (b.x2 - b.x1, b.y2 - b.y1);
    let mut samples = [[0.0f32; 3]; GRID * GRID];
    let mut n = 0;
    for j in 0..GRID {
        for i in 0..GRID {
            let x = b.x1 + w * (0.25 + 0.5 * (i as f32 + 0.5) / GRID as f32);
            let y = b.y1 + h * (0.2 + 0.3 * (j as f32 + 0.5) / GRID as f32);
            if x < 0.0 || y < 0.0 || x >= frame.width as f32 || y >= frame.height as f32 {
                continue;
            }
            if let Some(rgb) = frame.rgb(x as u32, y as u32) {
                samples[n] = rgb;
                n += 1;
            }
        }
    }
    if n == 0 {
        return None;
    }
    let mut colour = [0.0f32; 3];
    for (c, out) in colour.iter_mut().enumerate() {
        let mut v = [0.0f32; GRID * GRID];
        for (dst, s) in v.iter_mut().zip(&samples[..n]) {
            *dst = s[c];
        }
        let v = &mut v[..n];
        v.sort_unstable_by(f32::total_cmp);
        *out = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    }
    Some(colour)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PixelFormat;

    /// A grey 4:2:0 frame with each box's torso painted in its (Y, U, V).
    fn frame_with(boxes: &[(BBox, (u8, u8, u8))]) -> (Vec<u8>, u32, u32) {
        let (w, h) = (640u32, 360u32);
        let mut data = vec![128u8; crate::frame::yuv420_bytes(w, h)];
        let (wu, hu) = (w as usize, h as usize);
        for (b, (y, u, v)) in boxes {
            for py in b.y1 as usize..b.y2 as usize {
                for px in b.x1 as usize..b.x2 as usize {
                    data[py * wu + px] = *y;
                    data[wu * hu + (py / 2) * (wu / 2) + px / 2] = *u;
                    data[wu * hu + (wu / 2) * (hu / 2) + (py / 2) * (wu / 2) + px / 2] = *v;
                }
            }
        }
        (data, w, h)
    }

    #[test]
    fn a_kit_unlike_the_others_lifts_the_goalkeeper_and_team_mates_stay_players() {
        let rule = KitContext { weights: [1.0718, 2.5738], bias: -12.4288, min_people: 6, max_log_ratio: 4.0 };
        let classes = [ObjectClass::Player, ObjectClass::Goalkeeper, ObjectClass::Referee];
        let mut ctx = FrameContext::new(rule, &classes);
        // Four red and four white players, and one green: the model leans player for everyone.
        let kits = [(81, 90, 240), (81, 90, 240), (81, 90, 240), (81, 90, 240)]
            .into_iter()
            .chain([(235, 128, 128); 4])
            .chain([(120, 80, 70)]);
        let boxes: Vec<(BBox, (u8, u8, u8))> = kits
            .enumerate()
            .map(|(i, c)| (BBox { x1: 20.0 + 60.0 * i as f32, y1: 100.0, x2: 50.0 + 60.0 * i as f32, y2: 180.0 }, c))
            .collect();
        let (data, w, h) = frame_with(&boxes);
        let frame = YuvFrame::new(&data, w, h, PixelFormat::I420).unwrap();
        let mut dets: Vec<Detection> =
            boxes.iter().map(|(b, _)| Detection { bbox: *b, score: 0.9, class: ObjectClass::Player }).collect();
        let mut confidence = vec![1.0; dets.len()];
        ctx.begin(dets.len());
        for i in 0..dets.len() {
            ctx.set_probabilities(i, &[0.6, 0.3, 0.1]);
        }
        ctx.decide(&frame, &mut dets, &classes, &mut confidence);
        let roles: Vec<ObjectClass> = dets.iter().map(|d| d.class).collect();
        assert_eq!(&roles[..8], &[ObjectClass::Player; 8], "team-mates stay players");
        assert_eq!(roles[8], ObjectClass::Goalkeeper, "the one kit unlike the others");
        assert!(confidence[8] > 0.6 && confidence[0] > 0.6, "{confidence:?}");
        // Too few people in the frame: the model's view stands.
        ctx.begin(3);
        for i in 0..3 {
            ctx.set_probabilities(i, &[0.6, 0.3, 0.1]);
        }
        ctx.decide(&frame, &mut dets[6..], &classes, &mut confidence[..3]);
        assert_eq!(dets[8].class, ObjectClass::Player, "3 people: no context");
        assert!((confidence[2] - 0.6).abs() < 1e-6);
    }
}
