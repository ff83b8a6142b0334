//! The multi-object tracker for people: ByteTrack's two-stage association on buffered IoU,
//! with optional camera-motion compensation.
//!
//! Each step: predict every track; estimate the global image shift from last frame's
//! matches (camera pan) and apply it; match high-score detections to all tracks, then
//! low-score detections to the still-unmatched active tracks; start tracks from
//! unmatched confident detections; drop tracks lost for longer than allowed.
//! All buffers live in the tracker and are reused, so a step allocates nothing once warm.

use super::assign::Assignment;
use super::kalman::BoxFilter;
use super::options::TrackerOptions;
use super::role::RoleVote;
use crate::frame::{BBox, Detection, Track};

#[derive(Clone, Debug)]
struct PlayerTrack {
    id: u64,
    roles: RoleVote,
    filter: BoxFilter,
    score: f32,
    hits: u32,
    since_seen: u32,
    confirmed: bool,
    /// Box predicted for this frame, before any update.
    predicted: BBox,
}

/// Tracks people across frames.
#[derive(Debug, Default)]
pub struct PlayerTracker {
    opts: TrackerOptions,
    tracks: Vec<PlayerTrack>,
    next_id: u64,
    assign: Assignment,
    cost: Vec<f32>,
    high: Vec<usize>,
    low: Vec<usize>,
    det_used: Vec<bool>,
    track_matched: Vec<bool>,
    rows: Vec<usize>,
    cols: Vec<usize>,
    shifts: Vec<(f32, f32)>,
    out: Vec<Track>,
    last_shift: (f32, f32),
}

impl PlayerTracker {
    /// A tracker with these options.
    pub fn new(opts: TrackerOptions) -> Self {
        // Room for a crowded broadcast frame (tracks kept while lost included), so that the
        // tables do not grow frame by frame while a match warms up.
        const TRACKS: usize = 128;
        const DETECTIONS: usize = 256;
        PlayerTracker {
            opts,
            next_id: 1,
            tracks: Vec::with_capacity(TRACKS),
            assign: Assignment::with_capacity(DETECTIONS),
            cost: Vec::with_capacity(TRACKS * DETECTIONS),
            high: Vec::with_capacity(DETECTIONS),
            low: Vec::with_capacity(DETECTIONS),
            det_used: Vec::with_capacity(DETECTIONS),
            track_matched: Vec::with_capacity(TRACKS),
            rows: Vec::with_capacity(TRACKS),
            cols: Vec::with_capacity(DETECTIONS),
            shifts: Vec::with_capacity(TRACKS),
            out: Vec::with_capacity(TRACKS),
            last_shift: (0.0, 0.0),
        }
    }

    /// Replaces the options (takes effect from the next step; tracks are kept).
    pub fn set_options(&mut self, opts: TrackerOptions) {
        self.opts = opts;
    }

    /// Number of live tracks (including tentative and lost ones).
    pub fn live_tracks(&self) -> usize {
        self.tracks.len()
    }

    /// The camera shift (pixels per frame) estimated in the last step.
    pub fn last_camera_shift(&self) -> (f32, f32) {
        self.last_shift
    }

