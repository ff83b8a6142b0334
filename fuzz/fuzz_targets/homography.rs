//! Any point correspondences (bytes read as f64 quadruples): a calibration is refused cleanly or
//! maps image points to finite pitch positions; never a panic.
#![no_main]

use footrackd::pitch::{PointPair, fit_homography};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let numbers: Vec<f64> = data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
    let pairs: Vec<PointPair> = numbers.chunks_exact(4).map(|q| PointPair { px: q[0], py: q[1], x_m: q[2], y_m: q[3] }).collect();
    if let Ok(cal) = fit_homography(&pairs, Some(1.0)) {
        for p in &pairs {
            if p.px.is_finite() && p.py.is_finite() && p.px.abs() < 1e5 && p.py.abs() < 1e5 {
                if let Some(m) = cal.homography.apply_f64(p.px, p.py) {
                    assert!(m.0.is_finite() && m.1.is_finite(), "non-finite mapping");
                }
            }
        }
    }
});
