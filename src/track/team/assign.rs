//! Teams of tracks: each player track's kit votes, decaying, over its life.

use super::colour::torso_colour;
use super::kits::KitClusters;
use crate::frame::{Detection, ObjectClass, Team, Track, TrackRecord, YuvFrame};

/// How much an older vote still counts after each newer one.
const DECAY: f32 = 0.95;

#[derive(Clone, Copy, Debug)]
struct Votes {
    id: u64,
    a: f32,
    b: f32,
    team: Option<Team>,
    seen: bool,
}

/// Teams of the tracks of each frame. Allocation-free once warm.
#[derive(Debug)]
pub struct TeamAssigner {
    kits: KitClusters,
    colours: Vec<Option<[f32; 3]>>,
    votes: Vec<Votes>,
}

impl TeamAssigner {
    /// An assigner that learns the kits, or uses `pinned` (A, B).
    pub fn new(pinned: Option<[[f32; 3]; 2]>) -> Self {
        TeamAssigner {
            kits: KitClusters::new(pinned),
            colours: Vec::with_capacity(256),
            votes: Vec::with_capacity(128),
        }
    }

    /// The kit colours (RGB, A then B), once known.
    pub fn kits(&self) -> Option<[[f32; 3]; 2]> {
        self.kits.kits()
    }

    /// Reads the kit colour of every person detection of this frame (`None` when the pixels are
    /// not on the host: the frame then casts no votes).
    pub fn read_colours(&mut self, frame: Option<&YuvFrame<'_>>, dets: &[Detection]) {
        self.colours.clear();
        self.colours.extend(dets.iter().map(|d| match frame {
            Some(f) if d.class == ObjectClass::Player => torso_colour(f, &d.bbox),
            _ => None,
        }));
    }

    /// Each detection's kit by its colour (after [`TeamAssigner::read_colours`]), learning
    /// nothing: what the tracker weighs when it associates (`None`: unknown).
    pub fn detection_kits(&self, out: &mut Vec<Option<Team>>) {
        out.clear();
        out.extend(self.colours.iter().map(|c| c.and_then(|c| self.kits.nearest(c))));
    }

    /// Sets each record's team: a player track seen in this frame votes with the colour of the
    /// detection it sits on; goalkeepers, referees and the ball get none.
    pub fn assign(&mut self, records: &mut [TrackRecord], dets: &[Detection]) {
        for r in records.iter_mut() {
            let t = &r.track;
            if t.class != ObjectClass::Player {
                r.team = None;
                continue;
            }
            let vote = if t.frames_since_seen == 0 {
                self.colour_of(t, dets).and_then(|c| self.kits.observe(c))
            } else {
                None
            };
            let i = match self.votes.iter().position(|v| v.id == t.id) {
                Some(i) => i,
                None => {
                    self.votes.push(Votes { id: t.id, a: 0.0, b: 0.0, team: None, seen: false });
                    self.votes.len() - 1
                }
            };
            let v = &mut self.votes[i];
            v.seen = true;
            if let Some(team) = vote {
                v.a *= DECAY;
                v.b *= DECAY;
                match team {
                    Team::A => v.a += 1.0,
                    Team::B => v.b += 1.0,
                }
                // A label needs a clear lead, and changes only on a clear lead the other way.
                if v.a >= 2.0 && v.a > 2.0 * v.b {
                    v.team = Some(Team::A);
                } else if v.b >= 2.0 && v.b > 2.0 * v.a {
                    v.team = Some(Team::B);
                }
            }
            r.team = v.team;
        }
        let mut i = 0;
        while i < self.votes.len() {
            if self.votes[i].seen {
                self.votes[i].seen = false;
                i += 1;
            } else {
                self.votes.swap_remove(i);
            }
        }
    }

    /// The colour of the person detection that best overlaps the track's box.
    fn colour_of(&self, t: &Track, dets: &[Detection]) -> Option<[f32; 3]> {
        let mut best = (0.5f32, None);
        for (d, c) in dets.iter().zip(&self.colours) {
            if d.class.is_person() {
                let iou = d.bbox.iou(&t.bbox);
                if iou > best.0 {
                    best = (iou, *c);
                }
            }
        }
        best.1
    }
}
