//! Two kit colours, learnt online by two-means clustering of players' torso colours (or pinned by
//! the config). Kit A is the darker one: the names do not depend on who was seen first, so a
//! restart of clustering, a camera cut or a reconnect gives the same names for the same kits.

use crate::frame::Team;

/// Samples kept for (re-)clustering.
const RESERVOIR: usize = 256;
/// Samples needed before the first clustering.
const FIRST_CLUSTERING: usize = 48;
/// Re-cluster after this many new samples (the centroids also follow each sample slowly).
const RECLUSTER_EVERY: usize = 400;

/// Online clusters of two kit colours (RGB).
#[derive(Debug, Clone)]
pub struct KitClusters {
    centroids: Option<[[f32; 3]; 2]>,
    pinned: bool,
    reservoir: Vec<[f32; 3]>,
    next: usize,
    since_clustering: usize,
}

impl KitClusters {
    /// Clusters that learn both kits, or that use `pinned` (A, B) as given.
    pub fn new(pinned: Option<[[f32; 3]; 2]>) -> Self {
        KitClusters {
            centroids: pinned,
            pinned: pinned.is_some(),
            reservoir: Vec::with_capacity(RESERVOIR),
            next: 0,
            since_clustering: 0,
        }
    }

    /// The kit colours, once known: (A, B).
    pub fn kits(&self) -> Option<[[f32; 3]; 2]> {
        self.centroids
    }

    /// Adds a player's colour and returns its kit, or `None` before the kits are known and for
    /// colours far from both (a referee or goalkeeper the detector called a player, a bad crop).
    pub fn observe(&mut self, colour: [f32; 3]) -> Option<Team> {
        if !self.pinned {
            if self.reservoir.len() < RESERVOIR {
                self.reservoir.push(colour);
            } else {
                self.reservoir[self.next] = colour;
                self.next = (self.next + 1) % RESERVOIR;
            }
            self.since_clustering += 1;
            let due = match self.centroids {
                None => self.reservoir.len() >= FIRST_CLUSTERING,
                Some(_) => self.since_clustering >= RECLUSTER_EVERY,
            };
            if due {
                self.cluster();
            }
        }
        let team = self.nearest(colour)?;
        let i = if team == Team::A { 0 } else { 1 };
        if !self.pinned
            && let Some(c) = self.centroids.as_mut()
        {
            for k in 0..3 {
                c[i][k] += (colour[k] - c[i][k]) * 0.02;
            }
        }
        Some(team)
    }

    /// The kit a colour belongs to, learning nothing (`None`: kits not known yet, or an outlier).
    pub fn nearest(&self, colour: [f32; 3]) -> Option<Team> {
        let [a, b] = self.centroids?;
        let (da, db) = (dist(colour, a), dist(colour, b));
        let separation = dist(a, b);
        // An outlier is nearer neither kit than the kits are to each other.
        if da.min(db) > (0.6 * separation).max(35.0) {
            return None;
        }
        Some(if da <= db { Team::A } else { Team::B })
    }

    /// Two-means over the reservoir (deterministic start: the two samples farthest apart along
    /// the main spread), then names by brightness and, after the first time, by nearness to the
    /// previous kits so that A stays A.
    fn cluster(&mut self) {
        self.since_clustering = 0;
        let s = &self.reservoir;
        if s.len() < 2 {
            return;
        }
        let far =
            |from: [f32; 3]| s.iter().copied().max_by(|p, q| dist(*p, from).total_cmp(&dist(*q, from))).unwrap_or(from);
        let mean = mean_of(s.iter().copied()).unwrap_or([0.0; 3]);
        let mut c = [far(mean), [0.0; 3]];
        c[1] = far(c[0]);
        for _ in 0..10 {
            let a = mean_of(s.iter().copied().filter(|p| dist(*p, c[0]) <= dist(*p, c[1])));
            let b = mean_of(s.iter().copied().filter(|p| dist(*p, c[0]) > dist(*p, c[1])));
            match (a, b) {
                (Some(a), Some(b)) => c = [a, b],
                _ => return,
            }
        }
        let named = match self.centroids {
            Some([pa, pb]) if dist(c[0], pb) + dist(c[1], pa) < dist(c[0], pa) + dist(c[1], pb) => [c[1], c[0]],
            Some(_) => c,
            None if luma(c[0]) <= luma(c[1]) => c,
            None => [c[1], c[0]],
        };
        self.centroids = Some(named);
    }
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

fn luma(c: [f32; 3]) -> f32 {
    0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

fn mean_of(it: impl Iterator<Item = [f32; 3]>) -> Option<[f32; 3]> {
    let (mut s, mut n) = ([0.0f32; 3], 0u32);
    for p in it {
        s = [s[0] + p[0], s[1] + p[1], s[2] + p[2]];
        n += 1;
    }
    (n > 0).then(|| s.map(|v| v / n as f32))
}

/// Parses `#rrggbb` into RGB.
pub fn parse_hex_colour(s: &str) -> Option<[f32; 3]> {
    let h = s.strip_prefix('#')?;
    if h.len() != 6 || !h.is_ascii() {
        return None;
    }
    let v = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok().map(f32::from);
    Some([v(0)?, v(2)?, v(4)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jitter(c: [f32; 3], k: usize) -> [f32; 3] {
        let d = (k % 7) as f32 * 3.0 - 9.0;
        [c[0] + d, c[1] - d, c[2] + d * 0.5]
    }

    const RED: [f32; 3] = [200.0, 30.0, 40.0];
    const WHITE: [f32; 3] = [230.0, 230.0, 225.0];

    #[test]
    fn two_kits_are_learnt_and_named_by_brightness_whoever_comes_first() {
        for first in [RED, WHITE] {
            let mut k = KitClusters::new(None);
            let second = if first == RED { WHITE } else { RED };
            for i in 0..100 {
                k.observe(jitter(if i % 3 == 0 { second } else { first }, i));
            }
            assert_eq!(k.observe(RED), Some(Team::A), "red is darker than white");
            assert_eq!(k.observe(WHITE), Some(Team::B));
            assert_eq!(k.observe([20.0, 20.0, 240.0]), None, "a blue referee is neither");
        }
    }

    #[test]
    fn reclustering_keeps_the_names_and_pinned_colours_are_used_as_given() {
        let mut k = KitClusters::new(None);
        for i in 0..2000 {
            k.observe(jitter(if i % 2 == 0 { RED } else { WHITE }, i));
        }
        assert_eq!(k.observe(RED), Some(Team::A));
        let mut pinned = KitClusters::new(Some([WHITE, RED]));
        assert_eq!(pinned.observe(RED), Some(Team::B), "pinned: A is white, as configured");
        assert_eq!(parse_hex_colour("#ff8000"), Some([255.0, 128.0, 0.0]));
        assert_eq!(parse_hex_colour("ff8000"), None);
    }
}
