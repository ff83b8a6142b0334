#!/usr/bin/env python3
"""Train the ball finder: a small network that looks for the ball alone, in the whole frame at its
own resolution.

The football detector sees the frame shrunk to 1280x736 and misses about a quarter of the balls at
any score (most 8-10 px wide: a white dot on the grass, too small once shrunk); the ball check can
only rank the candidates it is given. The finder reads every pixel: a fully convolutional network
(stride 4 for the ball, a stride-8 branch for context) that outputs, for each 4x4 cell, how likely
the ball's centre lies there, where in the cell, and the ball's size (CenterNet's recipe). Its
best peaks become ball candidates beside the detector's; the ball check then ranks them all.

Input: RGB 0-255, NCHW, any height and width that are multiples of 8 (the daemon pads the frame).
Output [N, 5, H/4, W/4]: the centre's logit, its offset in the cell (x, y, in cells, 0..1 after a
sigmoid) and log of the ball's width and height in pixels.

Samples: 384x384 crops of the train splits' 1920x1080 frames at a random scale (0.55-1.3, so 720p
and 1080p streams look alike to it), half of them holding a labelled ball; flips and colour
jitter. Both valid splits choose the checkpoint (mean of each set's one-ball-per-frame AP) and are
reported: the finder alone, and how many balls are among its peaks.

  python3 tools/train/ball_finder_train.py --train BALL/train --train PLAYERS/train \\
      --valid BALL/valid --valid PLAYERS/valid --out models/ball_finder.onnx [--seed 7]
  # fine-tuning: --init WEIGHTS.pt --lr 5e-4 --steps 4000
  # on the GPU machine: --device cuda --workers 3 --batch 32 --stop-after-min 7 (run again alike to
  # resume from OUT.ckpt); tools/train/finder_device.sh runs several side by side
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate as ev  # noqa: E402
from ball_check_train import colour  # noqa: E402

STRIDE, CROP = 4, 384
SCALES = (0.55, 1.3)
# Peaks kept per frame and the lowest probability kept, as the daemon's defaults.
TOP_K, MIN_SCORE = 8, 0.02


def cbr(i: int, o: int, stride: int = 1, dilation: int = 1, groups: int = 1, k: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(i, o, k, stride, padding=dilation * (k // 2), dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(o),
        nn.ReLU(inplace=True),
    )


def separable(c: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(cbr(c, c, dilation=dilation, groups=c), cbr(c, c, k=1))


class BallFinderNet(nn.Module):
    """Two strided 3x3 convolutions to stride 4, separable blocks there and at stride 8 (dilated,
    for context: a white dot on grass, not a sock or a line), summed back at stride 4."""

    def __init__(self, w1: int = 12, w2: int = 24, w3: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(cbr(3, w1, 2), cbr(w1, w2, 2), separable(w2), separable(w2))
        self.context = nn.Sequential(cbr(w2, w3, 2), separable(w3, 2), separable(w3, 4), cbr(w3, w2, k=1))
        self.head = nn.Sequential(separable(w2), nn.Conv2d(w2, 5, 1))
        nn.init.constant_(self.head[1].bias, 0.0)
        with torch.no_grad():
            self.head[1].bias[0] = -4.6  # a prior of 1 % for the centre

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x / 255.0)
        y = nn.functional.interpolate(self.context(x), scale_factor=2.0, mode="nearest")
        return self.head(x + y)


class Exported(nn.Module):
    """The centre as a probability and the offset squashed to the cell; sizes left as logs."""

    def __init__(self, net: BallFinderNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        return torch.cat([torch.sigmoid(y[:, :3]), y[:, 3:]], dim=1)


def read_frames(root: str):
    """Every frame of a split with its balls (x1, y1, x2, y2), RGB."""
    out = []
    for img_path in sorted(Path(root, "images").iterdir()):
        img = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        balls = [g[1:] for g in ev.read_labels(Path(root, "labels", img_path.stem + ".txt"), w, h) if g[0] == "ball"]
        out.append((img, np.array(balls, np.float32).reshape(-1, 4)))
    return out


def sample(frames, with_ball: bool, rng: random.Random):
    """A CROP x CROP training crop and its target maps."""
    img, balls = rng.choice(frames)
    while with_ball and len(balls) == 0:
        img, balls = rng.choice(frames)
    fh, fw = img.shape[:2]
    scale = rng.uniform(*SCALES)
    side = CROP / scale
    if with_ball:
        b = balls[rng.randrange(len(balls))]
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        x0 = cx - rng.uniform(0.1, 0.9) * side
        y0 = cy - rng.uniform(0.1, 0.9) * side
    else:
        x0 = rng.uniform(0, max(0.0, fw - side))
        y0 = rng.uniform(0, max(0.0, fh - side))
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
    crop = cv2.warpAffine(img, m, (CROP, CROP), flags=cv2.INTER_LINEAR, borderValue=(114, 114, 114))
    boxes = balls * scale - np.array([x0, y0, x0, y0], np.float32) * scale
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
        boxes = np.stack([CROP - boxes[:, 2], boxes[:, 1], CROP - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) else boxes
    crop = colour(np.ascontiguousarray(crop), rng)
    return crop, target(boxes)


def target(boxes: np.ndarray) -> np.ndarray:
    """Maps [6, CROP/4, CROP/4]: Gaussian centre heat, offset x/y, log w/h, and where to learn them."""
    n = CROP // STRIDE
    t = np.zeros((6, n, n), np.float32)
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)
    for x1, y1, x2, y2 in boxes:
        cx, cy = (x1 + x2) / 2 / STRIDE, (y1 + y2) / 2 / STRIDE
        if not (0 <= cx < n and 0 <= cy < n):
            continue
        sigma = max(0.6, (x2 - x1) / STRIDE / 3)
        t[0] = np.maximum(t[0], np.exp(-((xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2) / (2 * sigma * sigma)))
        ix, iy = int(cx), int(cy)
        t[0, iy, ix] = 1.0
        t[1, iy, ix], t[2, iy, ix] = cx - ix, cy - iy
        t[3, iy, ix], t[4, iy, ix] = np.log(max(x2 - x1, 2.0)), np.log(max(y2 - y1, 2.0))
        t[5, iy, ix] = 1.0
    return t


def loss_of(y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on the centre, L1 on offset and size at the ball."""
    p = torch.sigmoid(y[:, 0]).clamp(1e-4, 1 - 1e-4)
    heat, mask = t[:, 0], t[:, 5]
    positive = heat >= 1.0
    pos_loss = -((1 - p) ** 2 * torch.log(p))[positive].sum()
    neg_loss = -(((1 - heat) ** 4) * p ** 2 * torch.log(1 - p))[~positive].sum()
    n = positive.sum().clamp(min=1)
    off = (torch.abs(torch.sigmoid(y[:, 1:3]) - t[:, 1:3]) * mask[:, None]).sum()
    size = (torch.abs(y[:, 3:5] - t[:, 3:5]) * mask[:, None]).sum()
    return (pos_loss + neg_loss) / n + (off + 0.2 * size) / n


