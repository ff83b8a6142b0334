//! The multi-object tracker for people: ByteTrack's two-stage association on buffered IoU,
//! with optional camera-motion compensation.
//!
//! Each step: predict every track; estimate the global image shift from last frame's
//! matches (camera pan) and apply it; match high-score detections to all tracks, then
//! low-score detections to the still-unmatched active tracks; start tracks from
//! unmatched confident detections; drop tracks lost for longer than allowed.
//! All buffers live in the tracker and are reused, so a step allocates nothing once warm.

use super::assign::Assignment;
use super::kalman::{BoxFilter, PointFilter};
use super::options::TrackerOptions;
use super::role::RoleVote;
use crate::frame::{BBox, Detection, Team, Track};
use crate::pitch::Homography;

/// What the pitch says about one frame: the calibration in use, where the view ends, and each
/// detection's kit. All optional: without a homography the tracker works in the image alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct FramePitch<'a> {
    /// Image pixels to pitch metres, while the calibration is trusted.
    pub homography: Option<&'a Homography>,
    /// The frame's width and height, pixels (where the view ends).
    pub frame_size: (f32, f32),
    /// Each detection's kit, aligned with the detections (empty or `None`: not known).
    pub teams: &'a [Option<Team>],
}

/// Random acceleration of a player, m/s² (sprints start and stop within a second).
const PITCH_ACCEL: f32 = 4.0;
/// Noise of a position on the pitch from one detection, metres.
const PITCH_MEAS_M: f32 = 0.5;
/// Added to a match's cost when the detection's kit is not the track's.
const KIT_CLASH: f32 = 0.2;
/// A pitch state not updated for this long (no calibration) is dropped, seconds.
const PITCH_STALE_SECS: f32 = 2.0;
/// Share of the cost given to the distance on the pitch (the rest: image overlap).
const PITCH_WEIGHT: f32 = 0.4;
/// Share of an unseen player's speed kept after a second.
const LOST_SPEED_KEPT_PER_SEC: f32 = 0.5;
/// A lost player is looked for within this share of what he could have run at full speed (few
/// run flat out while out of the picture).
const RELINK_SPEED_SHARE: f32 = 0.4;
/// Added to a re-link's cost (0..0.6 inside the radius) when the kits differ: a re-link across
/// kits needs the new track within half the radius (one or two kit votes can be wrong).
const RELINK_KIT_CLASH: f32 = 0.7;
/// The farthest a player who left the view is looked for, metres.
const MAX_RELINK_M: f32 = 30.0;
/// Lost this long, a player followed on the pitch is no longer matched by his box in the image:
/// it drifts on with its last image velocity and the camera's pans, and would take whoever
/// passes under it. He is found again on the pitch instead (`merge_new_into_lost`), seconds.
const IMAGE_TRUSTED_LOST_SECS: f32 = 0.6;

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
    /// Position and velocity on the pitch (metres, m/s), while the camera is calibrated.
    pitch: Option<PointFilter>,
    /// Frames since the pitch state was last corrected.
    since_pitch: u32,
    /// Kit votes (A, B) of its detections.
    kits: [u32; 2],
    /// Lost with its predicted place outside the view (kept longer, re-linked on the pitch).
    out_of_view: bool,
    /// Frames since it started.
    age: u32,
    /// Confirmed in this step: a player new to the tracker, or a lost one found again.
    just_confirmed: bool,
}

impl PlayerTrack {
    /// Its kit, once the votes say so clearly.
    fn team(&self) -> Option<Team> {
        let [a, b] = self.kits;
        let n = a + b;
        if n < 3 {
            return None;
        }
        if a * 10 >= n * 7 {
            Some(Team::A)
        } else if b * 10 >= n * 7 {
            Some(Team::B)
        } else {
            None
        }
    }

    /// The kit most of its votes say, however few (a new track's one or two).
    fn kit_majority(&self) -> Option<Team> {
        let [a, b] = self.kits;
        match a.cmp(&b) {
            std::cmp::Ordering::Greater => Some(Team::A),
            std::cmp::Ordering::Less => Some(Team::B),
            std::cmp::Ordering::Equal => None,
        }
    }

