#!/usr/bin/env python3
"""Tracking evaluation on real football motion: footrackd's tracker vs supervision's ByteTrack.

Real TRACAB trajectories (22 players, 25 Hz) are filmed by a virtual broadcast camera (18 m up,
32 m behind the near touchline, panning after the ball and zooming slowly, 1920x1080), turned into
detections with realistic detector noise (position/size jitter, misses that grow with occlusion and
small size, occluded players scored lower, false positives), and written as MOTChallenge sequences
at 25 and 10 fps, with each frame's image-to-pitch homography (calibration noise: --calib-sigma)
and each detection's team vote in its 8th column (--wrong-team of them wrong). footrackd runs in
the image alone and on the pitch (track-mot --homography --teams), ByteTrack on the same
detections; TrackEval scores them (HOTA, IDF1, MOTA, ID switches).

    tools/eval_tracking.sh            # sets up .venv-eval, builds footrackd, runs this
    python3 tools/eval_tracking.py --tracab ../shared/data/tracab-por-sui-2019 --out /tmp/eval

Never commit the generated sequences: they are derived from TRACAB data that may not be published.
"""

import argparse
import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

PITCH_L, PITCH_W = 105.0, 68.0
CAM = np.array([52.5, -32.0, 18.0])
W, H = 1920, 1080
PLAYER_H = 1.85


def load_tracab(root: Path, start_s: float, seconds: float):
    """Positions [frames, 22, 2] (corner origin), teams [22] (1 home, 2 away), ball [frames, 2] at 25 Hz."""
    first = int(start_s * 25)
    n = int(seconds * 25)
    tracks, ids = [], []
    for team, side in ((1, "home"), (2, "away")):
        for f in sorted((root / side).glob("*.csv")):
            with open(f) as fh:
                rows = list(itertools.islice(fh, 1 + first, 1 + first + n))
            xy = np.array([[float(v.strip('"')) for v in r.split(",")[1:3]] for r in rows])
            tracks.append(xy + [PITCH_L / 2, PITCH_W / 2])
            ids.append(team)
    with open(root / "ball" / "200.csv") as fh:
        rows = list(itertools.islice(fh, 1 + first, 1 + first + n))
    ball = np.array([[float(v.strip('"')) for v in r.split(",")[1:3]] for r in rows]) + [PITCH_L / 2, PITCH_W / 2]
    return np.stack(tracks, axis=1), np.array(ids), ball


