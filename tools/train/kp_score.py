"""Scores `footrackd calibrate` output against labelled keypoints (numpy only):

    python tools/train/kp_score.py calib.jsonl ../shared/data/roboflow-football-field-keypoints/valid

Per image the labelled keypoints are mapped through the homography footrackd fitted and compared
with their places on a 105 x 68 m pitch (the measure of docs/pitch.md and kp_eval.measure);
frames without a trusted homography count as not calibrated.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

K = 32


def pitch_keypoints(length: float = 105.0, width: float = 68.0) -> np.ndarray:
    """The places of src/pitch/keypoints.rs (and kp_data.pitch_keypoints)."""
    c, pa, ga = width / 2, 20.16, 9.16

    def gl(x):
        return [(x, 0), (x, c - pa), (x, c - ga), (x, c + ga), (x, c + pa), (x, width)]

    def bl(x):
        return [(x, c - pa), (x, c - ga), (x, c + ga), (x, c + pa)]

    p = gl(0) + [(5.5, c - ga), (5.5, c + ga), (11, c)] + bl(16.5)
    p += [(length / 2, 0), (length / 2, c - 9.15), (length / 2, c + 9.15), (length / 2, width)]
    p += bl(length - 16.5) + [(length - 11, c), (length - 5.5, c - ga), (length - 5.5, c + ga)] + gl(length)
    p += [(length / 2 - 9.15, c), (length / 2 + 9.15, c)]
    return np.array(p, np.float64)


def labels(root: Path, stem: str, w: int, h: int) -> np.ndarray:
    v = np.loadtxt(root / "labels" / (stem + ".txt")).reshape(-1)
    kp = v[5:5 + 3 * K].reshape(K, 3).astype(np.float64)
    kp[:, 0] *= w
    kp[:, 1] *= h
    return kp


def score(jsonl: str, split: str) -> dict:
    root, places = Path(split), pitch_keypoints()
    errors, px_err, frames, calibrated, ms = [], [], 0, 0, []
    for line in open(jsonl):
        r = json.loads(line)
        frames += 1
        kp = labels(root, Path(r["image"]).stem, r["width"], r["height"])
        vis = kp[:, 2] > 0
        for i, f in enumerate(r["keypoints"]):
            if f is not None and vis[i]:
                px_err.append(math.hypot(f[0] - kp[i, 0], f[1] - kp[i, 1]))
        if r["homography"] is None:
            continue
        calibrated += 1
        hm = np.array(r["homography"], np.float64).reshape(3, 3)
        p = np.concatenate([kp[vis, :2], np.ones((int(vis.sum()), 1))], 1) @ hm.T
        proj = p[:, :2] / p[:, 2:3]
        errors.extend(np.sqrt(((proj - places[vis]) ** 2).sum(1)).tolist())
    e = np.sort(np.array(errors)) if errors else np.array([np.inf])
    return {
        "frames": frames,
        "calibrated_share": calibrated / max(frames, 1),
        "error_median_m": float(np.median(e)),
        "error_p90_m": float(e[int(len(e) * 0.9) if len(e) > 1 else 0]),
        "keypoint_px_median": float(np.median(px_err)) if px_err else None,
    }


if __name__ == "__main__":
    print(json.dumps(score(sys.argv[1], sys.argv[2])))
