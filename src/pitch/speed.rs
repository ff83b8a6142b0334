//! Speeds and distances of tracks from their successive pitch positions.

/// Per track: last raw position, its time, the smoothed position, smoothed speed and distance.
#[derive(Clone, Copy, Debug)]
struct Motion {
    id: u64,
    t: f64,
    sx: f32,
    sy: f32,
    speed: f32,
    vx: f32,
    vy: f32,
    distance: f32,
}

/// A track's motion on the pitch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MotionEstimate {
    /// Smoothed speed, m/s.
    pub speed_mps: f32,
    /// Smoothed velocity along x and y, m/s.
    pub velocity_mps: (f32, f32),
    /// Distance covered since the track was first seen, m.
    pub distance_m: f32,
}

/// Speeds (smoothed over about 0.4 s) and distances covered (along the smoothed path, so that
/// box jitter does not add metres) of tracks. Reused buffers, linear search (tens of tracks).
#[derive(Debug, Default)]
pub struct SpeedEstimator {
    tracks: Vec<Motion>,
    seen: Vec<bool>,
}

impl SpeedEstimator {
    /// An estimator with room for `tracks` tracks before it allocates.
    pub fn with_capacity(tracks: usize) -> Self {
        SpeedEstimator { tracks: Vec::with_capacity(tracks), seen: Vec::with_capacity(tracks) }
    }

    /// Records `id` at `(x, y)` metres at `t` seconds; returns its smoothed speed and velocity
    /// and the distance it covered since it was first seen.
    pub fn update(&mut self, id: u64, x: f32, y: f32, t: f64) -> MotionEstimate {
        if let Some(i) = self.tracks.iter().position(|m| m.id == id) {
            self.seen[i] = true;
            let m = &mut self.tracks[i];
            let dt = (t - m.t) as f32;
            if dt > 1e-3 {
                let a = (dt / 0.4).min(1.0);
                let (nx, ny) = (m.sx + (x - m.sx) * a, m.sy + (y - m.sy) * a);
                let step = ((nx - m.sx).powi(2) + (ny - m.sy).powi(2)).sqrt();
                m.speed += (step / dt - m.speed) * a;
                m.vx += ((nx - m.sx) / dt - m.vx) * a;
                m.vy += ((ny - m.sy) / dt - m.vy) * a;
                m.distance += step;
                (m.sx, m.sy, m.t) = (nx, ny, t);
            }
            return MotionEstimate { speed_mps: m.speed, velocity_mps: (m.vx, m.vy), distance_m: m.distance };
        }
        self.tracks.push(Motion { id, t, sx: x, sy: y, speed: 0.0, vx: 0.0, vy: 0.0, distance: 0.0 });
        self.seen.push(true);
        MotionEstimate::default()
    }

    /// Forgets tracks not updated since the last call (call once per frame, after the updates).
    pub fn end_frame(&mut self) {
        let mut i = 0;
        while i < self.tracks.len() {
            if self.seen[i] {
                self.seen[i] = false;
                i += 1;
            } else {
                self.tracks.swap_remove(i);
                self.seen.swap_remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_runner_gets_its_speed_and_distance_and_gone_tracks_are_forgotten() {
        let mut s = SpeedEstimator::default();
        let mut m = MotionEstimate::default();
        for k in 0..=250 {
            m = s.update(7, 6.0 * k as f32 * 0.04, 0.0, k as f64 * 0.04);
            s.end_frame();
        }
        let (v, d) = (m.speed_mps, m.distance_m);
        assert!((v - 6.0).abs() < 0.05, "{v}");
        assert!((m.velocity_mps.0 - 6.0).abs() < 0.05 && m.velocity_mps.1.abs() < 1e-3, "{:?}", m.velocity_mps);
        // 10 s at 6 m/s; the smoothed path lags the runner by about 0.4 s.
        assert!((d - 60.0).abs() < 3.0, "{d}");
        s.end_frame();
        assert_eq!(s.update(7, 0.0, 0.0, 20.0), MotionEstimate::default(), "a forgotten track starts again");
    }

    #[test]
    fn jitter_in_place_adds_little_distance() {
        let mut s = SpeedEstimator::default();
        let mut d = 0.0;
        for k in 0..250 {
            let j = if k % 2 == 0 { 0.3 } else { -0.3 };
            d = s.update(1, 50.0 + j, 30.0 - j, k as f64 * 0.04).distance_m;
            s.end_frame();
        }
        // Raw positions zig-zag 0.85 m per frame (212 m in 10 s); the smoothed path far less.
        assert!(d < 25.0, "{d}");
    }
}
