//! MOTChallenge text files: detections in, tracks out, with the daemon's own tracker.
//! `footrackd track-mot` is a thin wrapper around [`track_file`], so anyone can score the
//! tracker with standard tools (TrackEval, py-motmetrics).

use std::fmt::Write as _;
use std::path::Path;

use super::mot_text::{MotError, MotLayout, read_rows, write};
use crate::frame::{BBox, Detection, ObjectClass};
use crate::track::{Tracker, TrackerOptions};

/// Detections grouped by frame, frames ascending.
pub fn read_detections(path: &Path) -> Result<Vec<(u32, Vec<Detection>)>, MotError> {
    let mut rows: Vec<(u32, Detection)> = read_rows(path, MotLayout::Detections)?
        .into_iter()
        .map(|r| {
            let [x, y, w, h] = r.xywh.map(|v| v as f32);
            let score = r.score.unwrap_or(1.0).clamp(0.0, 1.0) as f32;
            (r.frame, Detection { bbox: BBox::from_xywh(x, y, w, h), score, class: ObjectClass::Player })
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    let mut out: Vec<(u32, Vec<Detection>)> = Vec::new();
    for (frame, d) in rows {
        match out.last_mut() {
            Some((f, v)) if *f == frame => v.push(d),
            _ => out.push((frame, vec![d])),
        }
    }
    Ok(out)
}

/// Tracks every frame from 1 to the last detected frame (frames without detections still
/// advance the tracker) and returns MOT result lines.
pub fn track(frames: &[(u32, Vec<Detection>)], opts: TrackerOptions) -> String {
    let mut tracker = Tracker::new(opts);
    let mut out = String::new();
    let last = frames.last().map_or(0, |f| f.0);
    let mut next = frames.iter().peekable();
    let empty: Vec<Detection> = Vec::new();
    for frame in 1..=last {
        let dets = match next.peek() {
            Some((f, d)) if *f == frame => {
                next.next();
                d
            }
            _ => &empty,
        };
        for t in tracker.step(1.0, dets) {
            if t.class != ObjectClass::Player {
                continue;
            }
            let b = t.bbox;
            let _ = writeln!(
                out,
                "{frame},{},{:.2},{:.2},{:.2},{:.2},{:.3},-1,-1,-1",
                t.id,
                b.x1,
                b.y1,
                b.width(),
                b.height(),
                t.score
            );
        }
    }
    out
}

/// Reads `det`, tracks, and writes `out`.
pub fn track_file(det: &Path, out: &Path, opts: TrackerOptions) -> Result<usize, MotError> {
    let frames = read_detections(det)?;
    let text = track(&frames, opts);
    write(out, &text)?;
    Ok(text.lines().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_walkers_keep_their_ids_through_a_gap_in_the_file() {
        let mut det = String::new();
        for f in 1..=30u32 {
            if (12..=14).contains(&f) {
                continue; // no detections at all in these frames
            }
            let x = 100.0 + 4.0 * f as f32;
            let _ = writeln!(det, "{f},-1,{x},200,30,80,0.9,-1,-1,-1");
            let _ = writeln!(det, "{f},-1,{},400,30,80,0.8,-1,-1,-1", 900.0 - 4.0 * f as f32);
        }
        let dir = tempfile::tempdir().unwrap();
        let (d, r) = (dir.path().join("det.txt"), dir.path().join("res.txt"));
        std::fs::write(&d, det).unwrap();
        let n = track_file(&d, &r, TrackerOptions::default()).unwrap();
        assert!(n >= 48, "{n} result lines");
        let res = std::fs::read_to_string(&r).unwrap();
        let ids: std::collections::BTreeSet<&str> = res.lines().map(|l| l.split(',').nth(1).unwrap()).collect();
        assert_eq!(ids.len(), 2, "ids {ids:?}");
    }

    #[test]
    fn malformed_lines_are_reported_with_their_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("det.txt");
        std::fs::write(&d, "1,-1,10,10,5,5,0.9\n2,-1,ten,10,5,5,0.9\n").unwrap();
        let e = read_detections(&d).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
    }
}
