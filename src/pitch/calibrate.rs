//! Calibration from point pairs: the image-to-pitch homography that best maps image pixels to
//! pitch metres, by the normalised direct linear transform (Hartley), optionally inside RANSAC.

use super::homography::{Homography, Mat3, invert, multiply};

/// One image pixel and the pitch point (metres) it shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointPair {
    /// Image x, pixels.
    pub px: f64,
    /// Image y, pixels.
    pub py: f64,
    /// Pitch x, metres.
    pub x_m: f64,
    /// Pitch y, metres.
    pub y_m: f64,
}

/// A fitted calibration and how well it fits its points.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// Image to pitch.
    pub homography: Homography,
    /// Points given.
    pub points: usize,
    /// Points the fit kept (all of them without RANSAC).
    pub inliers: usize,
    /// Root mean square of the kept points' errors, metres on the pitch.
    pub rms_error_m: f64,
    /// Largest error of a kept point, metres.
    pub max_error_m: f64,
}

/// Why no calibration could be fitted.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// Fewer than four pairs.
    #[error("needs at least 4 point pairs, found {0}")]
    TooFewPoints(usize),
    /// The points do not determine a homography (three or more on one line, repeated points).
    #[error("the points do not determine a homography (are three of them on one line?)")]
    Degenerate,
}

