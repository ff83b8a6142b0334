//! Teams: which side each player track plays for, from the colour of its kit.
//!
//! Per frame: the torso colour of every person detection, grass masked out ([`colour`]); online
//! two-means clustering of the players' colours into kits A and B ([`kits`]: A is the darker kit,
//! so the names survive a restart of clustering, a camera cut or a reconnect; the config may pin
//! both colours); a decaying vote over each track's life ([`TeamAssigner`]) so that a label does
//! not flicker. Goalkeepers and referees (by the detector's role) and colour outliers get no team.

mod assign;
pub mod colour;
mod kits;

pub use assign::TeamAssigner;
pub use kits::{KitClusters, parse_hex_colour};
