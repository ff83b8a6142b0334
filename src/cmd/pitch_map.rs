//! `footrackd pitch-map`: MOTChallenge boxes through a config's calibration to pitch metres, so
//! that anyone can check a calibration against ground truth (docs/pitch.md).

use std::fmt::Write as _;
use std::path::Path;

use super::mot_text::{MotError, MotLayout, read_rows, write};
use crate::pitch::Homography;

/// Maps each box of `mot` (`frame,id,x,y,w,h[,...]`) by its bottom-centre and writes
/// `frame,id,x_m,y_m` rows to `out`. Returns how many rows were written; boxes whose foot lies at
/// or beyond the horizon are left out.
pub fn map_file(homography: &Homography, mot: &Path, out: &Path) -> Result<usize, MotError> {
    let mut csv = String::from("frame,id,x_m,y_m\n");
    let mut rows = 0;
    for r in read_rows(mot, MotLayout::Boxes)? {
        let [x, y, w, h] = r.xywh;
        if let Some((xm, ym)) = homography.apply_f64(x + w / 2.0, y + h) {
            let _ = writeln!(csv, "{},{},{xm:.3},{ym:.3}", r.frame, r.id);
            rows += 1;
        }
    }
    write(out, &csv)?;
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