def resample(a: np.ndarray, fps: float) -> np.ndarray:
    """Linear interpolation of 25 Hz samples (axis 0) at `fps`."""
    t_src = np.arange(a.shape[0]) / 25.0
    t_dst = np.arange(0, t_src[-1] + 1e-9, 1.0 / fps)
    flat = a.reshape(a.shape[0], -1)
    out = np.stack([np.interp(t_dst, t_src, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape((len(t_dst),) + a.shape[1:])


def camera_rotation(target):
    f = target - CAM
    f /= np.linalg.norm(f)
    r = np.cross(f, [0.0, 0.0, 1.0])
    r /= np.linalg.norm(r)
    d = np.cross(f, r)
    return np.stack([r, d, f])


def project(R, focal, p):
    q = R @ (p - CAM)
    return focal * q[0] / q[2] + W / 2, focal * q[1] / q[2] + H / 2, q[2]


def image_to_pitch(R, focal):
    """The homography from image pixels to pitch metres (ground plane z = 0) of the camera."""
    K = np.array([[focal, 0.0, W / 2], [0.0, focal, H / 2], [0.0, 0.0, 1.0]])
    to_image = K @ np.column_stack([R[:, 0], R[:, 1], -R @ CAM])
    h = np.linalg.inv(to_image)
    return h / h[2, 2]


def fit_homography(src, dst):
    """Direct linear transform from four or more point pairs (src -> dst)."""
    rows = []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.array(rows))
    h = vt[-1].reshape(3, 3)
    return h / h[2, 2]


def apply_h(h, x, y):
    p = h @ np.array([x, y, 1.0])
    return p[0] / p[2], p[1] / p[2]


class CalibrationNoise:
    """A calibration that is wrong the way a fitted one is: the pitch places of four image anchors
    off by a slowly wandering error (Ornstein-Uhlenbeck, about 2 s memory), the homography refitted
    to them every frame. `sigma` sets the size (metres per axis)."""

    ANCHORS = [(0.15 * W, 0.9 * H), (0.85 * W, 0.9 * H), (0.8 * W, 0.35 * H), (0.2 * W, 0.35 * H)]

    def __init__(self, rng, sigma, fps):
        self.rng, self.sigma, self.keep = rng, sigma, math.exp(-1.0 / (2.0 * fps))
        self.err = rng.normal(0, sigma, (4, 2))

    def __call__(self, h_true):
        self.err = self.keep * self.err + math.sqrt(1 - self.keep ** 2) * self.rng.normal(0, self.sigma, (4, 2))
        dst = [np.array(apply_h(h_true, x, y)) + e for (x, y), e in zip(self.ANCHORS, self.err)]
        return fit_homography(self.ANCHORS, dst)


def render_boxes(players, ball, fps, rng, calib_sigma=0.0):
    """Per frame: list of (gt_id, x, y, w, h, occlusion, visibility) for players in view, and the
    frame's image-to-pitch homography (with calibration noise of `calib_sigma` metres per axis)."""
    target = np.array([52.5, 34.0])
    frames, homographies = [], []
    noise = CalibrationNoise(rng, calib_sigma, fps) if calib_sigma > 0 else None
    for k in range(players.shape[0]):
        t = k / fps
        want = np.array([np.clip(ball[k, 0], 18, 87), 34 + (ball[k, 1] - 34) * 0.35])
        target += (want - target) * (1 - math.exp(-1.0 / fps / 0.8))
        tgt3 = np.array([target[0], target[1], 0.0])
        dist = np.linalg.norm(tgt3 - CAM)
        field = 40 + 6 * math.sin(t * 0.21)
        focal = W * dist / field
        R = camera_rotation(tgt3)
        h_true = image_to_pitch(R, focal)
        homographies.append(noise(h_true) if noise else h_true)
        boxes = []
        for j in range(players.shape[1]):
            x, y = players[k, j]
            u, v, depth = project(R, focal, np.array([x, y, 0.0]))
            _, vh, _ = project(R, focal, np.array([x, y, PLAYER_H]))
            h = v - vh
            w = 0.42 * h
            bx, by = u - w / 2, vh
            ix = max(0.0, min(bx + w, W) - max(bx, 0.0))
            iy = max(0.0, min(by + h, H) - max(by, 0.0))
            inside = ix * iy / max(w * h, 1e-6)
            if inside < 0.3:
                continue
            boxes.append([j + 1, bx, by, w, h, depth, inside])
        # Occlusion by nearer players (smaller depth).
        out = []
        for b in boxes:
            occ = 0.0
            for o in boxes:
                if o[5] >= b[5]:
                    continue
                ix = max(0.0, min(b[1] + b[3], o[1] + o[3]) - max(b[1], o[1]))
                iy = max(0.0, min(b[2] + b[4], o[2] + o[4]) - max(b[2], o[2]))
                occ = max(occ, ix * iy / (b[3] * b[4]))
            vis = max(0.0, min(1.0, b[6] * (1 - occ)))
            out.append((b[0], b[1], b[2], b[3], b[4], occ, vis))
        frames.append(out)
    return frames, homographies


def calibration_error(frames, homographies, players, fps):
    """Median distance on the pitch between where the (noisy) homography puts each visible
    player's true feet and where he stands, metres."""
    errs = []
    for k, (boxes, h) in enumerate(zip(frames, homographies)):
        for (gid, x, y, w, bh, _, _) in boxes[::3]:
            px, py = apply_h(h, x + w / 2, y + bh)
            errs.append(math.hypot(px - players[k, gid - 1, 0], py - players[k, gid - 1, 1]))
    return float(np.median(errs)) if errs else 0.0


def noisy_detections(frames, rng, teams, wrong_team=0.05):
    """A detector's view of the ground truth: jitter, misses, scores, false positives; each
    detection's team vote (1, 2; 0 for false positives), wrong with probability `wrong_team`."""
    dets = []
    for boxes in frames:
        row = []
        for (gid, x, y, w, h, occ, vis) in boxes:
            p_miss = 0.04 + 0.85 * occ ** 2 + (0.12 if h < 25 else 0.0)
            if rng.random() < p_miss:
                continue
            jw = w * (1 + rng.normal(0, 0.06))
            jh = h * (1 + rng.normal(0, 0.05))
            jx = x + rng.normal(0, 0.05 * w) + (w - jw) / 2
            jy = y + rng.normal(0, 0.04 * h) + (h - jh) / 2
            score = float(np.clip(rng.normal(0.78, 0.08) - 0.6 * occ, 0.05, 0.99))
            team = int(teams[gid - 1])
            if rng.random() < wrong_team:
                team = 3 - team
            row.append((jx, jy, jw, jh, score, team))
        for _ in range(rng.poisson(0.6)):
            h = rng.uniform(25, 70)
            row.append((rng.uniform(0, W - h * 0.4), rng.uniform(H * 0.2, H - h), h * 0.42, h, float(rng.uniform(0.1, 0.55)), 0))
        dets.append(row)
    return dets


def write_sequence(root: Path, name: str, frames, dets, fps, homographies):
    seq = root / "gt" / "mot_challenge" / "FOOT-train" / name
    (seq / "gt").mkdir(parents=True, exist_ok=True)
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname={name}\nimDir=img1\nframeRate={int(round(fps))}\nseqLength={len(frames)}\nimWidth={W}\nimHeight={H}\nimExt=.jpg\n"
    )
    with open(seq / "gt" / "gt.txt", "w") as f:
        for k, boxes in enumerate(frames, 1):
            for (gid, x, y, w, h, _, vis) in boxes:
                f.write(f"{k},{gid},{x:.2f},{y:.2f},{w:.2f},{h:.2f},1,1,{vis:.3f}\n")
    det_path = root / "det" / f"{name}.txt"
    det_path.parent.mkdir(parents=True, exist_ok=True)
    with open(det_path, "w") as f:
        for k, row in enumerate(dets, 1):
            for (x, y, w, h, s, team) in row:
                f.write(f"{k},-1,{x:.2f},{y:.2f},{w:.2f},{h:.2f},{s:.3f},{team},-1,-1\n")
    with open(det_path.with_suffix(".homography.txt"), "w") as f:
        for k, hm in enumerate(homographies, 1):
            f.write(f"{k}," + ",".join(f"{v:.9g}" for v in hm.reshape(-1)) + "\n")
    return det_path


def run_bytetrack(det_path: Path, out_path: Path, fps: float, n_frames: int):
    import supervision as sv

    rows = np.loadtxt(det_path, delimiter=",", ndmin=2)
    tracker = sv.ByteTrack(frame_rate=int(round(fps)))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w") as f:
        for k in range(1, n_frames + 1):
            r = rows[rows[:, 0] == k] if rows.size else np.zeros((0, 10))
            xyxy = np.stack([r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], axis=1) if len(r) else np.zeros((0, 4))
            d = sv.Detections(xyxy=xyxy.astype(np.float32), confidence=r[:, 6].astype(np.float32), class_id=np.zeros(len(r), dtype=int))
            t = tracker.update_with_detections(d)
            for (x1, y1, x2, y2), tid in zip(t.xyxy, t.tracker_id):
                f.write(f"{k},{int(tid)},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},1,-1,-1,-1\n")


def evaluate(root: Path, trackers, seqs):
    import trackeval

    for name in ("float", "int", "bool"):
        if not hasattr(np, name):
            setattr(np, name, {"float": float, "int": int, "bool": bool}[name])
    (root / "gt" / "mot_challenge" / "seqmaps").mkdir(parents=True, exist_ok=True)
    (root / "gt" / "mot_challenge" / "seqmaps" / "FOOT-train.txt").write_text("name\n" + "\n".join(seqs) + "\n")
    eval_cfg = trackeval.Evaluator.get_default_eval_config()
    eval_cfg.update({"PRINT_RESULTS": False, "PRINT_CONFIG": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
                     "PLOT_CURVES": False, "TIME_PROGRESS": False, "DISPLAY_LESS_PROGRESS": True, "USE_PARALLEL": False})
    ds_cfg = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
    ds_cfg.update({"GT_FOLDER": str(root / "gt" / "mot_challenge"), "TRACKERS_FOLDER": str(root / "trackers" / "mot_challenge"),
                   "BENCHMARK": "FOOT", "SPLIT_TO_EVAL": "train", "TRACKERS_TO_EVAL": trackers, "DO_PREPROC": False,
                   "PRINT_CONFIG": False})
    evaluator = trackeval.Evaluator(eval_cfg)
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(), trackeval.metrics.Identity()]
    res, _ = evaluator.evaluate([trackeval.datasets.MotChallenge2DBox(ds_cfg)], metrics)
    out = {}
    for t in trackers:
        r = res["MotChallenge2DBox"][t]["COMBINED_SEQ"]["pedestrian"]
        out[t] = {"HOTA": 100 * float(np.mean(r["HOTA"]["HOTA"])), "IDF1": 100 * float(r["Identity"]["IDF1"]),
                  "MOTA": 100 * float(r["CLEAR"]["MOTA"]), "IDSW": int(r["CLEAR"]["IDSW"])}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracab", default="../shared/data/tracab-por-sui-2019")
    ap.add_argument("--out", default="/tmp/footrackd-eval")
    ap.add_argument("--footrackd", default="target/release/footrackd")
    ap.add_argument("--segments", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--footrackd-config", default=None, help="a footrackd config whose [track] section to use")
    ap.add_argument("--calib-sigma", type=float, default=0.45,
                    help="calibration noise, metres per axis of each anchor (0.45 gives a median error of about 0.6 m)")
    ap.add_argument("--wrong-team", type=float, default=0.05, help="share of detections with the wrong team vote")
    args = ap.parse_args()
    root = Path(args.out)
    rng = np.random.default_rng(args.seed)
    results, calib_errors = {}, []
    for fps in (25.0, 10.0):
        sub = root / f"fps{int(fps)}"
        seqs = []
        for s in range(args.segments):
            start = 240.0 + s * (2400.0 / max(args.segments, 1))
            players, teams, ball = load_tracab(Path(args.tracab), start, args.seconds)
            if fps != 25.0:
                players, ball = resample(players, fps), resample(ball, fps)
            frames, homographies = render_boxes(players, ball, fps, rng, args.calib_sigma)
            calib_errors.append(calibration_error(frames, homographies, players, fps))
            dets = noisy_detections(frames, rng, teams, args.wrong_team)
            name = f"FOOT-{s + 1:02d}"
            det_path = write_sequence(sub, name, frames, dets, fps, homographies)
            seqs.append(name)
            trk = sub / "trackers" / "mot_challenge" / "FOOT-train"
            cfg = ["-c", args.footrackd_config] if args.footrackd_config else []
            pitch = ["--homography", str(det_path.with_suffix(".homography.txt")), "--teams", "--frame-size", f"{W}x{H}"]
            for tracker, extra in (("footrackd", []), ("footrackd-pitch", pitch)):
                (trk / tracker / "data").mkdir(parents=True, exist_ok=True)
                subprocess.run([args.footrackd, "track-mot", "--det", str(det_path), "--out", str(trk / tracker / "data" / f"{name}.txt"),
                                "--fps", str(fps)] + cfg + extra, check=True, stdout=subprocess.DEVNULL)
            run_bytetrack(det_path, trk / "bytetrack" / "data" / f"{name}.txt", fps, len(frames))
        results[fps] = evaluate(sub, ["footrackd", "footrackd-pitch", "bytetrack"], seqs)
    print(f"\n{args.segments} sequences x {args.seconds:.0f} s of TRACAB Portugal-Switzerland 2019, seed {args.seed}; "
          f"calibration error median {np.median(calib_errors):.2f} m, {100 * args.wrong_team:.0f} % wrong team votes\n")
    print("| fps | tracker | HOTA | IDF1 | MOTA | ID switches |")
    print("| --- | --- | --- | --- | --- | --- |")
    names = {"footrackd": "footrackd, image only", "footrackd-pitch": "footrackd on the pitch (--homography --teams)",
             "bytetrack": "supervision ByteTrack 0.29.1"}
    for fps, r in results.items():
        for t, m in r.items():
            print(f"| {int(fps)} | {names[t]} | {m['HOTA']:.1f} | {m['IDF1']:.1f} | {m['MOTA']:.1f} | {m['IDSW']} |")
    ok = all(r["footrackd"]["HOTA"] > r["bytetrack"]["HOTA"] for r in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