def peaks(out: np.ndarray, top_k: int = TOP_K, min_score: float = MIN_SCORE):
    """The exported output [5, h, w] of one frame as boxes: local maxima of the centre (3x3)."""
    heat = out[0]
    pooled = cv2.dilate(heat, np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero((heat >= pooled) & (heat >= min_score))
    order = np.argsort(-heat[ys, xs])[:top_k]
    boxes = []
    for i in order:
        y, x = ys[i], xs[i]
        cx, cy = (x + out[1, y, x]) * STRIDE, (y + out[2, y, x]) * STRIDE
        w, h = np.exp(out[3, y, x]), np.exp(out[4, y, x])
        boxes.append((float(heat[y, x]), cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return boxes


def run_frame(net: nn.Module, img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    ph, pw = -h % 8, -w % 8
    x = np.pad(img, ((0, ph), (0, pw), (0, 0)), constant_values=114)
    dev = next(net.parameters()).device
    with torch.no_grad():
        return Exported(net)(torch.from_numpy(x).to(dev).permute(2, 0, 1)[None].float())[0].cpu().numpy()


def evaluate_split(net: nn.Module, frames) -> dict:
    net.eval()
    out, held = [], 0
    for img, balls in frames:
        found = peaks(run_frame(net, img))
        dets = [("ball", s, x1, y1, x2, y2) for s, x1, y1, x2, y2 in found]
        gts = [("ball", *b) for b in balls]
        if len(balls) and found:
            held += int(ev.iou(np.array([d[2:] for d in dets]), balls).max() >= 0.3)
        out.append((dets, gts))
    net.train()
    r = ev.evaluate(out, ball_iou=0.3)
    n = sum(len(b) for _, b in frames)
    return {
        "ap50": round(r["ball"]["ap50"], 3),
        "top1_ap50": round(r["ball_top1"]["ap50"], 3),
        "top1_r@p0.8": round(r["ball_top1"]["recall_at_precision_0.8"], 3),
        f"among_top{TOP_K}": round(held / max(n, 1), 3),
    }


def mean_top1(scores: dict) -> float:
    """The checkpoint's figure: the mean of the splits' one-ball-per-frame AP."""
    return float(np.mean([s["top1_ap50"] for s in scores.values()]))


class Crops(torch.utils.data.Dataset):
    """Training crops by index: sample `i` holds a ball when `i` is even, and its randomness comes
    from (seed, i) alone, so that loader workers and a resumed run draw the same crops."""

    def __init__(self, frames, seed: int) -> None:
        self.frames, self.seed = frames, seed

    def __len__(self) -> int:
        return 1 << 40

    def __getitem__(self, i: int):
        crop, t = sample(self.frames, i % 2 == 0, random.Random(self.seed * 1_000_003 + i))
        return torch.from_numpy(crop).permute(2, 0, 1), torch.from_numpy(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="append", required=True, help="a split folder with images/ and labels/")
    ap.add_argument("--valid", action="append", default=[])
    ap.add_argument("--out", default="models/ball_finder.onnx")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--every", type=int, default=500, help="steps between valid checks")
    ap.add_argument("--init", help="start from these weights (a .pt state dict this script saved) instead of from scratch")
    ap.add_argument("--lr", type=float, default=2e-3, help="the peak learning rate (one cycle)")
    ap.add_argument("--widths", default="12,24,32", help="the network's channels: stem, stride 4, context")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda on the GPU machine")
    ap.add_argument("--workers", type=int, default=0, help="processes making crops (0: this one)")
    ap.add_argument("--threads", type=int, default=2, help="torch's CPU threads")
    ap.add_argument("--stop-after-min", type=float, default=0.0, help="save a checkpoint and stop after this long (0: never)")
    args = ap.parse_args()
    started = time.monotonic()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    train = [f for root in args.train for f in read_frames(root)]
    valid = [(root, read_frames(root)) for root in args.valid]
    print(f"train: {len(train)} frames, {sum(len(b) for _, b in train)} balls", flush=True)
    net = BallFinderNet(*(int(w) for w in args.widths.split(","))).to(dev)
    best, best_state, best_step = -1.0, None, 0
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05)
    # A run stopped by --stop-after-min goes on from its checkpoint when started again alike.
    resume, first = Path(args.out + ".ckpt"), 1
    if resume.exists():
        ck = torch.load(resume, weights_only=False)
        net.load_state_dict(ck["net"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        best, best_state, first = ck["best"], ck["best_state"], ck["step"] + 1
        best_step = ck.get("best_step", 0)
        print(f"resumed at step {first} (best {best:.3f})", flush=True)
    elif args.init:
        # Fine-tuning: the starting weights compete with every checkpoint.
        net.load_state_dict(torch.load(args.init))
        scores = {root: evaluate_split(net, frames) for root, frames in valid}
        print(f"start {args.init} valid {scores}", flush=True)
        if scores:
            best = mean_top1(scores)
            best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    crops = torch.utils.data.DataLoader(
        Crops(train, args.seed),
        batch_size=args.batch,
        sampler=range((first - 1) * args.batch, args.steps * args.batch),
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
        prefetch_factor=4 if args.workers > 0 else None,
    )
    step = first - 1
    for step, (x, t) in enumerate(crops, start=first):
        loss = loss_of(net(x.to(dev).float()), t.to(dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.3f}", flush=True)
        out_of_time = args.stop_after_min > 0 and time.monotonic() - started > args.stop_after_min * 60
        if step % args.every == 0 or step == args.steps or out_of_time:
            scores = {root: evaluate_split(net, frames) for root, frames in valid}
            mean = mean_top1(scores) if scores else float(step)
            print(f"step {step} valid {scores} mean {mean:.3f}", flush=True)
            if mean > best:
                best, best_state, best_step = mean, {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}, step
                torch.save(best_state, args.out + ".pt")
            if out_of_time or step == args.steps:
                state = {"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}
                torch.save({**state, "best": best, "best_state": best_state, "best_step": best_step, "step": step}, resume)
            if out_of_time and step < args.steps:
                print(f"stopped at step {step}: run again alike to go on", flush=True)
                return
    net = net.cpu()
    net.load_state_dict(best_state)
    net.eval()
    torch.onnx.export(
        Exported(net),
        torch.zeros(1, 3, 1088, 1920),
        args.out,
        input_names=["images"],
        output_names=["ball"],
        dynamic_axes={"images": {0: "N", 2: "H", 3: "W"}, "ball": {0: "N", 2: "h", 3: "w"}},
        opset_version=17,
        dynamo=False,
    )
    print(f"wrote {args.out} (chosen at step {best_step}, 0 = the starting weights: mean one-per-frame AP {best:.3f})")


if __name__ == "__main__":
    main()
