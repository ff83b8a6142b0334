//! A constant-velocity Kalman filter on box centre and size.
//!
//! The state is `(cx, cy, w, h)` with a velocity for each. With a constant-velocity model and
//! diagonal noise the four coordinates never couple, so the 8-state filter of SORT/ByteTrack is
//! exactly four independent 2-state filters; that keeps it small and allocation-free.

use crate::frame::BBox;

/// Noise of position relative to box size (per frame), as in ByteTrack/BoT-SORT.
const STD_POSITION: f32 = 1.0 / 20.0;
/// Noise of velocity relative to box size (per frame).
const STD_VELOCITY: f32 = 1.0 / 160.0;

/// One coordinate: value, velocity and their 2x2 covariance.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    x: f32,
    v: f32,
    p00: f32,
    p01: f32,
    p11: f32,
}

impl Axis {
    fn new(x: f32, std_pos: f32, std_vel: f32) -> Self {
        Axis { x, v: 0.0, p00: std_pos * std_pos, p01: 0.0, p11: std_vel * std_vel }
    }

    fn predict(&mut self, dt: f32, q_pos: f32, q_vel: f32) {
        self.x += self.v * dt;
        // P = F P F^T + Q with F = [[1, dt], [0, 1]].
        let p00 = self.p00 + dt * (2.0 * self.p01 + dt * self.p11) + q_pos;
        let p01 = self.p01 + dt * self.p11;
        let p11 = self.p11 + q_vel;
        self.p00 = p00;
        self.p01 = p01;
        self.p11 = p11;
    }

    fn update(&mut self, z: f32, r: f32) {
        let s = self.p00 + r;
        let k0 = self.p00 / s;
        let k1 = self.p01 / s;
        let y = z - self.x;
        self.x += k0 * y;
        self.v += k1 * y;
        let p00 = (1.0 - k0) * self.p00;
        let p01 = (1.0 - k0) * self.p01;
        let p11 = self.p11 - k1 * self.p01;
        self.p00 = p00;
        self.p01 = p01;
        self.p11 = p11;
    }
}

/// Kalman filter over one box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxFilter {
    axes: [Axis; 4],
}

impl BoxFilter {
    /// Starts a filter at `b` with zero velocity.
    pub fn new(b: &BBox) -> Self {
        let (cx, cy) = b.center();
        let (w, h) = (b.width().max(1.0), b.height().max(1.0));
        let p = |s: f32| 2.0 * STD_POSITION * s;
        let v = |s: f32| 10.0 * STD_VELOCITY * s;
        BoxFilter {
            axes: [
                Axis::new(cx, p(w), v(w)),
                Axis::new(cy, p(h), v(h)),
                Axis::new(w, p(w), v(w)),
                Axis::new(h, p(h), v(h)),
            ],
        }
    }

    /// Advances the state by `dt` frames (1 at the native rate; more when frames were skipped).
    pub fn predict(&mut self, dt: f32) {
        let (w, h) = (self.axes[2].x.max(1.0), self.axes[3].x.max(1.0));
        for (i, a) in self.axes.iter_mut().enumerate() {
            let s = if i % 2 == 0 { w } else { h };
            let qp = (STD_POSITION * s).powi(2) * dt;
            let qv = (STD_VELOCITY * s).powi(2) * dt;
            a.predict(dt, qp, qv);
        }
    }

    /// Corrects the state with a measured box.
    pub fn update(&mut self, b: &BBox) {
        let (cx, cy) = b.center();
        let z = [cx, cy, b.width().max(1.0), b.height().max(1.0)];
        let (w, h) = (self.axes[2].x.max(1.0), self.axes[3].x.max(1.0));
        for (i, a) in self.axes.iter_mut().enumerate() {
            let s = if i % 2 == 0 { w } else { h };
            a.update(z[i], (STD_POSITION * s).powi(2));
        }
    }

    /// Scales the velocities by `factor` (a lost player does not run straight on for long).
    pub fn damp_velocity(&mut self, factor: f32) {
        for a in &mut self.axes {
            a.v *= factor;
        }
    }

    /// Shifts position by a global image motion (camera pan), in pixels.
    pub fn shift(&mut self, dx: f32, dy: f32) {
        self.axes[0].x += dx;
        self.axes[1].x += dy;
    }

