//! `footrackd pitch-map`: MOTChallenge boxes through a config's calibration to pitch metres, so
//! that anyone can check a calibration against ground truth (docs/pitch.md).

use std::fmt::Write as _;
use std::path::Path;

use super::mot::MotError;
use crate::pitch::Homography;

/// Maps each box of `mot` (`frame,id,x,y,w,h[,...]`) by its bottom-centre and writes
/// `frame,id,x_m,y_m` rows to `out`. Returns how many rows were written; boxes whose foot lies at
/// or beyond the horizon are left out.
pub fn map_file(homography: &Homography, mot: &Path, out: &Path) -> Result<usize, MotError> {
    let text = std::fs::read_to_string(mot).map_err(|source| MotError::Io { path: mot.to_path_buf(), source })?;
    let mut csv = String::from("frame,id,x_m,y_m\n");
    let mut rows = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || MotError::Parse { path: mot.to_path_buf(), line: i + 1, text: line.to_string() };
        let f: Vec<f64> = line
            .split([',', ' ', '\t'])
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        if f.len() < 6 || !f[..6].iter().all(|v| v.is_finite()) || f[0] < 0.0 || f[4] <= 0.0 || f[5] <= 0.0 {
            return Err(bad());
        }
        if let Some((x, y)) = homography.apply_f64(f[2] + f[4] / 2.0, f[3] + f[5]) {
            let _ = writeln!(csv, "{},{},{x:.3},{y:.3}", f[0] as u64, f[1] as i64);
            rows += 1;
        }
    }
    std::fs::write(out, csv).map_err(|source| MotError::Io { path: out.to_path_buf(), source })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_map_by_their_feet_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let h = Homography::from_row_major(&[0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]).unwrap();
        let mot = dir.path().join("boxes.txt");
        std::fs::write(&mot, "1,7,100,200,20,50,1,-1,-1,-1\n2,7,110,200,20,50\n").unwrap();
        let out = dir.path().join("pitch.csv");
        assert_eq!(map_file(&h, &mot, &out).unwrap(), 2);
        let csv = std::fs::read_to_string(&out).unwrap();
        assert_eq!(csv, "frame,id,x_m,y_m\n1,7,11.000,25.000\n2,7,12.000,25.000\n");
        std::fs::write(&mot, "1,7,100,200,20\n").unwrap();
        let err = map_file(&h, &mot, &out).unwrap_err().to_string();
        assert!(err.contains("boxes.txt:1"), "{err}");
    }
}
