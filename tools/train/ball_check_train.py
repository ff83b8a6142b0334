#!/usr/bin/env python3
"""Train the ball check: is a ball candidate the ball? A third look at each ball the detector found.

The detector's ball candidates hold most balls (at score 0.01, 77 % of the ball set's valid balls
are among them) but it ranks them poorly: socks, heads, line crossings and advertising score as
high as small real balls. A small network looks at a square window of the frame's own pixels
around each candidate (WINDOW_FACTOR times the candidate's larger side, within WINDOW_MIN..MAX
pixels; clipped to the frame and letterboxed top-left into 32x32 with padding 114, exactly as
footrackd's pre-processor cuts it, `src/infer/pre.rs`), RGB 0-255, and says how likely it is the
ball. The daemon multiplies the candidate's score by it.

Samples: every labelled ball of the train splits (positives, window jittered as a detector's box
is) and the detector's own ball candidates there that are not the ball (hard negatives, at most
12 per frame), drawn half and half. Both valid splits choose nothing but are reported: AP and
recall at precision 0.8 of the rescored candidates (all, and each frame's best one).

  footrackd detect -c score001.toml DIR/train/images/* --out train.jsonl   # for each set
  python3 tools/train/ball_check_train.py --train ball-train.jsonl:BALL/train/labels \\
      --train players-train.jsonl:PLAYERS/train/labels --valid ball-valid.jsonl:BALL/valid/labels \\
      --valid players-valid.jsonl:PLAYERS/valid/labels --out models/ball_check_32.onnx [--seed 7]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate as ev  # noqa: E402

# Defaults of the shipped check; --input, --window-* and --negatives change them for a run.
IN, PAD = 32, 114
WINDOW_FACTOR, WINDOW_MIN, WINDOW_MAX = 6.0, 32.0, 120.0
# Patches kept around each sample, pixels (the largest window and its jitter fit).
PATCH = 160
MAX_NEGATIVES = 12
WIDTH = 16


def window(size: float) -> float:
    return float(np.clip(WINDOW_FACTOR * size, WINDOW_MIN, WINDOW_MAX))


def region(cx: float, cy: float, side: float, fw: int, fh: int) -> tuple[int, int, int, int]:
    """The square window around (cx, cy) in whole pixels, clipped to the frame (as the daemon)."""
    x1 = int(np.clip(np.floor(cx - side / 2), 0, fw - 1))
    y1 = int(np.clip(np.floor(cy - side / 2), 0, fh - 1))
    x2 = int(np.clip(np.ceil(cx + side / 2), x1 + 1, fw))
    y2 = int(np.clip(np.ceil(cy + side / 2), y1 + 1, fh))
    return x1, y1, x2, y2


def letterbox(pixels: np.ndarray) -> np.ndarray:
    scale = min(IN / pixels.shape[1], IN / pixels.shape[0])
    cw, ch = max(1, min(IN, round(pixels.shape[1] * scale))), max(1, min(IN, round(pixels.shape[0] * scale)))
    out = np.full((IN, IN, 3), PAD, np.uint8)
    out[:ch, :cw] = cv2.resize(pixels, (cw, ch), interpolation=cv2.INTER_LINEAR)
    return out


class Sample:
    """A patch of the frame around a candidate and where the frame ends, in patch pixels."""

    def __init__(self, img: np.ndarray, box, label: int) -> None:
        fh, fw = img.shape[:2]
        self.cx, self.cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        self.size = max(box[2] - box[0], box[3] - box[1], 1.0)
        self.ox, self.oy = int(round(self.cx)) - PATCH // 2, int(round(self.cy)) - PATCH // 2
        x1, y1 = max(0, self.ox), max(0, self.oy)
        x2, y2 = min(fw, self.ox + PATCH), min(fh, self.oy + PATCH)
        self.pixels = img[y1:y2, x1:x2].copy()
        self.px, self.py = x1, y1
        self.fw, self.fh = fw, fh
        self.label = label

    def crop(self, rng: random.Random | None = None) -> np.ndarray:
        cx, cy, side = self.cx, self.cy, window(self.size)
        if rng is not None:
            side *= rng.uniform(0.85, 1.2)
            cx += rng.uniform(-0.3, 0.3) * self.size
            cy += rng.uniform(-0.3, 0.3) * self.size
        x1, y1, x2, y2 = region(cx, cy, side, self.fw, self.fh)
        # The window inside the stored patch (jitter never leaves it: PATCH > WINDOW_MAX * 1.2).
        x1, x2 = max(x1, self.px), min(x2, self.px + self.pixels.shape[1])
        y1, y2 = max(y1, self.py), min(y2, self.py + self.pixels.shape[0])
        return letterbox(self.pixels[y1 - self.py:y2 - self.py, x1 - self.px:x2 - self.px])


def read_split(spec: str, max_negatives: int | None):
    """Samples of `dets.jsonl:labels_dir`: labelled balls and unmatched candidates; and the
    per-frame records (for rescoring)."""
    jsonl, labels = spec.split(":")
    samples, frames = [], []
    for line in open(jsonl):
        rec = json.loads(line)
        img = cv2.cvtColor(cv2.imread(rec["image"]), cv2.COLOR_BGR2RGB)
        gts = [g[1:] for g in ev.read_labels(Path(labels) / (Path(rec["image"]).stem + ".txt"), rec["width"], rec["height"]) if g[0] == "ball"]
        for g in gts:
            samples.append(Sample(img, g, 1))
        cands = sorted((d for d in rec["detections"] if d["class"] == "ball"), key=lambda d: -d["score"])
        negatives = 0
        crops = []
        for d in cands:
            hit = bool(gts) and ev.iou(np.array([d["bbox"]]), np.array(gts)).max() >= 0.3
            if max_negatives is not None and not hit and negatives < max_negatives:
                samples.append(Sample(img, d["bbox"], 0))
                negatives += 1
            crops.append(Sample(img, d["bbox"], int(hit)).crop())
        frames.append((rec, crops))
    return samples, frames


def colour(x: np.ndarray, rng: random.Random) -> np.ndarray:
    hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + rng.randint(-4, 4)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.75, 1.25), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.7, 1.3), 0, 255)
    x = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (3, 3), rng.uniform(0.3, 1.0))
    return np.ascontiguousarray(x)


class BallCheckNet(nn.Module):
    """Four 3x3 convolutions (16-32-64-64), pooled, one linear layer: 3.4 MMAC per crop."""

    def __init__(self, width: int = WIDTH) -> None:
        super().__init__()
        w = width  # the first block's channels

        def block(i: int, o: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

        self.features = nn.Sequential(
            block(3, w), nn.MaxPool2d(2), block(w, 2 * w), nn.MaxPool2d(2), block(2 * w, 4 * w), nn.MaxPool2d(2), block(4 * w, 4 * w)
        )
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(4 * w, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Input: RGB 0-255, NCHW; scaled here so the daemon feeds raw pixels. Output: logits [N].
        return self.head(self.features(x / 255.0).mean(dim=(2, 3)))[:, 0]


class Exported(nn.Module):
    """The network with a sigmoid: the ONNX output is the probability of the ball, [N, 1]."""

    def __init__(self, net: BallCheckNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))[:, None]


def rescored(net: BallCheckNet, frames, labels: str) -> dict:
    """evaluate.py's figures with every ball candidate's score multiplied by the check."""
    net.eval()
    out = []
    for rec, crops in frames:
        p = iter([])
        if crops:
            with torch.no_grad():
                p = iter(torch.sigmoid(net(torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float())).numpy().tolist())
        dets = []
        for d in sorted((d for d in rec["detections"] if d["class"] == "ball"), key=lambda d: -d["score"]):
            dets.append(("ball", d["score"] * next(p), *d["bbox"]))
        gts = ev.read_labels(Path(labels) / (Path(rec["image"]).stem + ".txt"), rec["width"], rec["height"])
        out.append((dets, gts))
    net.train()
    r = ev.evaluate(out, ball_iou=0.3)
    return {k: {"ap50": round(r[k]["ap50"], 3), "recall_at_precision_0.8": round(r[k]["recall_at_precision_0.8"], 3)} for k in ("ball", "ball_top1")}


def main() -> None:
    global IN, WINDOW_FACTOR, WINDOW_MIN, WINDOW_MAX, PATCH, MAX_NEGATIVES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="append", required=True, help="dets.jsonl:labels_dir (footrackd detect at score 0.01)")
    ap.add_argument("--valid", action="append", default=[], help="dets.jsonl:labels_dir, reported")
    ap.add_argument("--out", default="models/ball_check_32.onnx")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--input", type=int, default=IN, help="the crop's side in the model, pixels")
    ap.add_argument("--window-factor", type=float, default=WINDOW_FACTOR)
    ap.add_argument("--window-min", type=float, default=WINDOW_MIN)
    ap.add_argument("--window-max", type=float, default=WINDOW_MAX)
    ap.add_argument("--width", type=int, default=WIDTH, help="the first convolution's channels (then x2, x4, x4)")
    ap.add_argument("--negatives", type=int, default=MAX_NEGATIVES, help="most candidates per frame kept as negatives")
    args = ap.parse_args()
    IN, WINDOW_FACTOR, WINDOW_MIN, WINDOW_MAX = args.input, args.window_factor, args.window_min, args.window_max
    PATCH, MAX_NEGATIVES = max(160, int(WINDOW_MAX * 1.25) + 8), args.negatives
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    samples = [s for spec in args.train for s in read_split(spec, MAX_NEGATIVES)[0]]
    pos = [s for s in samples if s.label == 1]
    neg = [s for s in samples if s.label == 0]
    print(f"train: {len(pos)} balls, {len(neg)} candidates that are not", flush=True)
    valid = [(spec.split(":")[1], read_split(spec, None)[1]) for spec in args.valid]
    net = BallCheckNet(args.width)
    for labels, frames in valid:
        before = {k: {"ap50": round(v["ap50"], 3), "recall_at_precision_0.8": round(v["recall_at_precision_0.8"], 3)}
                  for k, v in ev.evaluate([([("ball", d["score"], *d["bbox"]) for d in rec["detections"] if d["class"] == "ball"],
                                             ev.read_labels(Path(labels) / (Path(rec["image"]).stem + ".txt"), rec["width"], rec["height"]))
                                            for rec, _ in frames], ball_iou=0.3).items() if k in ("ball", "ball_top1")}
        print(f"valid {labels}, detector alone: {before}", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.steps, pct_start=0.1)
    for step in range(1, args.steps + 1):
        batch = [rng.choice(pos) if rng.random() < 0.5 else rng.choice(neg) for _ in range(args.batch)]
        xs = np.stack([colour(s.crop(rng), rng) for s in batch])
        x = torch.from_numpy(xs).permute(0, 3, 1, 2).float()
        y = torch.tensor([s.label * 0.95 + 0.025 for s in batch])
        loss = nn.functional.binary_cross_entropy_with_logits(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0:
            print(f"step {step} loss {loss.item():.3f}", flush=True)
    net.eval()
    for labels, frames in valid:
        print(f"valid {labels}, with the check: {rescored(net, frames, labels)}", flush=True)
    torch.onnx.export(
        Exported(net),
        torch.zeros(1, 3, IN, IN),
        args.out,
        input_names=["images"],
        output_names=["ball"],
        dynamic_axes={"images": {0: "N"}, "ball": {0: "N"}},
        opset_version=17,
        dynamo=False,
    )
    print("wrote", args.out)


if __name__ == "__main__":
    main()
