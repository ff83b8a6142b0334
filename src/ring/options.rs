//! The `[ring]` section: how many frames wait between decode and inference, and what happens
//! when inference falls behind.

use serde::{Deserialize, Serialize};

use super::MAX_SLOTS;
use crate::problems::Problems;

/// What the ring does when the detector falls behind.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OverflowPolicy {
    /// Drop the oldest waiting frame and count it: the decode thread never waits (live sources).
    #[default]
    DropOldest,
    /// The decode thread waits for a free slot: every frame is processed (offline files, evaluation).
    Block,
}

/// `[ring]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RingSection {
    /// Preallocated frame slots between decode and inference (2..=16).
    pub slots: usize,
    /// Overflow policy when every slot is full.
    pub overflow: OverflowPolicy,
}

impl Default for RingSection {
    fn default() -> Self {
        RingSection { slots: 4, overflow: OverflowPolicy::DropOldest }
    }
}

impl RingSection {
    /// Checks the section into `p`.
    pub fn check(&self, p: &mut Problems) {
        p.check((2..=MAX_SLOTS).contains(&self.slots), "ring.slots", || {
            format!("{} must be between 2 and {MAX_SLOTS}", self.slots)
        });
    }
}