    /// Corrects the pitch state with a detection's place (starting it if needed) and kit.
    fn observe_pitch(&mut self, at: Option<(f32, f32)>, kit: Option<Team>) {
        if let Some(p) = at {
            match self.pitch.as_mut() {
                Some(f) => f.update(p, PITCH_MEAS_M),
                None => self.pitch = Some(PointFilter::new(p, (0.0, 0.0), PITCH_MEAS_M, 3.0)),
            }
            self.since_pitch = 0;
        }
        match kit {
            Some(Team::A) => self.kits[0] += 1,
            Some(Team::B) => self.kits[1] += 1,
            None => {}
        }
    }
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
    /// This frame's detections on the pitch (feet), when calibrated.
    det_pitch: Vec<Option<(f32, f32)>>,
    /// This frame's detections' kits.
    det_kits: Vec<Option<Team>>,
    /// Seconds this step covers.
    dt_secs: f32,
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
            det_pitch: Vec::with_capacity(DETECTIONS),
            det_kits: Vec::with_capacity(DETECTIONS),
            dt_secs: 0.04,
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
        self.step_on_pitch(dt_frames, dets, FramePitch::default())
    }

    /// [`PlayerTracker::step`] with what the pitch says about this frame: while a homography is
    /// given (and `pitch_association` is on), players are also followed in metres.
    pub fn step_on_pitch(&mut self, dt_frames: f32, dets: &[Detection], pitch: FramePitch<'_>) -> &[Track] {
        let o = self.opts;
        self.dt_secs = dt_frames * o.frame_secs;
        let stale = (PITCH_STALE_SECS / o.frame_secs) as u32;
        for t in &mut self.tracks {
            if t.since_seen > 0 {
                t.filter.damp_velocity(o.lost_velocity_decay.powf(dt_frames));
            }
            t.filter.predict(dt_frames);
            t.predicted = t.filter.bbox();
            t.age = t.age.saturating_add(dt_frames.round().max(1.0) as u32);
            t.just_confirmed = false;
            t.since_pitch = t.since_pitch.saturating_add(dt_frames.round().max(1.0) as u32);
            if t.since_pitch > stale && t.since_seen == 0 {
                t.pitch = None;
            }
            if let Some(f) = t.pitch.as_mut() {
                // Unseen players slow down and turn; running on at their last speed they would
                // leave the pitch within seconds.
                if t.since_seen > 0 {
                    f.damp_velocity(LOST_SPEED_KEPT_PER_SEC.powf(self.dt_secs));
                }
                f.predict(self.dt_secs, PITCH_ACCEL);
            }
        }
        let homography = pitch.homography.filter(|_| o.pitch_association);
        self.det_pitch.clear();
        self.det_kits.clear();
        for (i, d) in dets.iter().enumerate() {
            let feet = homography.and_then(|h| h.apply((d.bbox.x1 + d.bbox.x2) / 2.0, d.bbox.y2));
            self.det_pitch.push(feet.filter(|_| d.class.is_person()));
            self.det_kits.push(pitch.teams.get(i).copied().flatten());
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

        // Age unmatched tracks; tentative ones die at once, confirmed ones after `max_lost_frames`,
        // or `max_out_of_view_frames` while their predicted place is outside the view.
        let to_image = homography.and_then(Homography::inverse);
        let (w, h) = pitch.frame_size;
        for (i, t) in self.tracks.iter_mut().enumerate() {
            if !self.track_matched[i] {
                t.since_seen = t.since_seen.saturating_add(dt_frames.round().max(1.0) as u32);
                if let (Some(f), Some(inv)) = (t.pitch.as_ref(), to_image.as_ref()) {
                    let (px, py) = f.position();
                    t.out_of_view = inv.apply(px, py).is_none_or(|(u, v)| u < 0.0 || v < 0.0 || u > w || v > h);
                }
            }
        }
        let (max_lost, max_away) = (o.max_lost_frames, o.max_out_of_view_frames);
        let matched = &self.track_matched;
        let mut i = 0;
        self.tracks.retain(|t| {
            // Followed on the pitch, a player hidden in the view can be looked for twice as long
            // (the pitch gates keep that safe); one outside the view, as long as allowed.
            let lost_for = if t.pitch.is_some() { 2 * max_lost } else { max_lost };
            let away = t.out_of_view && t.pitch.is_some();
            let keep = matched[i] || (t.confirmed && (t.since_seen <= lost_for || (away && t.since_seen <= max_away)));
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
            let mut t = PlayerTrack {
                id,
                roles: RoleVote::new(d.class, d.score),
                filter: BoxFilter::new(&d.bbox),
                score: d.score,
                hits: 1,
                since_seen: 0,
                confirmed: o.min_hits <= 1,
                predicted: d.bbox,
                pitch: None,
                since_pitch: 0,
                kits: [0, 0],
                out_of_view: false,
                age: 0,
                just_confirmed: o.min_hits <= 1,
            };
            t.observe_pitch(self.det_pitch[di], self.det_kits[di]);
            self.tracks.push(t);
        }

        // Stage 4: players who left the view (or were lost on it) found again on the pitch: a
        // track confirmed in this step, where a lost player can have run to by now, is him.
        if homography.is_some() {
            self.merge_new_into_lost();
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
            let t = &self.tracks[ti];
            let tb = t.predicted.expanded(buffer);
            let gate = self.pitch_gate(t);
            let team = t.team();
            let image_stale = t.pitch.is_some() && t.since_seen as f32 * self.opts.frame_secs > IMAGE_TRUSTED_LOST_SECS;
            for &di in cols {
                if image_stale {
                    self.cost.push(2.0);
                    continue;
                }
                let d = &dets[di];
                let iou = if self.det_used[di] { 0.0 } else { tb.iou(&d.bbox.expanded(buffer)) };
                let on_pitch = match (t.pitch.as_ref(), self.det_pitch[di]) {
                    (Some(f), Some(p)) => Some(distance(f.position(), p) / gate),
                    _ => None,
                };
                let mut c = match on_pitch {
                    // Farther than the player can have run: never him.
                    Some(q) if q > 1.0 => 2.0,
                    Some(q) => (1.0 - PITCH_WEIGHT) * (1.0 - iou) + PITCH_WEIGHT * q,
                    None => 1.0 - iou,
                };
                if matches!((team, self.det_kits[di]), (Some(a), Some(b)) if a != b) {
                    c += KIT_CLASH;
                }
                self.cost.push(c);
            }
        }
        self.assign.solve(&self.cost, nr, nc, 1.0 - min_iou);
        for r in 0..nr {
            let Some(c) = self.assign.row_to_col[r] else { continue };
            let (ti, di) = (self.rows[r], cols[c]);
            if self.det_used[di] {
                continue;
            }
            self.take(ti, di, dets);
        }
    }

    /// Gives detection `di` to track `ti`: its box corrected by it, its place on the pitch, kit
    /// and role votes.
    fn take(&mut self, ti: usize, di: usize, dets: &[Detection]) {
        self.det_used[di] = true;
        self.track_matched[ti] = true;
        let d = &dets[di];
        let t = &mut self.tracks[ti];
        t.filter.update(&d.bbox);
        t.observe_pitch(self.det_pitch[di], self.det_kits[di]);
        t.out_of_view = false;
        t.roles.add(d.class, d.score);
        t.score = d.score;
        t.since_seen = 0;
        t.hits += 1;
        if !t.confirmed && t.hits >= self.opts.min_hits {
            t.confirmed = true;
            t.just_confirmed = true;
        }
    }

    /// How far on the pitch a track's detection may be from its prediction, metres.
    fn pitch_gate(&self, t: &PlayerTrack) -> f32 {
        let o = &self.opts;
        o.pitch_gate_m + o.max_speed_mps * self.dt_secs * (1 + t.since_seen) as f32
    }

    /// Lost tracks with a place on the pitch against the tracks confirmed in this step, by
    /// distance within what the player can have run since he was last seen (the kit a strong
    /// preference): a lost player found again takes the new track's state and keeps his id. New
    /// tracks rather than single detections: a detection its own track missed once (a crowd, a
    /// jittery box) would otherwise be taken by a player lost nearby; a new track needs
    /// `min_hits` detections and was never seen beside the lost one.
    fn merge_new_into_lost(&mut self) {
        let o = self.opts;
        self.rows.clear();
        let mut cols = std::mem::take(&mut self.cols);
        cols.clear();
        for (i, t) in self.tracks.iter().enumerate() {
            if t.pitch.is_none() {
                continue;
            }
            if t.since_seen > 0 && t.confirmed {
                self.rows.push(i);
            } else if t.just_confirmed && t.since_seen == 0 {
                cols.push(i);
            }
        }
        let (nr, nc) = (self.rows.len(), cols.len());
        if nr > 0 && nc > 0 {
            self.cost.clear();
            for &li in &self.rows {
                let lost = &self.tracks[li];
                let lost_secs = lost.since_seen as f32 * o.frame_secs;
                let radius = (o.pitch_gate_m + o.max_speed_mps * RELINK_SPEED_SHARE * lost_secs).min(MAX_RELINK_M);
                let at = lost.pitch.as_ref().map_or((0.0, 0.0), PointFilter::position);
                let team = lost.team();
                for &ni in &cols {
                    let new = &self.tracks[ni];
                    let d = new.pitch.as_ref().map_or(f32::INFINITY, |f| distance(at, f.position()));
                    let clash = matches!((team, new.kit_majority()), (Some(a), Some(b)) if a != b);
                    // Seen at the same time as the lost one (he was lost after it started): another player.
                    let c = if lost.since_seen > new.age && d <= radius {
                        d / radius * 0.6 + if clash { RELINK_KIT_CLASH } else { 0.0 }
                    } else {
                        2.0
                    };
                    self.cost.push(c);
                }
            }
            self.assign.solve(&self.cost, nr, nc, 1.0);
            for r in 0..nr {
                let Some(c) = self.assign.row_to_col[r] else { continue };
                let (li, ni) = (self.rows[r], cols[c]);
                let n = self.tracks[ni].clone();
                // The new track goes (no hits left); the lost one carries on from its state.
                self.tracks[ni].hits = 0;
                let t = &mut self.tracks[li];
                t.filter = n.filter;
                t.predicted = t.filter.bbox();
                t.pitch = n.pitch;
                t.since_pitch = 0;
                t.kits = [t.kits[0] + n.kits[0], t.kits[1] + n.kits[1]];
                t.score = n.score;
                t.since_seen = 0;
                t.hits += n.hits;
                t.out_of_view = false;
            }
            self.tracks.retain(|t| t.hits > 0);
        }
        self.cols = cols;
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
                self.take(self.rows[r], cols[c], dets);
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

fn distance((ax, ay): (f32, f32), (bx, by): (f32, f32)) -> f32 {
    ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt()
}
