//! MOTChallenge text files: detections in, tracks out, with the daemon's own tracker.
//! `footrackd track-mot` is a thin wrapper around [`track_file`], so anyone can score the
//! tracker with standard tools (TrackEval, py-motmetrics). With a homography per frame
//! (`--homography`) and teams in the detections' 8th column (`--teams`) the tracker also works
//! on the pitch, as the daemon does with a calibrated camera.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::mot_text::{MotError, MotLayout, read_rows, write};
use crate::frame::{BBox, Detection, ObjectClass, Team};
use crate::pitch::Homography;
use crate::track::{FramePitch, Tracker, TrackerOptions};

/// One frame's detections and each one's team (empty without `--teams`).
#[derive(Clone, Debug, Default)]
pub struct FrameDetections {
    /// Frame number (from 1).
    pub frame: u32,
    /// The detections.
    pub dets: Vec<Detection>,
    /// Their teams, aligned (`None`: unknown).
    pub teams: Vec<Option<Team>>,
}

/// What the pitch adds: a homography per frame (image pixels to pitch metres; a frame without
/// one has no calibration) and the frame size.
#[derive(Clone, Debug, Default)]
pub struct PitchInput {
    /// Homographies by frame.
    pub homographies: BTreeMap<u32, Homography>,
    /// Frame width and height, pixels.
    pub frame_size: (f32, f32),
}