    /// Advances by `dt_frames` (1 at the native rate) and associates `dets` (people only are used).
    /// Returns confirmed tracks matched in this frame.
    pub fn step(&mut self, dt_frames: f32, dets: &[Detection]) -> &[Track] {
        let o = self.opts;
        for t in &mut self.tracks {
            if t.since_seen > 0 {
                t.filter.damp_velocity(o.lost_velocity_decay.powf(dt_frames));
            }
            t.filter.predict(dt_frames);
            t.predicted = t.filter.bbox();
        }
        if o.camera_motion_compensation {
            let (dx, dy) = self.estimate_camera_shift(dets);
            self.last_shift = (dx, dy);
            if dx != 0.0 || dy != 0.0 {
                for t in &mut self.tracks {
                    t.filter.shift(dx, dy);
                    t.predicted = t.filter.bbox();
                }
            }
        }

        self.high.clear();
        self.low.clear();
        for (i, d) in dets.iter().enumerate() {
            if !d.class.is_person() {
                continue;
            }
            if d.score >= o.high_score {
                self.high.push(i);
            } else if d.score >= o.low_score {
                self.low.push(i);
            }
        }
        self.det_used.clear();
        self.det_used.resize(dets.len(), false);
        self.track_matched.clear();
        self.track_matched.resize(self.tracks.len(), false);

        // Stage 1: every track (active and lost) against high-score detections.
        self.rows.clear();
        self.rows.extend(0..self.tracks.len());
        let high = std::mem::take(&mut self.high);
        self.associate(dets, &high, o.match_iou, o.iou_buffer_frac);
        self.high = high;
        // Stage 2: active tracks still unmatched against low-score detections (occluded players).
        self.rows.clear();
        for (i, t) in self.tracks.iter().enumerate() {
            if !self.track_matched[i] && t.since_seen == 0 {
                self.rows.push(i);
            }
        }
        let low = std::mem::take(&mut self.low);
        self.associate(dets, &low, o.low_match_iou, o.iou_buffer_frac);
        self.low = low;
        // Stage 3: lost tracks still unmatched against remaining confident detections, by
        // distance in box heights within a radius that grows with the time lost (re-linking
        // after occlusions, where the prediction has drifted too far for any IoU).
        if o.relink_lost {
            self.relink(dets);
        }

        // Age unmatched tracks; tentative ones die at once, confirmed ones after `max_lost_frames`.
        let max_lost = o.max_lost_frames;
        for (i, t) in self.tracks.iter_mut().enumerate() {
            if !self.track_matched[i] {
                t.since_seen = t.since_seen.saturating_add(dt_frames.round().max(1.0) as u32);
            }
        }
        let matched = &self.track_matched;
        let mut i = 0;
        self.tracks.retain(|t| {
            let keep = matched[i] || (t.confirmed && t.since_seen <= max_lost);
            i += 1;
            keep
        });

        // New tracks from confident unmatched detections.
        for &di in &self.high {
            let d = &dets[di];
            if self.det_used[di] || d.score < o.new_track_score {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            self.tracks.push(PlayerTrack {
                id,
                roles: RoleVote::new(d.class, d.score),
                filter: BoxFilter::new(&d.bbox),
                score: d.score,
                hits: 1,
                since_seen: 0,
                confirmed: o.min_hits <= 1,
                predicted: d.bbox,
            });
        }

        self.out.clear();
        for t in &self.tracks {
            if t.confirmed && t.since_seen == 0 {
                self.out.push(Track {
                    id: t.id,
                    class: t.roles.role(),
                    bbox: t.filter.bbox(),
                    score: t.score,
                    frames_since_seen: 0,
                });
            }
        }
        &self.out
    }

    /// Matches `self.rows` (track indices) against `cols` (detection indices) and updates matches.
    fn associate(&mut self, dets: &[Detection], cols: &[usize], min_iou: f32, buffer: f32) {
        let (nr, nc) = (self.rows.len(), cols.len());
        if nr == 0 || nc == 0 {
            return;
        }
        self.cost.clear();
        for &ti in &self.rows {
            let tb = self.tracks[ti].predicted.expanded(buffer);
            for &di in cols {
                let d = &dets[di];
                let iou = if self.det_used[di] { 0.0 } else { tb.iou(&d.bbox.expanded(buffer)) };
                self.cost.push(1.0 - iou);
            }
        }
        self.assign.solve(&self.cost, nr, nc, 1.0 - min_iou);
        for r in 0..nr {
            let Some(c) = self.assign.row_to_col[r] else { continue };
            let (ti, di) = (self.rows[r], cols[c]);
            if self.det_used[di] {
                continue;
            }
            self.det_used[di] = true;
            self.track_matched[ti] = true;
            let t = &mut self.tracks[ti];
            let d = &dets[di];
            t.filter.update(&d.bbox);
            t.roles.add(d.class, d.score);
            t.score = d.score;
            t.since_seen = 0;
            t.hits += 1;
            if t.hits >= self.opts.min_hits {
                t.confirmed = true;
            }
        }
    }

    fn relink(&mut self, dets: &[Detection]) {
        let o = self.opts;
        self.rows.clear();
        for (i, t) in self.tracks.iter().enumerate() {
            if !self.track_matched[i] && t.since_seen > 0 && t.confirmed {
                self.rows.push(i);
            }
        }
        let mut cols = std::mem::take(&mut self.cols);
        cols.clear();
        cols.extend(self.high.iter().copied().filter(|&d| !self.det_used[d]));
        let (nr, nc) = (self.rows.len(), cols.len());
        if nr > 0 && nc > 0 {
            self.cost.clear();
            for &ti in &self.rows {
                let t = &self.tracks[ti];
                let (px, py) = t.predicted.center();
                let h = t.predicted.height().max(1.0);
                let radius = 0.5 + o.relink_heights_per_frame * t.since_seen as f32;
                for &di in &cols {
                    let b = &dets[di].bbox;
                    let (cx, cy) = b.center();
                    let ratio = b.height() / h;
                    let dist = ((cx - px).powi(2) + (cy - py).powi(2)).sqrt() / h;
                    // Normalised to 0..1 inside the gate; 2 (refused) outside it.
                    let c = if (0.75..1.33).contains(&ratio) && dist <= radius { dist / radius } else { 2.0 };
                    self.cost.push(c);
                }
            }
            self.assign.solve(&self.cost, nr, nc, 1.0);
            for r in 0..nr {
                let Some(c) = self.assign.row_to_col[r] else { continue };
                let (ti, di) = (self.rows[r], cols[c]);
                self.det_used[di] = true;
                self.track_matched[ti] = true;
                let t = &mut self.tracks[ti];
                t.filter.update(&dets[di].bbox);
                t.roles.add(dets[di].class, dets[di].score);
                t.score = dets[di].score;
                t.since_seen = 0;
                t.hits += 1;
            }
        }
        self.cols = cols;
    }

    /// Global image shift between the prediction and this frame's detections: the median offset
    /// of each active track's predicted centre to its nearest confident detection. Players move
    /// in all directions while a pan moves everything together, so the median isolates the pan.
    fn estimate_camera_shift(&mut self, dets: &[Detection]) -> (f32, f32) {
        self.shifts.clear();
        for t in &self.tracks {
            if t.since_seen != 0 || !t.confirmed {
                continue;
            }
            let (pcx, pcy) = t.predicted.center();
            let h = t.predicted.height().max(1.0);
            let mut best: Option<(f32, f32, f32)> = None;
            for d in dets {
                if !d.class.is_person() || d.score < self.opts.high_score {
                    continue;
                }
                // Only detections of similar size, within a generous window (fast pans).
                let ratio = d.bbox.height() / h;
                if !(0.7..1.4).contains(&ratio) {
                    continue;
                }
                let (cx, cy) = d.bbox.center();
                let (dx, dy) = (cx - pcx, cy - pcy);
                let dist2 = dx * dx + dy * dy;
                if dist2 < (3.0 * h).powi(2) && best.is_none_or(|b| dist2 < b.2) {
                    best = Some((dx, dy, dist2));
                }
            }
            if let Some((dx, dy, _)) = best {
                self.shifts.push((dx, dy));
            }
        }
        if self.shifts.len() < 4 {
            return (0.0, 0.0);
        }
        let n = self.shifts.len();
        self.shifts.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mx = self.shifts[n / 2].0;
        self.shifts.sort_unstable_by(|a, b| a.1.total_cmp(&b.1));
        let my = self.shifts[n / 2].1;
        // Ignore sub-pixel noise: the Kalman velocity already absorbs slow drift.
        if mx.abs() < 1.0 && my.abs() < 1.0 { (0.0, 0.0) } else { (mx, my) }
    }
}
