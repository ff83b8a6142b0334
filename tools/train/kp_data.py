"""Pitch keypoint samples (Roboflow football-field keypoints, YOLOv8-pose labels): the 32
keypoints of docs/pitch.md, augmented so that the model holds on other stadiums and broadcasts.

One perspective warp per sample takes a 1280x720 frame to the model's 640x384 input: the base
scale, a random zoom (0.75-1.5), shift, rotation (+-4 deg) and corner jitter (perspective); then
colour (HSV), blur, noise, greyscale; the left-right flip swaps keypoints by FLIP. Each sample is
drawn from its own generator seeded by (seed, step, index): a run is the same whatever the number
of loader workers and whether it was resumed.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

K = 32
IN_W, IN_H = 640, 384
STRIDE = 4
FLIP = [24, 25, 26, 27, 28, 29, 22, 23, 21, 17, 18, 19, 20, 13, 14, 15, 16, 9, 10, 11, 12, 8, 6, 7, 0, 1, 2, 3, 4, 5, 31, 30]


def pitch_keypoints(length=105.0, width=68.0) -> np.ndarray:
    """The keypoints' places (x from the left goal line, y from the far touchline), metres: the
    same model as src/pitch/keypoints.rs."""
    c = width / 2
    pa, ga = 20.16, 9.16
    gl = lambda x: [(x, 0), (x, c - pa), (x, c - ga), (x, c + ga), (x, c + pa), (x, width)]
    bl = lambda x: [(x, c - pa), (x, c - ga), (x, c + ga), (x, c + pa)]
    p = gl(0) + [(5.5, c - ga), (5.5, c + ga), (11, c)] + bl(16.5)
    p += [(length / 2, 0), (length / 2, c - 9.15), (length / 2, c + 9.15), (length / 2, width)]
    p += bl(length - 16.5) + [(length - 11, c), (length - 5.5, c - ga), (length - 5.5, c + ga)] + gl(length)
    p += [(length / 2 - 9.15, c), (length / 2 + 9.15, c)]
    return np.array(p, np.float64)


def load_split(root: str | Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Images (BGR) and keypoints `[K, 3]` (x, y pixels, visible 0/1)."""
    root = Path(root)
    images, points = [], []
    for path in sorted((root / "images").glob("*.jpg")):
        img = cv2.imread(str(path))
        if img is None:
            raise RuntimeError(f"cannot read {path}")
        h, w = img.shape[:2]
        v = np.loadtxt(root / "labels" / (path.stem + ".txt")).reshape(-1)
        kp = v[5:5 + 3 * K].reshape(K, 3).astype(np.float64)
        kp[:, 0] *= w
        kp[:, 1] *= h
        kp[:, 2] = (kp[:, 2] > 0).astype(np.float64)
        images.append(img)
        points.append(kp)
    if not images:
        raise RuntimeError(f"no frames under {root}")
    return images, points


def base_transform(w: int, h: int) -> np.ndarray:
    """Frame pixels to model input as the daemon letterboxes (src/infer/pre.rs): scaled to fit,
    top-left aligned, the rest padded."""
    s = min(IN_W / w, IN_H / h)
    return np.array([[s, 0, 0], [0, s, 0], [0, 0, 1]], np.float64)


def warp(img: np.ndarray, kp: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out = cv2.warpPerspective(img, m, (IN_W, IN_H), flags=cv2.INTER_LINEAR, borderValue=(114, 114, 114))
    pts = np.concatenate([kp[:, :2], np.ones((K, 1))], 1) @ m.T
    xy = pts[:, :2] / pts[:, 2:3]
    vis = kp[:, 2] * (pts[:, 2] > 0) * (xy[:, 0] >= 0) * (xy[:, 0] < IN_W) * (xy[:, 1] >= 0) * (xy[:, 1] < IN_H)
    return out, np.concatenate([xy, vis[:, None]], 1)


def augment(img: np.ndarray, kp: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    h, w = img.shape[:2]
    kp = kp.copy()
    if rng.random() < 0.5:  # left-right flip: the picture and the keypoints' names
        img = img[:, ::-1]
        kp[:, 0] = w - 1 - kp[:, 0]
        kp = kp[FLIP]
    m = base_transform(w, h)
    zoom = np.exp(rng.uniform(np.log(0.75), np.log(1.5)))
    ang = np.deg2rad(rng.uniform(-4, 4))
    cx, cy = IN_W / 2 + rng.uniform(-0.15, 0.15) * IN_W, IN_H / 2 + rng.uniform(-0.15, 0.15) * IN_H
    r = np.array([[zoom * np.cos(ang), -zoom * np.sin(ang), 0], [zoom * np.sin(ang), zoom * np.cos(ang), 0], [0, 0, 1]])
    t = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]]) @ r @ np.array([[1, 0, -IN_W / 2], [0, 1, -IN_H / 2], [0, 0, 1]])
    src = np.float32([[0, 0], [IN_W, 0], [IN_W, IN_H], [0, IN_H]])
    dst = src + rng.uniform(-0.04, 0.04, (4, 2)).astype(np.float32) * np.float32([IN_W, IN_H])
    p = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    out, kpo = warp(np.ascontiguousarray(img), kp, p @ t @ m)
    # Colour, blur, noise: other kits, grass, light and broadcast encoders.
    hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
    hsv[..., 1] *= rng.uniform(0.6, 1.4)
    hsv[..., 2] *= rng.uniform(0.6, 1.4)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR)
    if rng.random() < 0.3:
        k = int(rng.choice([3, 5, 7]))
        out = cv2.GaussianBlur(out, (k, k), 0)
    if rng.random() < 0.05:
        out = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.3:
        out = np.clip(out.astype(np.float32) + rng.normal(0, rng.uniform(2, 8), out.shape), 0, 255).astype(np.uint8)
    return out, kpo


def heatmaps(kp: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Gaussian targets `[K, IN_H/STRIDE, IN_W/STRIDE]` at the visible keypoints."""
    hh, ww = IN_H // STRIDE, IN_W // STRIDE
    ys, xs = np.mgrid[0:hh, 0:ww].astype(np.float32)
    out = np.zeros((K, hh, ww), np.float32)
    for i in range(K):
        if kp[i, 2] > 0:
            x, y = kp[i, 0] / STRIDE, kp[i, 1] / STRIDE
            out[i] = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return out


class TrainSet:
    """Augmented samples; `index` = step * batch + position in the batch."""

    def __init__(self, root: str, seed: int, batch: int):
        self.images, self.points = load_split(root)
        self.seed, self.batch = seed, batch

    def __len__(self) -> int:
        return 10**9

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        i = int(rng.integers(len(self.images)))
        img, kp = augment(self.images[i], self.points[i], rng)
        x = np.ascontiguousarray(img.transpose(2, 0, 1)).astype(np.float32)  # BGR 0..255, as YOLOX
        return x, heatmaps(kp)
