//! 3x3 homographies: applying, inverting, and the image-to-pitch type.

/// A 3x3 matrix, row-major.
pub type Mat3 = [[f64; 3]; 3];

/// Applies a homography to a point; `None` when the point maps to infinity.
pub fn project(h: &Mat3, x: f64, y: f64) -> Option<(f64, f64)> {
    let w = h[2][0] * x + h[2][1] * y + h[2][2];
    if w.abs() < 1e-12 {
        return None;
    }
    Some(((h[0][0] * x + h[0][1] * y + h[0][2]) / w, (h[1][0] * x + h[1][1] * y + h[1][2]) / w))
}

/// The determinant of a 3x3 matrix.
pub fn determinant(m: &Mat3) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// The inverse of a 3x3 matrix (the adjugate over the determinant); `None` when singular.
pub fn invert(m: &Mat3) -> Option<Mat3> {
    let d = determinant(m);
    if !d.is_finite() || d.abs() < 1e-300 {
        return None;
    }
    Some([
        [
            (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / d,
            (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / d,
            (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / d,
        ],
        [
            (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / d,
            (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / d,
            (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / d,
        ],
        [
            (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / d,
            (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / d,
            (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / d,
        ],
    ])
}

/// Product of two 3x3 matrices.
pub(super) fn multiply(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [[0.0; 3]; 3];
    for (r, row) in m.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    m
}

/// A 3x3 homography from image pixels to pitch metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Homography(Mat3);

impl Homography {
    /// From 9 row-major values; `None` unless finite and invertible.
    pub fn from_row_major(v: &[f64]) -> Option<Self> {
        if v.len() != 9 || v.iter().any(|x| !x.is_finite()) {
            return None;
        }
        Self::from_matrix([[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]])
    }

    /// From a matrix, as it is (its sign says which side of the horizon is in view); `None`
    /// unless finite and invertible.
    pub fn from_matrix(m: Mat3) -> Option<Self> {
        (m.iter().flatten().all(|v| v.is_finite()) && determinant(&m).abs() > 1e-12).then_some(Homography(m))
    }

    /// The matrix.
    pub fn matrix(&self) -> &Mat3 {
        &self.0
    }

    /// `self` after `first`: maps a point through `first`, then through `self`.
    pub fn after(&self, first: &Homography) -> Option<Homography> {
        Homography::from_matrix(multiply(&self.0, &first.0))
    }

    /// The inverse map (pitch to image for an image-to-pitch homography); `None` when singular.
    pub fn inverse(&self) -> Option<Homography> {
        invert(&self.0).and_then(Homography::from_matrix)
    }

    /// The 9 values, row-major.
    pub fn row_major(&self) -> [f64; 9] {
        let m = &self.0;
        [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2]]
    }

    /// Maps an image point to pitch metres; `None` for points at or beyond the horizon.
    pub fn apply(&self, x: f32, y: f32) -> Option<(f32, f32)> {
        let (px, py) = self.apply_f64(x as f64, y as f64)?;
        Some((px as f32, py as f32))
    }

    /// [`Homography::apply`] in double precision.
    pub fn apply_f64(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let m = &self.0;
        // Points beyond the horizon come out with a negative scale: refuse them.
        if m[2][0] * x + m[2][1] * y + m[2][2] <= 0.0 {
            return None;
        }
        let (px, py) = project(m, x, y)?;
        (px.is_finite() && py.is_finite()).then_some((px, py))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synth_homography_maps_a_box_foot_to_its_pitch_position() {
        // Frame 1 of the bundled demo clip: a ground-truth box foot and its pitch position.
        let row = std::fs::read_to_string("demo/homography.csv").unwrap();
        let v: Vec<f64> = row.lines().nth(1).unwrap().split(',').skip(1).map(|t| t.parse().unwrap()).collect();
        let h = Homography::from_row_major(&v).unwrap();
        let gt = std::fs::read_to_string("demo/gt/gt.txt").unwrap();
        let pitch = std::fs::read_to_string("demo/pitch.csv").unwrap();
        let mut checked = 0;
        for line in gt.lines().filter(|l| l.starts_with("1,")) {
            let f: Vec<f32> = line.split(',').map(|t| t.parse().unwrap()).collect();
            if f[7] == 4.0 || f[8] < 0.99 || f[2] <= 1.0 || f[3] <= 1.0 || f[2] + f[4] >= 1279.0 || f[3] + f[5] >= 719.0
            {
                continue;
            }
            let (x, y) = h.apply(f[2] + f[4] / 2.0, f[3] + f[5]).unwrap();
            let p = pitch.lines().find(|l| l.starts_with(&format!("1,{},", f[1] as u32))).unwrap();
            let p: Vec<&str> = p.split(',').collect();
            let (px, py): (f32, f32) = (p[4].parse().unwrap(), p[5].parse().unwrap());
            assert!((x - px).abs() < 0.3 && (y - py).abs() < 0.3, "({x},{y}) vs ({px},{py})");
            checked += 1;
        }
        assert!(checked >= 5);
        assert!(Homography::from_row_major(&[0.0; 9]).is_none());
        assert!(Homography::from_row_major(&[1.0; 8]).is_none());
    }
}
