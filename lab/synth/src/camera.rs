//! A pinhole broadcast camera above the touchline, and the homographies of the pitch plane.
//!
//! Pitch coordinates are metres with the origin at a corner: x along the touchline (0..105),
//! y across (0..68), z up. The camera stands behind the near touchline (y < 0).

pub use footrackd::pitch::{Mat3, invert, project as apply};

/// A camera pose and intrinsics for one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// Camera centre in pitch coordinates.
    pub position: [f64; 3],
    /// Rows: image right, image down, forward (world to camera rotation).
    pub rotation: Mat3,
    /// Focal length in pixels.
    pub focal_px: f64,
    /// Principal point.
    pub cx: f64,
    /// Principal point.
    pub cy: f64,
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
fn normalize(a: [f64; 3]) -> [f64; 3] {
    let n = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt().max(1e-12);
    [a[0] / n, a[1] / n, a[2] / n]
}

impl Camera {
    /// A camera at `position` looking at `target`, with focal length `focal_px`, for a `width` x `height` image.
    pub fn look_at(position: [f64; 3], target: [f64; 3], focal_px: f64, width: u32, height: u32) -> Self {
        let f = normalize(sub(target, position));
        let r = normalize(cross(f, [0.0, 0.0, 1.0]));
        let d = cross(f, r);
        Camera { position, rotation: [r, d, f], focal_px, cx: width as f64 / 2.0, cy: height as f64 / 2.0 }
    }

    /// Projects a pitch point to pixels; `None` when it is behind the camera.
    pub fn project(&self, p: [f64; 3]) -> Option<(f64, f64, f64)> {
        let q = sub(p, self.position);
        let r = &self.rotation;
        let xc = r[0][0] * q[0] + r[0][1] * q[1] + r[0][2] * q[2];
        let yc = r[1][0] * q[0] + r[1][1] * q[1] + r[1][2] * q[2];
        let zc = r[2][0] * q[0] + r[2][1] * q[1] + r[2][2] * q[2];
        if zc <= 0.1 {
            return None;
        }
        Some((self.focal_px * xc / zc + self.cx, self.focal_px * yc / zc + self.cy, zc))
    }

    /// Homography from the pitch plane (z = 0, metres) to the image (pixels).
    pub fn pitch_to_image(&self) -> Mat3 {
        let r = &self.rotation;
        let c = self.position;
        let t = [
            -(r[0][0] * c[0] + r[0][1] * c[1] + r[0][2] * c[2]),
            -(r[1][0] * c[0] + r[1][1] * c[1] + r[1][2] * c[2]),
            -(r[2][0] * c[0] + r[2][1] * c[1] + r[2][2] * c[2]),
        ];
        let (f, cx, cy) = (self.focal_px, self.cx, self.cy);
        // K [r1 r2 t], with r1, r2 the first two columns of the rotation.
        let col = |i: usize| [r[0][i], r[1][i], r[2][i]];
        let (c1, c2) = (col(0), col(1));
        let k = |v: [f64; 3]| [f * v[0] + cx * v[2], f * v[1] + cy * v[2], v[2]];
        let (a, b, d) = (k(c1), k(c2), k(t));
        [[a[0], b[0], d[0]], [a[1], b[1], d[1]], [a[2], b[2], d[2]]]
    }

    /// Homography from the image (pixels) to the pitch plane (metres).
    pub fn image_to_pitch(&self) -> Mat3 {
        // A camera above the pitch plane always sees it through an invertible homography.
        invert(&self.pitch_to_image()).unwrap_or([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homography_agrees_with_projection_and_inverts() {
        let cam = Camera::look_at([52.5, -30.0, 18.0], [40.0, 34.0, 0.0], 1000.0, 1280, 720);
        let h = cam.pitch_to_image();
        let hi = cam.image_to_pitch();
        for &(x, y) in &[(40.0, 34.0), (30.0, 10.0), (60.0, 50.0)] {
            let (u, v, _) = cam.project([x, y, 0.0]).unwrap();
            let (u2, v2) = apply(&h, x, y).unwrap();
            assert!((u - u2).abs() < 1e-6 && (v - v2).abs() < 1e-6);
            let (x2, y2) = apply(&hi, u, v).unwrap();
            assert!((x - x2).abs() < 1e-6 && (y - y2).abs() < 1e-6);
        }
        // The look-at target is the image centre.
        let (u, v, _) = cam.project([40.0, 34.0, 0.0]).unwrap();
        assert!((u - 640.0).abs() < 1e-6 && (v - 360.0).abs() < 1e-6);
        // Higher points are higher in the image.
        let (_, vh, _) = cam.project([40.0, 34.0, 1.8]).unwrap();
        assert!(vh < v);
    }
}