/// Detections grouped by frame, frames ascending; `teams`: the 8th column is the team (1 = A,
/// 2 = B, anything else unknown).
pub fn read_detections(path: &Path, teams: bool) -> Result<Vec<FrameDetections>, MotError> {
    let mut rows: Vec<(u32, Detection, Option<Team>)> = read_rows(path, MotLayout::Detections)?
        .into_iter()
        .map(|r| {
            let [x, y, w, h] = r.xywh.map(|v| v as f32);
            let score = r.score.unwrap_or(1.0).clamp(0.0, 1.0) as f32;
            let team = match r.eighth.map(|t| t.round() as i64) {
                Some(1) if teams => Some(Team::A),
                Some(2) if teams => Some(Team::B),
                _ => None,
            };
            (r.frame, Detection { bbox: BBox::from_xywh(x, y, w, h), score, class: ObjectClass::Player }, team)
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    let mut out: Vec<FrameDetections> = Vec::new();
    for (frame, d, team) in rows {
        match out.last_mut() {
            Some(f) if f.frame == frame => {
                f.dets.push(d);
                f.teams.push(team);
            }
            _ => out.push(FrameDetections { frame, dets: vec![d], teams: vec![team] }),
        }
    }
    Ok(out)
}

/// Reads `frame,h11,h12,h13,h21,h22,h23,h31,h32,h33` lines (row-major, image pixels to pitch
/// metres); a singular matrix or a malformed line is an error naming its line.
pub fn read_homographies(path: &Path) -> Result<BTreeMap<u32, Homography>, MotError> {
    let text = std::fs::read_to_string(path).map_err(|source| MotError::Io { path: path.to_path_buf(), source })?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || MotError::Parse {
            path: PathBuf::from(path),
            line: i + 1,
            expected: "frame,h11,h12,h13,h21,h22,h23,h31,h32,h33 (an invertible homography)",
            text: line.to_string(),
        };
        let f: Vec<f64> = line
            .split([',', ' ', '\t'])
            .filter(|t| !t.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        if f.len() != 10 || !(1.0..=u32::MAX as f64).contains(&f[0]) || f[0].fract() != 0.0 {
            return Err(bad());
        }
        let h = Homography::from_row_major(&f[1..]).ok_or_else(bad)?;
        out.insert(f[0] as u32, h);
    }
    Ok(out)
}

/// Tracks every frame from 1 to the last detected frame (frames without detections still
/// advance the tracker) and returns MOT result lines; `pitch` adds the calibration per frame.
pub fn track(frames: &[FrameDetections], opts: TrackerOptions, pitch: Option<&PitchInput>) -> String {
    let mut tracker = Tracker::new(opts);
    let mut out = String::new();
    let last = frames.last().map_or(0, |f| f.frame);
    let mut next = frames.iter().peekable();
    let empty = FrameDetections::default();
    for frame in 1..=last {
        let f = match next.peek().copied() {
            Some(f) if f.frame == frame => {
                next.next();
                f
            }
            _ => &empty,
        };
        let view = FramePitch {
            homography: pitch.and_then(|p| p.homographies.get(&frame)),
            frame_size: pitch.map_or((0.0, 0.0), |p| p.frame_size),
            teams: &f.teams,
        };
        for t in tracker.step_on_pitch(1.0, &f.dets, view) {
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

/// Reads `det` (teams from its 8th column with `teams`), tracks (on the pitch with `pitch`),
/// and writes `out`.
pub fn track_file(
    det: &Path,
    out: &Path,
    opts: TrackerOptions,
    teams: bool,
    pitch: Option<&PitchInput>,
) -> Result<usize, MotError> {
    let frames = read_detections(det, teams)?;
    let text = track(&frames, opts, pitch);
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
        let n = track_file(&d, &r, TrackerOptions::default(), false, None).unwrap();
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
        let e = read_detections(&d, false).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
        let h = dir.path().join("h.txt");
        std::fs::write(&h, "1,0.1,0,0,0,0.1,0,0,0,1\n2,0,0,0,0,0,0,0,0,0\n").unwrap();
        let e = read_homographies(&h).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("invertible"), "{e}");
        std::fs::write(&h, "1,0.1,0,0,0,0.1,0,0,0,1\n3,0.1,0,0,0,0.1,0,0,0\n").unwrap();
        assert!(read_homographies(&h).unwrap_err().to_string().contains(":2:"));
    }

    /// Two players of different teams run out of the view at the left edge and come back 3 s
    /// later where their run leads; on the pitch each keeps his id, in the image alone neither does.
    #[test]
    fn players_who_leave_the_view_keep_their_ids_on_the_pitch() {
        // 10 px per metre, the view 0..100 m x 0..68 m of a 1000 x 680 frame; boxes 20 x 50 px
        // standing on their feet.
        let h = Homography::from_row_major(&[0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]).unwrap();
        let pitch = PitchInput { homographies: (1..=400).map(|f| (f, h)).collect(), frame_size: (1000.0, 680.0) };
        let mut frames = Vec::new();
        for f in 1..=400u32 {
            let t = f as f32 / 25.0;
            let mut fd = FrameDetections { frame: f, ..Default::default() };
            // Out at the left edge at 5 m/s by t = 4 s, back in from t = 7 s (walking back at 5 m/s).
            for (k, (y, team)) in [(20.0f32, Team::A), (45.0, Team::B)].into_iter().enumerate() {
                let x = if t < 7.0 { 20.0 - 5.0 * t + k as f32 } else { -15.0 + 5.0 * (t - 7.0) + k as f32 };
                if x < 1.0 {
                    continue;
                }
                fd.dets.push(Detection {
                    bbox: BBox::from_xywh(10.0 * x - 10.0, 10.0 * y - 50.0, 20.0, 50.0),
                    score: 0.9,
                    class: ObjectClass::Player,
                });
                fd.teams.push(Some(team));
            }
            frames.push(fd);
        }
        let ids = |text: &str| -> Vec<std::collections::BTreeSet<u64>> {
            let mut by_row = vec![std::collections::BTreeSet::new(); 2];
            for l in text.lines() {
                let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
                let row = if v[3] + v[5] < 300.0 { 0 } else { 1 };
                by_row[row].insert(v[1] as u64);
            }
            by_row
        };
        let on_pitch = ids(&track(&frames, TrackerOptions::default(), Some(&pitch)));
        assert_eq!(on_pitch.iter().map(|s| s.len()).collect::<Vec<_>>(), [1, 1], "{on_pitch:?}");
        let image_only = ids(&track(&frames, TrackerOptions::default(), None));
        assert!(image_only.iter().all(|s| s.len() == 2), "{image_only:?}");
    }
}
