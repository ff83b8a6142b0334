#!/usr/bin/env python3
"""Fine-tunes YOLOX-Nano into a football detector: ball, goalkeeper, player, referee.

  PYTHONPATH=.device/train-deps python3 tools/train/train.py --data DIR --out OUT \
      [--ball-data DIR --init-onnx FOOTBALL.onnx] [--steps 3000] [--batch 64] [--seed 7] [--stop-after-min 9]

DIR holds `train/` and `valid/` from prepare_data.py (1280x720). Without --ball-data, the first
football model's recipe: from the COCO weights, the players set alone. With --ball-data (the ball
set from prepare_ball.py, its people labelled by a teacher with an unknown role), cells come from
both sets, centred on the ball or on a goalkeeper or referee part of the time, and the network
trains with a fifth, unknown-role column whose role loss is blind (net.RoleBlindBCE); --init-onnx
starts it from an earlier football model. The run is fixed by its seed and step count; it saves
`OUT/last.pt` every 250 steps and when --stop-after-min is reached, and a second call with the
same arguments resumes from it. The valid splits only choose the checkpoint (`OUT/best.pt`, EMA
weights): by the mean of people AP50, the two rare roles' AP50, and ball AP (IoU 0.3) on each
valid split, on whole frames at 1280x736.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
import torchvision

import net
from dataset import Mosaics, Source, letterbox, load_split
from evaluate import evaluate
from export import check_coco
from yolox.utils import ModelEMA

VAL_W, VAL_H = 1280, 736
BALL_IOU = 0.3
# The ball set's 640x640 frames with their 16:9 shape back (the labels are normalised).
BALL_FRAME = (1138, 640)


def decode(out: torch.Tensor, width: int, height: int, strides=(8, 16, 32)) -> torch.Tensor:
    """Raw YOLOX rows [B, A, 5 + C] to boxes (x1, y1, x2, y2), in input pixels."""
    grids, mults = [], []
    for s in strides:
        h, w = height // s, width // s
        yv, xv = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        grids.append(torch.stack((xv, yv), 2).view(-1, 2))
        mults.append(torch.full((h * w, 1), float(s)))
    grid = torch.cat(grids).to(out)
    mult = torch.cat(mults).to(out)
    xy = (out[..., :2] + grid) * mult
    wh = torch.exp(out[..., 2:4]) * mult
    return torch.cat([xy - wh / 2, xy + wh / 2, out[..., 4:]], -1)


def detections(rows: torch.Tensor, ratio: float, conf: float = 0.01, iou: float = 0.6):
    """One image's decoded rows to `(class, score, x1, y1, x2, y2)`; NMS across the person roles
    (a training-only unknown-role column is left out)."""
    cls_score, cls = rows[:, 5 : 5 + len(net.CLASSES)].max(1)
    score = rows[:, 4] * cls_score
    keep = score > conf
    boxes, score, cls = rows[keep, :4] / ratio, score[keep], cls[keep]
    group = (cls != net.CLASSES.index("ball")).long()
    kept = torchvision.ops.batched_nms(boxes, score, group, iou)[:300]
    return [(net.CLASSES[int(cls[k])], float(score[k]), *boxes[k].tolist()) for k in kept]


@torch.no_grad()
def validate(model, images, labels, device) -> dict:
    model.eval()
    model.head.decode_in_inference = False
    frames = []
    for img, lab in zip(images, labels):
        lb, r = letterbox(img, VAL_W, VAL_H)
        x = torch.from_numpy(lb.transpose(2, 0, 1).copy()).float()[None].to(device)
        out = decode(model(x).float(), VAL_W, VAL_H)[0]
        # Teacher labels (unknown role) are no ground truth: only human labels are scored.
        gts = [(net.CLASSES[int(c)], x1, y1, x2, y2) for c, x1, y1, x2, y2 in lab if int(c) < len(net.CLASSES)]
        frames.append((detections(out, r), gts))
    return evaluate(frames, BALL_IOU)


def choice_score(players: dict, balls: dict | None) -> float:
    """What chooses the checkpoint: people, the rare roles and the ball on each valid split."""
    parts = [players["people"]["ap50"], (players["goalkeeper"]["ap50"] + players["referee"]["ap50"]) / 2,
             players["ball"]["ap50"]]
    if balls is not None:
        parts.append(balls["ball"]["ap50"])
    return sum(parts) / len(parts)


def param_groups(model, weight_decay):
    decay, no_decay = [], []
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            (decay if name == "weight" and not isinstance(m, torch.nn.BatchNorm2d) else no_decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def lr_at(step, total, base, warmup):
    if step < warmup:
        return base * (step / warmup) ** 2
    t = (step - warmup) / max(total - warmup, 1)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


class Keys(torch.utils.data.Sampler):
    """Batches of sample keys for steps [start, total): key = step * batch + index."""

    def __init__(self, start, total, batch):
        self.start, self.total, self.batch = start, total, batch

    def __iter__(self):
        for step in range(self.start, self.total):
            yield [step * self.batch + i for i in range(self.batch)]

    def __len__(self):
        return self.total - self.start


class PhasedMosaics(Mosaics):
    """Less mosaic in the last part of training (YOLOX's no-aug epochs, softened)."""

    late_key = 1 << 62

    def __getitem__(self, key):
        self.mosaic = 0.15 if key >= self.late_key else 0.6
        return self.sample(int(key))


def sources(train_images, train_labels, ball_data: str | None) -> list[Source]:
    """The players set alone (the first model's recipe), or with the ball set."""
    if ball_data is None:
        return [Source(train_images, train_labels, 1280 / 1920)]
    ball_images, ball_labels = load_split(Path(ball_data) / "train", BALL_FRAME)
    return [
        Source(train_images, train_labels, 1280 / 1920, weight=0.45, scale=(0.4, 2.0), on_ball=0.3, on_rare_role=0.3),
        Source(ball_images, ball_labels, BALL_FRAME[1] / 1080, weight=0.55, scale=(0.4, 1.5), on_ball=0.5),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--coco-onnx", default="models/yolox_nano.onnx")
    ap.add_argument("--ball-data", default=None, help="the ball set from prepare_ball.py (train/, valid/)")
    ap.add_argument("--init-onnx", default=None, help="start from this football model instead of COCO")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=416)
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--amp", action="store_true", help="fp16 autocast (off: fp32 with TF32)")
    ap.add_argument("--stop-after-min", type=float, default=0.0, help="save and exit after this long (0: run to the end)")
    args = ap.parse_args()

    started = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    train_images, train_labels = load_split(Path(args.data) / "train")
    val_images, val_labels = load_split(Path(args.data) / "valid")
    ball_val = load_split(Path(args.ball_data) / "valid", BALL_FRAME) if args.ball_data else None
    if not (out / "last.pt").exists():
        check_coco(args.coco_onnx, val_images[0])
    if args.init_onnx:
        model = net.football_from_onnx(args.init_onnx, role_blind=args.ball_data is not None).to(device)
    else:
        model = net.football_from_coco(args.coco_onnx).to(device)
    ema = ModelEMA(model, 0.9998)
    opt = torch.optim.SGD(param_groups(model, 5e-4), lr=args.lr, momentum=0.9, nesterov=True)
    scaler = torch.amp.GradScaler("cuda", enabled=args.amp)
    step, best, history = 0, -1.0, []
    if (out / "last.pt").exists():
        ck = torch.load(out / "last.pt", map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        ema.ema.load_state_dict(ck["ema"])
        ema.updates = ck["ema_updates"]
        opt.load_state_dict(ck["opt"])
        scaler.load_state_dict(ck["scaler"])
        step, best, history = ck["step"], ck["best"], ck["history"]
        print(f"resumed at step {step}", flush=True)
    if step >= args.steps:
        print("already trained")
        return

    late_step = int(args.steps * 0.85)
    data = PhasedMosaics.of(sources(train_images, train_labels, args.ball_data), size=args.size, seed=args.seed)
    data.late_key = late_step * args.batch
    loader = torch.utils.data.DataLoader(
        data, batch_sampler=Keys(step, args.steps, args.batch), num_workers=args.workers,
        pin_memory=True, prefetch_factor=4, persistent_workers=False)
    warmup = max(100, args.steps // 20)

    def save(name):
        torch.save({"model": model.state_dict(), "ema": ema.ema.state_dict(), "ema_updates": ema.updates,
                    "opt": opt.state_dict(), "scaler": scaler.state_dict(), "step": step, "best": best,
                    "history": history, "args": vars(args)}, out / f"{name}.tmp")
        (out / f"{name}.tmp").replace(out / name)

    model.train()
    net.freeze_bn(model)
    t0, seen = time.time(), 0
    for imgs, targets in loader:
        model.head.use_l1 = step >= late_step
        lr = lr_at(step, args.steps, args.lr * args.batch / 64, warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        imgs = imgs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=args.amp):
            losses = model(imgs, targets)
        if not torch.isfinite(losses["total_loss"]):
            raise SystemExit(f"loss is not finite at step {step}: {losses}")
        opt.zero_grad(set_to_none=True)
        scaler.scale(losses["total_loss"]).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        scaler.step(opt)
        scaler.update()
        ema.update(model)
        step += 1
        seen += 1
        if step % 50 == 0 or step <= 3:
            rate = seen / (time.time() - t0)
            print(f"step {step}/{args.steps} lr {lr:.4f} loss {float(losses['total_loss']):.3f} "
                  f"iou {float(losses['iou_loss']):.3f} obj {float(losses['conf_loss']):.3f} "
                  f"cls {float(losses['cls_loss']):.3f} fg {float(losses['num_fg']):.1f} {rate:.2f} steps/s", flush=True)
        if step % args.val_every == 0 or step == args.steps:
            figures = validate(ema.ema, val_images, val_labels, device)
            balls = validate(ema.ema, *ball_val, device) if ball_val else None
            score = choice_score(figures, balls)
            history.append({"step": step, "score": score, **figures, **({"ball_set": balls} if balls else {})})
            ball_set = f" | ball set: ball AP {balls['ball']['ap50']:.3f} top-1 R@P.8 {balls['ball_top1']['recall_at_precision_0.8']:.3f}" if balls else ""
            print(f"valid step {step}: score {score:.3f} people AP50 {figures['people']['ap50']:.3f} "
                  f"ball AP {figures['ball']['ap50']:.3f} top-1 R@P.8 {figures['ball_top1']['recall_at_precision_0.8']:.3f} "
                  f"player {figures['player']['ap50']:.3f} goalkeeper {figures['goalkeeper']['ap50']:.3f} "
                  f"referee {figures['referee']['ap50']:.3f}{ball_set}", flush=True)
            if score > best:
                best = score
                torch.save({"ema": ema.ema.state_dict(), "step": step, "figures": figures, "args": vars(args)}, out / "best.pt")
            model.train()
            net.freeze_bn(model)
        if step % 250 == 0:
            save("last.pt")
        if args.stop_after_min and time.time() - started > args.stop_after_min * 60:
            save("last.pt")
            print(f"stopped at step {step} after {args.stop_after_min} min: run again to resume", flush=True)
            break
    if step >= args.steps:
        save("last.pt")
    (out / "history.json").write_text(json.dumps(history, indent=1))


if __name__ == "__main__":
    main()
