//! A person track's role (player, goalkeeper, referee) by a decaying, score-weighted vote over
//! its detections: one frame where the detector calls a player a referee does not flip the track.

use crate::frame::ObjectClass;

/// How much an older detection still counts after each newer one.
const DECAY: f32 = 0.9;
const ROLES: [ObjectClass; 3] = [ObjectClass::Player, ObjectClass::Goalkeeper, ObjectClass::Referee];

/// The vote of one track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct RoleVote {
    weights: [f32; 3],
    role: ObjectClass,
}

impl RoleVote {
    /// A vote started by a track's first detection.
    pub(super) fn new(class: ObjectClass, score: f32) -> Self {
        let mut v = RoleVote { weights: [0.0; 3], role: ObjectClass::Player };
        v.add(class, score);
        v.role = class;
        v
    }

    /// Counts one more detection of the track.
    pub(super) fn add(&mut self, class: ObjectClass, score: f32) {
        for w in &mut self.weights {
            *w *= DECAY;
        }
        if let Some(i) = ROLES.iter().position(|&r| r == class) {
            self.weights[i] += score.clamp(0.0, 1.0);
        }
        // The leader changes only when another role clearly outweighs it.
        let lead = ROLES.iter().position(|&r| r == self.role).unwrap_or(0);
        let (best, &w) = self.weights.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap_or((lead, &0.0));
        if best != lead && w > self.weights[lead] * 1.2 {
            self.role = ROLES[best];
        }
    }

    /// The role the track is published with.
    pub(super) fn role(&self) -> ObjectClass {
        self.role
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_odd_frame_does_not_flip_the_role() {
        let mut v = RoleVote::new(ObjectClass::Player, 0.8);
        for _ in 0..10 {
            v.add(ObjectClass::Player, 0.8);
        }
        v.add(ObjectClass::Referee, 0.9);
        assert_eq!(v.role(), ObjectClass::Player);
    }

    #[test]
    fn a_consistent_role_takes_over() {
        let mut v = RoleVote::new(ObjectClass::Player, 0.4);
        for _ in 0..5 {
            v.add(ObjectClass::Goalkeeper, 0.8);
        }
        assert_eq!(v.role(), ObjectClass::Goalkeeper);
    }

    #[test]
    fn the_first_detection_sets_the_role() {
        assert_eq!(RoleVote::new(ObjectClass::Referee, 0.5).role(), ObjectClass::Referee);
    }
}