    /// The current box.
    pub fn bbox(&self) -> BBox {
        BBox::from_cxcywh(self.axes[0].x, self.axes[1].x, self.axes[2].x.max(1.0), self.axes[3].x.max(1.0))
    }

    /// Centre velocity in pixels per frame.
    pub fn velocity(&self) -> (f32, f32) {
        (self.axes[0].v, self.axes[1].v)
    }
}

/// Kalman filter over one point (the ball's centre): position and velocity per axis, with noise
/// in pixels set by the caller, because a ball's box is too small to scale noise from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointFilter {
    axes: [Axis; 2],
}

impl PointFilter {
    /// Starts at `(x, y)` with velocity `v`, position known to `std_pos` and velocity to `std_vel` pixels.
    pub fn new((x, y): (f32, f32), v: (f32, f32), std_pos: f32, std_vel: f32) -> Self {
        let mut axes = [Axis::new(x, std_pos, std_vel), Axis::new(y, std_pos, std_vel)];
        axes[0].v = v.0;
        axes[1].v = v.1;
        PointFilter { axes }
    }

    /// Advances by `dt` frames under random acceleration of `std_accel` pixels per frame squared.
    pub fn predict(&mut self, dt: f32, std_accel: f32) {
        let q_vel = (std_accel * dt).powi(2);
        let q_pos = (0.5 * std_accel * dt * dt).powi(2);
        for a in &mut self.axes {
            a.predict(dt, q_pos, q_vel);
        }
    }

    /// Squared Mahalanobis distance of a measurement at `(x, y)` with noise `std_meas` pixels.
    pub fn distance_sq(&self, (x, y): (f32, f32), std_meas: f32) -> f32 {
        let r = std_meas * std_meas;
        let [ax, ay] = &self.axes;
        (x - ax.x).powi(2) / (ax.p00 + r) + (y - ay.x).powi(2) / (ay.p00 + r)
    }

    /// Corrects with a measurement at `(x, y)` with noise `std_meas` pixels.
    pub fn update(&mut self, (x, y): (f32, f32), std_meas: f32) {
        let r = std_meas * std_meas;
        self.axes[0].update(x, r);
        self.axes[1].update(y, r);
    }

    /// Shifts position by a global image motion (camera pan), in pixels.
    pub fn shift(&mut self, dx: f32, dy: f32) {
        self.axes[0].x += dx;
        self.axes[1].x += dy;
    }

    /// Scales the velocity (an unseen target slows down rather than run on for ever).
    pub fn damp_velocity(&mut self, factor: f32) {
        for a in &mut self.axes {
            a.v *= factor;
        }
    }

    /// The current position.
    pub fn position(&self) -> (f32, f32) {
        (self.axes[0].x, self.axes[1].x)
    }

    /// Velocity in pixels per frame.
    pub fn velocity(&self) -> (f32, f32) {
        (self.axes[0].v, self.axes[1].v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_learns_a_constant_velocity_and_predicts_ahead() {
        let mut f = BoxFilter::new(&BBox::from_xywh(0.0, 0.0, 20.0, 40.0));
        for t in 1..=30 {
            f.predict(1.0);
            f.update(&BBox::from_xywh(3.0 * t as f32, 1.0 * t as f32, 20.0, 40.0));
        }
        let (vx, vy) = f.velocity();
        assert!((vx - 3.0).abs() < 0.2 && (vy - 1.0).abs() < 0.2, "{vx} {vy}");
        f.predict(2.0);
        let (cx, _) = f.bbox().center();
        assert!((cx - (3.0 * 32.0 + 10.0)).abs() < 1.5, "{cx}");
    }

    #[test]
    fn point_filter_follows_a_kick_within_a_few_frames() {
        let mut f = PointFilter::new((100.0, 100.0), (0.0, 0.0), 2.0, 10.0);
        for _ in 0..10 {
            f.predict(1.0, 6.0);
            f.update((100.0, 100.0), 2.0);
        }
        // Kicked: 20 px per frame to the right.
        let mut x = 100.0;
        for _ in 0..4 {
            x += 20.0;
            f.predict(1.0, 6.0);
            assert!(f.distance_sq((x, 100.0), 2.0) < 16.0, "{x} lies outside the gate");
            f.update((x, 100.0), 2.0);
        }
        assert!((f.velocity().0 - 20.0).abs() < 4.0, "{:?}", f.velocity());
    }
}
