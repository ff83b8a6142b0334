"""Decoding heatmaps into keypoints and fitting the daemon's calibration to them, without torch:
the same rules as src/pitch/keypoints.rs, used by training to choose a checkpoint and by
`python kp_eval.py MODEL.onnx DATA` to measure an exported model with ONNX Runtime.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import kp_data as D


def decode(heat: np.ndarray, thr: float):
    """Peaks of `[K, h, w]` sigmoid heatmaps: (x, y, score) in input pixels, or None."""
    out = []
    for k in range(heat.shape[0]):
        hm = heat[k]
        i = int(hm.argmax())
        y, x = divmod(i, hm.shape[1])
        s = float(hm[y, x])
        if s < thr:
            out.append(None)
            continue
        # Sub-cell refinement: the weighted centre of the 3x3 neighbourhood.
        y0, y1, x0, x1 = max(y - 1, 0), min(y + 2, hm.shape[0]), max(x - 1, 0), min(x + 2, hm.shape[1])
        w = hm[y0:y1, x0:x1]
        yy, xx = np.mgrid[y0:y1, x0:x1]
        cx, cy = (w * xx).sum() / w.sum(), (w * yy).sum() / w.sum()
        out.append(((cx + 0.5) * D.STRIDE - 0.5, (cy + 0.5) * D.STRIDE - 0.5, s))
    return out


def fit(found, places, min_inliers=5, inlier_m=1.5, max_rms=1.0):
    """The daemon's rules (src/pitch/keypoints.rs): RANSAC, >= 5 inliers, RMS <= 1 m, not mirrored."""
    idx = [i for i, f in enumerate(found) if f is not None]
    if len(idx) < min_inliers:
        return None
    src = np.float64([found[i][:2] for i in idx])
    dst = places[idx]
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, inlier_m, maxIters=2000, confidence=0.999)
    if h is None or mask is None or mask.sum() < min_inliers:
        return None
    keep = mask.ravel() > 0
    h, _ = cv2.findHomography(src[keep], dst[keep], 0)
    if h is None:
        return None
    proj = cv2.perspectiveTransform(src[keep][None], h)[0]
    if np.sqrt(((proj - dst[keep]) ** 2).sum(1).mean()) > max_rms:
        return None
    c = src[keep].mean(0)
    pts = cv2.perspectiveTransform(np.float64([[c + [1, 0], c - [1, 0], c + [0, 1], c - [0, 1]]]), h)[0]
    det = (pts[0, 0] - pts[1, 0]) * (pts[2, 1] - pts[3, 1]) - (pts[0, 1] - pts[1, 1]) * (pts[2, 0] - pts[3, 0])
    return h if det > 0 else None



def measure(predict, images, points, thr: float = 0.3) -> dict:
    """Share of frames calibrated; labelled keypoints' error through the fit (metres on the
    pitch); keypoint error where found (frame pixels); `predict(x)` takes one letterboxed
    [3, H, W] BGR float input and returns its [K, h, w] sigmoid heatmaps."""
    places = D.pitch_keypoints()
    errors, px_err, calibrated, t = [], [], 0, 0.0
    for img, kp in zip(images, points):
        h, w = img.shape[:2]
        m = D.base_transform(w, h)
        x, _ = D.warp(img, kp, m)
        t0 = time.time()
        heat = predict(np.ascontiguousarray(x.transpose(2, 0, 1)).astype(np.float32))
        t += time.time() - t0
        inv = np.linalg.inv(m)
        found = []
        for f in decode(heat, thr):
            if f is None:
                found.append(None)
                continue
            q = inv @ np.array([f[0], f[1], 1.0])
            found.append((q[0] / q[2], q[1] / q[2], f[2]))
        for i, f in enumerate(found):
            if f is not None and kp[i, 2] > 0:
                px_err.append(math.hypot(f[0] - kp[i, 0], f[1] - kp[i, 1]))
        hmat = fit(found, places)
        if hmat is None:
            continue
        calibrated += 1
        vis = kp[:, 2] > 0
        proj = cv2.perspectiveTransform(kp[vis, :2][None].astype(np.float64), hmat)[0]
        errors.extend(np.sqrt(((proj - places[vis]) ** 2).sum(1)).tolist())
    e = np.sort(np.array(errors)) if errors else np.array([np.inf])
    return {
        "frames": len(images),
        "calibrated_share": calibrated / len(images),
        "error_median_m": float(np.median(e)),
        "error_p90_m": float(e[int(len(e) * 0.9) if len(e) > 1 else 0]),
        "keypoint_px_median": float(np.median(px_err)) if px_err else None,
        "ms_per_frame": 1000 * t / len(images),
    }


def evaluate_onnx(model: str, data: str, thr: float = 0.3) -> dict:
    import onnxruntime as ort

    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    images, points = D.load_split(Path(data) / "valid")
    return measure(lambda x: sess.run(None, {"images": x[None]})[0][0], images, points, thr)


if __name__ == "__main__":
    print(json.dumps(evaluate_onnx(sys.argv[1], sys.argv[2])))
