//! MOTChallenge text files, read once for every command that takes them: one box per line,
//! `frame,id,x,y,w,h[,score,...]` (commas, spaces or tabs), `#` comments and blank lines skipped.

use std::path::{Path, PathBuf};

/// Why a MOT file could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum MotError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A line does not have the fields the command needs.
    #[error("{path}:{line}: expected {expected}, found {text:?}")]
    Parse {
        /// File.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The layout the command expects.
        expected: &'static str,
        /// The line.
        text: String,
    },
}

/// One line of a MOT file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotRow {
    /// Frame number (MOTChallenge counts from 1).
    pub frame: u32,
    /// Object id (`-1` for detections).
    pub id: i64,
    /// Left edge, top edge, width and height, pixels.
    pub xywh: [f64; 4],
    /// The 7th field, when the line has one.
    pub score: Option<f64>,
    /// The 8th field, when the line has one (`track-mot --teams`: the detection's team).
    pub eighth: Option<f64>,
}

/// What a command needs of each line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MotLayout {
    /// `frame,id,x,y,w,h[,...]`, frames from 0.
    Boxes,
    /// `frame,id,x,y,w,h,score[,...]`, frames from 1 (detections).
    Detections,
}

impl MotLayout {
    fn expected(self) -> &'static str {
        match self {
            MotLayout::Boxes => "frame,id,x,y,w,h[,...]",
            MotLayout::Detections => "frame,id,x,y,w,h,score[,...]",
        }
    }
}

/// Reads every row of `path`, or names the first line that does not fit `layout`.
pub fn read_rows(path: &Path, layout: MotLayout) -> Result<Vec<MotRow>, MotError> {
    let text = std::fs::read_to_string(path).map_err(|source| MotError::Io { path: path.to_path_buf(), source })?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || MotError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            expected: layout.expected(),
            text: line.to_string(),
        };
        let f: Vec<f64> = line
            .split([',', ' ', '\t'])
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let (fields, first_frame) = match layout {
            MotLayout::Boxes => (6, 0.0),
            MotLayout::Detections => (7, 1.0),
        };
        if f.len() < fields
            || !f[..fields].iter().all(|v| v.is_finite())
            || f[0] < first_frame
            || f[0] > u32::MAX as f64
            || f[4] <= 0.0
            || f[5] <= 0.0
        {
            return Err(bad());
        }
        rows.push(MotRow {
            frame: f[0] as u32,
            id: f[1] as i64,
            xywh: [f[2], f[3], f[4], f[5]],
            score: f.get(6).copied(),
            eighth: f.get(7).copied(),
        });
    }
    Ok(rows)
}

/// Writes `text` to `path`.
pub fn write(path: &Path, text: &str) -> Result<(), MotError> {
    std::fs::write(path, text).map_err(|source| MotError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_in_either_layout_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.txt");
        std::fs::write(&p, "# comment\n\n1,7,100,200,20,50,0.9,-1,-1,-1\n0 3 1 2 3 4\n").unwrap();
        let e = read_rows(&p, MotLayout::Detections).unwrap_err().to_string();
        assert!(e.contains("m.txt:4") && e.contains("score"), "{e}");
        let rows = read_rows(&p, MotLayout::Boxes).unwrap();
        assert_eq!(
            rows[0],
            MotRow { frame: 1, id: 7, xywh: [100.0, 200.0, 20.0, 50.0], score: Some(0.9), eighth: Some(-1.0) }
        );
        assert_eq!((rows[1].frame, rows[1].score), (0, None));
        std::fs::write(&p, "1,7,100,200,0,50,1\n").unwrap();
        assert!(read_rows(&p, MotLayout::Boxes).is_err(), "a box without width");
        std::fs::write(&p, "1,7,nan,200,10,50,1\n").unwrap();
        assert!(read_rows(&p, MotLayout::Boxes).is_err());
        assert!(
            read_rows(&dir.path().join("none.txt"), MotLayout::Boxes).unwrap_err().to_string().contains("none.txt")
        );
    }
}
