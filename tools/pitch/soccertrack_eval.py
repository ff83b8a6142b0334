#!/usr/bin/env python3
"""Position error of footrackd's pitch mapping on real data: the SoccerTrack sample.

The sample (../shared/data/soccertrack-sportslabkit) has, for 750 frames, every player's box in
the pixels of SoccerTrack's wide view and the same player's position on the pitch in metres. A
handful of point pairs (feet of a few players in frame 0 and their pitch positions, the way a user
would click known points) calibrate the camera; every box of every frame is then mapped through
`footrackd pitch-map` and compared with its true position. OpenCV's findHomography on the same
points is the reference.

  python3 tools/pitch/soccertrack_eval.py [--footrackd target/release/footrackd] [--pairs 6] [--json OUT]
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "../shared/data/soccertrack-sportslabkit"


def read(path: Path) -> tuple[dict, np.ndarray]:
    """{(team, player): {attribute: column}} and the frame x column table."""
    with open(path) as f:
        rows = list(csv.reader(f))
    teams, players, attrs = rows[0][1:], rows[1][1:], rows[2][1:]
    body = [r for r in rows[3:] if r and r[0] not in ("frame", "")]
    table = np.array([[float(v) if v else np.nan for v in r[1:]] for r in body])
    cols: dict = {}
    for i, (t, p, a) in enumerate(zip(teams, players, attrs)):
        cols.setdefault((int(t), int(p)), {})[a] = i
    return cols, table


def feet_and_truth():
    bcols, boxes = read(DATA / "sample_bbdf.csv")
    ccols, coords = read(DATA / "sample_codf.csv")
    people = sorted(k for k in bcols if k[0] in (0, 1))
    rows = []  # frame, id, left, top, w, h, x_m, y_m
    for f in range(len(boxes)):
        for k in people:
            b, c = bcols[k], ccols[k]
            l, t, w, h = (boxes[f, b[a]] for a in ("bb_left", "bb_top", "bb_width", "bb_height"))
            x, y = coords[f, c["x"]], coords[f, c["y"]]
            if np.isfinite([l, t, w, h, x, y]).all() and w > 0 and h > 0:
                rows.append((f + 1, k[0] * 100 + k[1], l, t, w, h, x, y))
    return np.array(rows)


def choose_pairs(rows: np.ndarray, n: int) -> np.ndarray:
    """n players of frame 1 spread over the pitch: the ones nearest the corners of the area the
    players cover, then the ones farthest from those chosen (deterministic)."""
    first = rows[rows[:, 0] == 1]
    pts = first[:, 6:8]
    lo, hi = pts.min(0), pts.max(0)
    chosen: list[int] = []
    for corner in ([lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]):
        d = np.linalg.norm(pts - np.array(corner), axis=1)
        d[chosen] = np.inf
        chosen.append(int(d.argmin()))
    while len(chosen) < n:
        d = np.min(np.linalg.norm(pts[:, None] - pts[chosen][None], axis=2), axis=1)
        chosen.append(int(d.argmax()))
    sel = first[chosen]
    foot_x = sel[:, 2] + sel[:, 4] / 2
    foot_y = sel[:, 3] + sel[:, 5]
    return np.stack([foot_x, foot_y, sel[:, 6], sel[:, 7]], 1)


def stats(err: np.ndarray) -> dict:
    return {"mean_m": float(err.mean()), "p95_m": float(np.percentile(err, 95)), "max_m": float(err.max()), "n": int(len(err))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--footrackd", default=str(Path(__file__).resolve().parents[2] / "target/release/footrackd"))
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--click-noise-px", type=float, default=0.0, help="add this much Gaussian noise (seeded) to the clicked pixels")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = feet_and_truth()
    pairs = choose_pairs(rows, args.pairs)
    if args.click_noise_px:
        pairs[:, :2] += np.random.default_rng(1).normal(0.0, args.click_noise_px, pairs[:, :2].shape)
    truth = rows[:, 6:8]
    result = {"frames": int(rows[:, 0].max()), "boxes": int(len(rows)), "click_noise_px": args.click_noise_px, "pairs": pairs.tolist()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mot = tmp / "boxes.txt"
        np.savetxt(mot, rows[:, :6], fmt=["%d", "%d", "%.2f", "%.2f", "%.2f", "%.2f"], delimiter=",")
        cfg = tmp / "c.toml"
        pts = ", ".join(f"[{a:.2f}, {b:.2f}, {c:.3f}, {d:.3f}]" for a, b, c, d in pairs)
        cfg.write_text(f'[source]\nuri = "/dev/null"\n[pitch]\npoints = [{pts}]\nmax_error_m = 5.0\n')
        v = subprocess.run([args.footrackd, "validate", "-c", str(cfg), "--no-env"], capture_output=True, text=True)
        print(v.stdout.strip() or v.stderr.strip())
        out = tmp / "pitch.csv"
        subprocess.run([args.footrackd, "pitch-map", "-c", str(cfg), "--mot", str(mot), "--out", str(out)], check=True, capture_output=True)
        mapped = np.loadtxt(out, delimiter=",", skiprows=1).reshape(-1, 4)
    if len(mapped) != len(rows):
        raise SystemExit(f"{len(rows)} boxes, {len(mapped)} mapped")
    result["footrackd"] = stats(np.linalg.norm(mapped[:, 2:4] - truth, axis=1))
    try:
        import cv2

        foot = np.stack([rows[:, 2] + rows[:, 4] / 2, rows[:, 3] + rows[:, 5]], 1).astype(np.float64)
        h, _ = cv2.findHomography(pairs[:, :2], pairs[:, 2:4], 0)
        ours = cv2.perspectiveTransform(foot[None], h)[0]
        result["opencv_findHomography"] = stats(np.linalg.norm(ours - truth, axis=1))
        h_all, _ = cv2.findHomography(foot, truth, 0)
        result["best_single_homography_all_points"] = stats(np.linalg.norm(cv2.perspectiveTransform(foot[None], h_all)[0] - truth, axis=1))
    except ImportError:
        print("(OpenCV not installed: no reference)")
    for k in ("footrackd", "opencv_findHomography", "best_single_homography_all_points"):
        if k in result:
            r = result[k]
            print(f"{k:<36} mean {r['mean_m']:.3f} m  p95 {r['p95_m']:.3f} m  max {r['max_m']:.3f} m  over {r['n']} boxes")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
