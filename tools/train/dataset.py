"""Training samples from the de-stretched football frames: scale, crop, mosaic, colour, blur, flip.

Every sample is drawn from its own generator seeded by (seed, step, index), so a run is the same
whatever the number of loader workers and whether it was resumed. Scales are given against a
1080p broadcast frame, whatever size a source's frames are stored at, and cover what the detector
sees in service: 0.45x (a whole 1080p frame at a small input) up to 2x (a close look at the ball).
Samples come from several sources (the players set, the ball set), each with its share; a cell
can be centred on the ball or on a rare role (goalkeeper, referee) so that both are seen often.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MAX_LABELS = 160
BALL = 0
RARE_ROLES = (1, 3)  # goalkeeper, referee


def load_split(root: str | Path, size: tuple[int, int] | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Images (BGR) and their boxes `[cls, x1, y1, x2, y2]` in pixels; `size` (width, height)
    resizes every frame first (to undo a stretch: the labels are normalised)."""
    root = Path(root)
    images, labels = [], []
    for path in sorted((root / "images").glob("*.jpg")):
        img = cv2.imread(str(path))
        if img is None:
            raise RuntimeError(f"cannot read {path}")
        if size is not None:
            img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        h, w = img.shape[:2]
        rows = np.loadtxt(root / "labels" / (path.stem + ".txt"), ndmin=2).reshape(-1, 5)
        boxes = np.zeros((len(rows), 5), np.float32)
        boxes[:, 0] = rows[:, 0]
        boxes[:, 1] = (rows[:, 1] - rows[:, 3] / 2) * w
        boxes[:, 2] = (rows[:, 2] - rows[:, 4] / 2) * h
        boxes[:, 3] = (rows[:, 1] + rows[:, 3] / 2) * w
        boxes[:, 4] = (rows[:, 2] + rows[:, 4] / 2) * h
        images.append(img)
        labels.append(boxes)
    if not images:
        raise RuntimeError(f"no frames under {root}")
    return images, labels


def _crop(rng, img, boxes, out_w, out_h, scale, centre=None):
    """A window of the frame scaled by `scale`, `out_w` x `out_h` pixels, with its boxes; with
    `centre` (x, y), a window that holds that point somewhere inside its middle 80 %."""
    h, w = img.shape[:2]
    win_w, win_h = out_w / scale, out_h / scale
    if centre is None:
        x0 = rng.uniform(min(0.0, w - win_w), max(0.0, w - win_w))
        y0 = rng.uniform(min(0.0, h - win_h), max(0.0, h - win_h))
    else:
        x0 = centre[0] - win_w * rng.uniform(0.1, 0.9)
        y0 = centre[1] - win_h * rng.uniform(0.1, 0.9)
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
    patch = cv2.warpAffine(img, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=(114, 114, 114))
    b = boxes.copy()
    b[:, [1, 3]] = (b[:, [1, 3]] - x0) * scale
    b[:, [2, 4]] = (b[:, [2, 4]] - y0) * scale
    area = (b[:, 3] - b[:, 1]) * (b[:, 4] - b[:, 2])
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, out_w)
    b[:, [2, 4]] = b[:, [2, 4]].clip(0, out_h)
    kept = (b[:, 3] - b[:, 1]) * (b[:, 4] - b[:, 2])
    ok = (kept > 0.45 * np.maximum(area, 1e-6)) & (b[:, 3] - b[:, 1] > 1.5) & (b[:, 4] - b[:, 2] > 1.5)
    return patch, b[ok]


def _colour(rng, img):
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + rng.integers(-8, 9)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.4), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.65, 1.35), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)


def _blur(rng, img):
    if rng.random() < 0.5:
        k = int(rng.choice([3, 5]))
        return cv2.GaussianBlur(img, (k, k), 0)
    k = int(rng.choice([3, 5, 7]))  # motion blur along a random direction
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1.0 / k
    rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (k, k))
    return cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))