/// Fits the image-to-pitch homography of `pairs` (or any plane-to-plane homography: "metres"
/// are then the target plane's units). With `ransac_threshold_m`, fits four-point subsets (every
/// one, or 2,000 drawn deterministically), keeps the one with the most points within the
/// threshold, and refits on those.
pub fn fit_homography(pairs: &[PointPair], ransac_threshold_m: Option<f64>) -> Result<Calibration, CalibrationError> {
    if pairs.len() < 4 {
        return Err(CalibrationError::TooFewPoints(pairs.len()));
    }
    let kept: Vec<PointPair> = match ransac_threshold_m {
        Some(t) if pairs.len() > 4 => consensus(pairs, t)?,
        _ => pairs.to_vec(),
    };
    let homography = dlt(&kept).ok_or(CalibrationError::Degenerate)?;
    let errors: Vec<f64> = kept.iter().map(|p| error_m(&homography, p)).collect();
    let rms_error_m = (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
    let max_error_m = errors.iter().cloned().fold(0.0, f64::max);
    Ok(Calibration { homography, points: pairs.len(), inliers: kept.len(), rms_error_m, max_error_m })
}

pub(super) fn error_m(h: &Homography, p: &PointPair) -> f64 {
    match h.apply_f64(p.px, p.py) {
        Some((x, y)) => ((x - p.x_m).powi(2) + (y - p.y_m).powi(2)).sqrt(),
        None => f64::INFINITY,
    }
}

/// Four-point subsets to try: every one when there are at most this many, else this many drawn
/// by a fixed-seed generator (deterministic).
const SUBSETS: usize = 2000;

fn subsets(n: usize) -> Vec<[usize; 4]> {
    let all = n * (n - 1) * (n - 2) * (n - 3) / 24;
    if all <= SUBSETS {
        let mut out = Vec::with_capacity(all);
        for a in 0..n {
            for b in a + 1..n {
                for c in b + 1..n {
                    for d in c + 1..n {
                        out.push([a, b, c, d]);
                    }
                }
            }
        }
        return out;
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut out = Vec::with_capacity(SUBSETS);
    while out.len() < SUBSETS {
        let s = [next(), next(), next(), next()];
        if (0..4).all(|i| (i + 1..4).all(|j| s[i] != s[j])) {
            out.push(s);
        }
    }
    out
}

fn consensus(pairs: &[PointPair], threshold_m: f64) -> Result<Vec<PointPair>, CalibrationError> {
    let n = pairs.len();
    let mut best: Option<(usize, f64, Vec<usize>)> = None;
    for [a, b, c, d] in subsets(n) {
        let Some(h) = four_point(&[pairs[a], pairs[b], pairs[c], pairs[d]]) else { continue };
        let (mut count, mut err) = (0usize, 0.0f64);
        for p in pairs {
            let e = error_m(&h, p);
            if e <= threshold_m {
                count += 1;
                err += e;
            }
        }
        let better = match &best {
            None => true,
            Some((c, e, _)) => count > *c || (count == *c && err < *e),
        };
        if better {
            let inliers = (0..n).filter(|&i| error_m(&h, &pairs[i]) <= threshold_m).collect();
            best = Some((count, err, inliers));
        }
    }
    match best {
        Some((count, _, inliers)) if count >= 4 => Ok(inliers.into_iter().map(|i| pairs[i]).collect()),
        _ => Err(CalibrationError::Degenerate),
    }
}

/// Similarity that moves the points' centroid to the origin and their mean distance to √2.
fn normaliser(points: impl Iterator<Item = (f64, f64)> + Clone) -> Mat3 {
    let n = points.clone().count() as f64;
    let (cx, cy) = points.clone().fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (cx, cy) = (cx / n, cy / n);
    let mean = points.map(|(x, y)| ((x - cx).powi(2) + (y - cy).powi(2)).sqrt()).sum::<f64>() / n;
    let s = if mean > 1e-12 { std::f64::consts::SQRT_2 / mean } else { 1.0 };
    [[s, 0.0, -s * cx], [0.0, s, -s * cy], [0.0, 0.0, 1.0]]
}

/// The homography through exactly four pairs: the 8 x 8 linear system with `h33 = 1`, in
/// normalised coordinates, by Gaussian elimination (a few microseconds, against the DLT's
/// eigen-decomposition: RANSAC draws thousands). `None` for a degenerate four (three on a line).
pub(super) fn four_point(pairs: &[PointPair; 4]) -> Option<Homography> {
    let t_img = normaliser(pairs.iter().map(|p| (p.px, p.py)));
    let t_pitch = normaliser(pairs.iter().map(|p| (p.x_m, p.y_m)));
    let mut a = [[0.0f64; 9]; 8];
    for (k, p) in pairs.iter().enumerate() {
        let (x, y) = apply_affine(&t_img, p.px, p.py);
        let (u, v) = apply_affine(&t_pitch, p.x_m, p.y_m);
        a[2 * k] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * k + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-9 {
            return None;
        }
        a.swap(col, pivot);
        for row in 0..8 {
            if row != col {
                let f = a[row][col] / a[col][col];
                let pivot_row = a[col];
                for (v, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    let h: [f64; 8] = std::array::from_fn(|i| a[i][8] / a[i][i]);
    let hn = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1.0]];
    Homography::from_matrix(multiply(&invert(&t_pitch)?, &multiply(&hn, &t_img)))
}

/// The normalised DLT: least squares over all pairs (exact for four).
pub(super) fn dlt(pairs: &[PointPair]) -> Option<Homography> {
    let t_img = normaliser(pairs.iter().map(|p| (p.px, p.py)));
    let t_pitch = normaliser(pairs.iter().map(|p| (p.x_m, p.y_m)));
    // Normal matrix AᵀA of the 2n x 9 system, accumulated row by row.
    let mut ata = [[0.0f64; 9]; 9];
    for p in pairs {
        let (x, y) = apply_affine(&t_img, p.px, p.py);
        let (u, v) = apply_affine(&t_pitch, p.x_m, p.y_m);
        let rows = [[-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u], [0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v]];
        for r in &rows {
            for i in 0..9 {
                for j in 0..9 {
                    ata[i][j] += r[i] * r[j];
                }
            }
        }
    }
    let (h, unique) = smallest_eigenvector(ata);
    if !unique {
        return None;
    }
    let hn = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], h[8]]];
    let mut m = multiply(&invert(&t_pitch)?, &multiply(&hn, &t_img));
    // Scale so that the image points lie in front (positive w) and m[2][2] is 1 when it can be.
    let w: f64 = pairs.iter().map(|p| m[2][0] * p.px + m[2][1] * p.py + m[2][2]).sum();
    let s = if m[2][2].abs() > 1e-12 { 1.0 / m[2][2].abs() } else { 1.0 } * w.signum();
    m = m.map(|row| row.map(|v| v * s));
    Homography::from_matrix(m)
}

fn apply_affine(t: &Mat3, x: f64, y: f64) -> (f64, f64) {
    (t[0][0] * x + t[0][1] * y + t[0][2], t[1][0] * x + t[1][1] * y + t[1][2])
}

/// The unit eigenvector of the smallest eigenvalue of a symmetric 9x9 matrix (cyclic Jacobi),
/// and whether it is unique (the next eigenvalue is clearly larger: the points determine it).
fn smallest_eigenvector(mut a: [[f64; 9]; 9]) -> ([f64; 9], bool) {
    let mut v = [[0.0f64; 9]; 9];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..9)
            .flat_map(|i| (0..9).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..9 {
            for q in p + 1..9 {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p], a[q]);
                for k in 0..9 {
                    a[p][k] = c * row_p[k] - s * row_q[k];
                    a[q][k] = s * row_p[k] + c * row_q[k];
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    // A fixed array: the camera follower fits every frame, and the frame path allocates nothing.
    let mut order: [usize; 9] = std::array::from_fn(|i| i);
    order.sort_unstable_by(|&i, &j| a[i][i].total_cmp(&a[j][j]).then(i.cmp(&j)));
    let (k, second, largest) = (order[0], a[order[1]][order[1]], a[order[8]][order[8]]);
    let mut out = [0.0; 9];
    for (i, o) in out.iter_mut().enumerate() {
        *o = v[i][k];
    }
    (out, second > 1e-10 * largest.abs().max(1e-300))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> Homography {
        // A broadcast-like view: perspective foreshortening towards the far touchline.
        Homography::from_row_major(&[0.08, 0.01, -20.0, 0.002, 0.2, -40.0, 0.0, 0.002, 1.0]).unwrap()
    }

    fn pairs(image: &[(f64, f64)]) -> Vec<PointPair> {
        let h = truth();
        image
            .iter()
            .map(|&(px, py)| {
                let (x_m, y_m) = h.apply_f64(px, py).unwrap();
                PointPair { px, py, x_m, y_m }
            })
            .collect()
    }

    #[test]
    fn four_exact_pairs_give_back_the_homography() {
        let p = pairs(&[(100.0, 300.0), (1800.0, 320.0), (1700.0, 1000.0), (200.0, 950.0)]);
        let c = fit_homography(&p, None).unwrap();
        assert!(c.rms_error_m < 1e-6, "{c:?}");
        let (x, y) = c.homography.apply_f64(960.0, 600.0).unwrap();
        let (tx, ty) = truth().apply_f64(960.0, 600.0).unwrap();
        assert!((x - tx).abs() < 1e-6 && (y - ty).abs() < 1e-6);
    }

    #[test]
    fn the_four_point_solver_agrees_with_the_dlt_and_refuses_a_line() {
        let p = pairs(&[(100.0, 300.0), (1800.0, 320.0), (1500.0, 900.0), (300.0, 950.0)]);
        let four: [PointPair; 4] = [p[0], p[1], p[2], p[3]];
        let (a, b) = (four_point(&four).unwrap(), dlt(&p).unwrap());
        for q in &p {
            let (x, y) = a.apply_f64(q.px, q.py).unwrap();
            assert!((x - q.x_m).abs() < 1e-6 && (y - q.y_m).abs() < 1e-6, "{x} {y} {q:?}");
            let (u, v) = b.apply_f64(700.0, 500.0).unwrap();
            let (s, t) = a.apply_f64(700.0, 500.0).unwrap();
            assert!((u - s).abs() < 1e-6 && (v - t).abs() < 1e-6);
        }
        let mut line = four;
        for (i, q) in line.iter_mut().enumerate() {
            (q.px, q.py) = (100.0 * i as f64, 50.0 * i as f64);
        }
        assert!(four_point(&line).is_none());
    }

    #[test]
    fn noisy_pairs_fit_in_least_squares_and_ransac_drops_a_wrong_pair() {
        let mut p = pairs(&[
            (100.0, 300.0),
            (1800.0, 320.0),
            (1700.0, 1000.0),
            (200.0, 950.0),
            (960.0, 540.0),
            (500.0, 700.0),
            (1400.0, 450.0),
        ]);
        for (i, q) in p.iter_mut().enumerate() {
            q.x_m += if i % 2 == 0 { 0.05 } else { -0.05 };
        }
        let c = fit_homography(&p, None).unwrap();
        assert!(c.rms_error_m < 0.1, "{c:?}");
        p[5].x_m += 12.0; // a mistyped pair
        let plain = fit_homography(&p, None).unwrap();
        assert!(plain.rms_error_m > 1.0, "{plain:?}");
        let robust = fit_homography(&p, Some(0.5)).unwrap();
        assert_eq!(robust.inliers, 6);
        assert!(robust.rms_error_m < 0.1, "{robust:?}");
    }

    #[test]
    fn too_few_or_collinear_points_are_refused() {
        let p = pairs(&[(100.0, 300.0), (1800.0, 320.0), (1700.0, 1000.0)]);
        assert_eq!(fit_homography(&p, None), Err(CalibrationError::TooFewPoints(3)));
        let line: Vec<PointPair> =
            (0..5).map(|i| PointPair { px: i as f64 * 10.0, py: 5.0, x_m: i as f64, y_m: 0.0 }).collect();
        assert!(fit_homography(&line, None).is_err());
    }
}