@dataclass
class Source:
    """Frames of one dataset and how samples are drawn from them."""

    images: list
    labels: list
    #: Stored pixels per pixel of the 1080p frame they were taken from (1280x720: 0.667).
    px_per_1080p: float
    #: Share of the cells drawn from this source.
    weight: float = 1.0
    #: Scales against 1080p, log-uniform.
    scale: tuple[float, float] = (0.4, 1.35)
    #: Chance that a cell is centred on the frame's ball, where it has one.
    on_ball: float = 0.0
    #: Chance that a cell is centred on a goalkeeper or referee, where the frame has one.
    on_rare_role: float = 0.0


def _centre(rng, src: Source, boxes: np.ndarray):
    """The point a cell is centred on, or None for a window anywhere."""
    u = rng.random()
    for chance, wanted in ((src.on_ball, np.isin(boxes[:, 0], [BALL])), (src.on_rare_role, np.isin(boxes[:, 0], RARE_ROLES))):
        if u < chance and wanted.any():
            b = boxes[rng.choice(np.flatnonzero(wanted))]
            return (b[1] + b[3]) / 2, (b[2] + b[4]) / 2
        u -= chance
    return None


class Mosaics:
    """Training samples keyed by an integer (the sampler's step * batch + index).

    `Mosaics(images, labels, ...)` draws from one source stored at 1280x720 with the scales of
    `scale`; `Mosaics.of(sources, ...)` from several."""

    def __init__(self, images, labels, size=416, seed=0, mosaic=0.6, scale=(0.4, 1.35)):
        self.sources = [Source(images, labels, 1280 / 1920, scale=scale)]
        self.size, self.seed, self.mosaic = size, seed, mosaic

    @classmethod
    def of(cls, sources: list[Source], size=416, seed=0, mosaic=0.6):
        m = cls([], [], size, seed, mosaic)
        m.sources = sources
        return m

    def __len__(self):
        return 1 << 30

    def sample(self, key: int):
        rng = np.random.default_rng([self.seed, key])
        s = self.size
        canvas = np.full((s, s, 3), 114, np.uint8)
        parts = []
        if rng.random() < self.mosaic:
            cx, cy = int(rng.uniform(0.3, 0.7) * s), int(rng.uniform(0.3, 0.7) * s)
            cells = [(0, 0, cx, cy), (cx, 0, s, cy), (0, cy, cx, s), (cx, cy, s, s)]
        else:
            cells = [(0, 0, s, s)]
        weights = np.array([src.weight for src in self.sources], np.float64)
        for x0, y0, x1, y1 in cells:
            src = self.sources[int(rng.choice(len(self.sources), p=weights / weights.sum()))]
            i = int(rng.integers(len(src.images)))
            scale = float(np.exp(rng.uniform(np.log(src.scale[0]), np.log(src.scale[1])))) / src.px_per_1080p
            centre = _centre(rng, src, src.labels[i])
            patch, b = _crop(rng, src.images[i], src.labels[i], x1 - x0, y1 - y0, scale, centre)
            canvas[y0:y1, x0:x1] = patch
            b[:, [1, 3]] += x0
            b[:, [2, 4]] += y0
            parts.append(b)
        boxes = np.concatenate(parts) if parts else np.zeros((0, 5), np.float32)
        if rng.random() < 0.8:
            canvas = _colour(rng, canvas)
        if rng.random() < 0.25:
            canvas = _blur(rng, canvas)
        if rng.random() < 0.5:
            canvas = canvas[:, ::-1].copy()
            boxes[:, [1, 3]] = s - boxes[:, [3, 1]]
        target = np.zeros((MAX_LABELS, 5), np.float32)
        boxes = boxes[:MAX_LABELS]
        target[: len(boxes), 0] = boxes[:, 0]
        target[: len(boxes), 1] = (boxes[:, 1] + boxes[:, 3]) / 2
        target[: len(boxes), 2] = (boxes[:, 2] + boxes[:, 4]) / 2
        target[: len(boxes), 3] = boxes[:, 3] - boxes[:, 1]
        target[: len(boxes), 4] = boxes[:, 4] - boxes[:, 2]
        img = np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32)
        return img, target

    def __getitem__(self, key):
        return self.sample(int(key))


def letterbox(img: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio, pad bottom/right with 114 (footrackd's pre-processing)."""
    h, w = img.shape[:2]
    r = min(width / w, height / h)
    out = np.full((height, width, 3), 114, np.uint8)
    nw, nh = int(round(w * r)), int(round(h * r))
    out[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out, r
