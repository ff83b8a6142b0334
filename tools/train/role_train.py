#!/usr/bin/env python3
"""Train the role classifier: player, goalkeeper or referee from a person's crop.

The football detector finds people well (AP 0.97) but tells their roles apart poorly: its
goalkeeper and referee classes have few examples and little context at 1280x736. A second look at
each person's crop at full resolution, by a small network that sees only kit colours and shapes,
decides the role. Crops are cut from the labelled boxes of the train split (1920x1080 frames, the
stretch undone by prepare_data.py), jittered as a detector's boxes are, letterboxed top-left into
32x64 with padding 114 exactly as footrackd's pre-processor does (`src/infer/pre.rs`), RGB 0-255.
Goalkeepers and referees are drawn as often as players (balanced sampling). The valid split
chooses the epoch; the model is exported to ONNX with a dynamic batch.

  python3 tools/train/role_train.py --data /tmp/fb1080 --out models/roles_32x64.onnx [--seed 7]
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

# Label classes of the players set (data.yaml) -> role index of the classifier.
ROLE_OF_LABEL = {2: 0, 1: 1, 3: 2}
ROLES = ("player", "goalkeeper", "referee")
IN_W, IN_H, PAD = 32, 64, 114
# The region cut around a box: its size grown by this fraction (half each side), as the daemon does.
MARGIN = 0.1


def load_split(root: Path):
    """[(image RGB, [(role, x1, y1, x2, y2)])] of one split."""
    out = []
    for img_path in sorted((root / "images").glob("*.jpg")):
        img = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        boxes = []
        label = root / "labels" / (img_path.stem + ".txt")
        for line in label.read_text().splitlines():
            p = line.split()
            cls = int(p[0])
            if cls not in ROLE_OF_LABEL:
                continue
            cx, cy, bw, bh = (float(v) for v in p[1:5])
            boxes.append((ROLE_OF_LABEL[cls], (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h))
        out.append((img, boxes))
    return out


def crop(img: np.ndarray, box, margin: float = MARGIN) -> np.ndarray:
    """The box grown by `margin`, letterboxed top-left into IN_W x IN_H (as src/infer/pre.rs)."""
    h, w = img.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    rx1, ry1 = int(max(0, np.floor(x1 - bw * margin / 2))), int(max(0, np.floor(y1 - bh * margin / 2)))
    rx2, ry2 = int(min(w, np.ceil(x2 + bw * margin / 2))), int(min(h, np.ceil(y2 + bh * margin / 2)))
    rx2, ry2 = max(rx2, rx1 + 1), max(ry2, ry1 + 1)
    region = img[ry1:ry2, rx1:rx2]
    scale = min(IN_W / region.shape[1], IN_H / region.shape[0])
    cw, ch = max(1, min(IN_W, round(region.shape[1] * scale))), max(1, min(IN_H, round(region.shape[0] * scale)))
    out = np.full((IN_H, IN_W, 3), PAD, np.uint8)
    out[:ch, :cw] = cv2.resize(region, (cw, ch), interpolation=cv2.INTER_LINEAR)
    return out


def jitter(box, rng: random.Random):
    """A box as a detector might give it: shifted and scaled a little."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2 + rng.uniform(-0.1, 0.1) * bw
    cy = (y1 + y2) / 2 + rng.uniform(-0.08, 0.08) * bh
    bw *= rng.uniform(0.85, 1.2)
    bh *= rng.uniform(0.88, 1.15)
    return cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2


def colour(x: np.ndarray, rng: random.Random) -> np.ndarray:
    """Light, contrast, a little saturation and hue (kits keep their colour), blur, flip."""
    hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + rng.randint(-3, 3)) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.8, 1.2), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * rng.uniform(0.75, 1.25), 0, 255)
    x = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (3, 3), rng.uniform(0.3, 1.0))
    if rng.random() < 0.5:
        # Flip the content, not the padding: the letterbox stays top-left.
        nz = np.where((x != PAD).any(axis=2).any(axis=0))[0]
        cw = nz.max() + 1 if len(nz) else IN_W
        x = x.copy()
        x[:, :cw] = x[:, :cw][:, ::-1]
    return x


class RoleNet(nn.Module):
    """Four 3x3 convolutions (16-32-64-64), pooled, one linear layer: 6.7 MMAC per crop."""

    def __init__(self) -> None:
        super().__init__()

        def block(i: int, o: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

        self.features = nn.Sequential(
            block(3, 16), nn.MaxPool2d(2), block(16, 32), nn.MaxPool2d(2), block(32, 64), nn.MaxPool2d(2), block(64, 64)
        )
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, len(ROLES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Input: RGB 0-255, NCHW; scaled here so the daemon feeds raw pixels.
        x = self.features(x / 255.0)
        return self.head(x.mean(dim=(2, 3)))


class Exported(nn.Module):
    """The network with softmax: the ONNX output is probabilities [N, 3]."""

    def __init__(self, net: RoleNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)


def batch_of(samples, rng: random.Random, n: int):
    by_role = [[s for s in samples if s[2] == r] for r in range(len(ROLES))]
    xs, ys = [], []
    for _ in range(n):
        role = rng.randrange(len(ROLES))
        img, box, _ = rng.choice(by_role[role])
        xs.append(colour(crop(img, jitter(box, rng)), rng))
        ys.append(role)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float()
    return x, torch.tensor(ys)


def evaluate(net: RoleNet, frames) -> tuple[np.ndarray, float]:
    """Confusion matrix [true, predicted] on the labelled boxes, and the mean per-role recall."""
    net.eval()
    xs, ys = [], []
    for img, boxes in frames:
        for role, *box in boxes:
            xs.append(crop(img, box))
            ys.append(role)
    with torch.no_grad():
        p = net(torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float()).argmax(1).numpy()
    conf = np.zeros((len(ROLES), len(ROLES)), int)
    for t, q in zip(ys, p):
        conf[t, q] += 1
    net.train()
    return conf, float(np.mean(np.diag(conf) / conf.sum(1).clip(1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="/tmp/fb1080", help="prepare_data.py output at 1920x1080")
    ap.add_argument("--out", default="models/roles_32x64.onnx")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=128)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    train = load_split(Path(args.data) / "train")
    valid = load_split(Path(args.data) / "valid")
    samples = [(img, tuple(b[1:]), b[0]) for img, boxes in train for b in boxes]
    print("train crops per role:", [sum(1 for s in samples if s[2] == r) for r in range(len(ROLES))])
    net = RoleNet()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.steps, pct_start=0.1)
    best, best_state = -1.0, None
    for step in range(1, args.steps + 1):
        x, y = batch_of(samples, rng, args.batch)
        loss = nn.functional.cross_entropy(net(x), y, label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == args.steps:
            conf, score = evaluate(net, valid)
            print(f"step {step} loss {loss.item():.3f} valid mean recall {score:.3f}\n{conf}", flush=True)
            if score >= best:
                best, best_state = score, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    net.eval()
    conf, score = evaluate(net, valid)
    print(f"chosen: valid mean recall {score:.3f}\n{conf}")
    torch.onnx.export(
        Exported(net),
        torch.zeros(1, 3, IN_H, IN_W),
        args.out,
        input_names=["images"],
        output_names=["roles"],
        dynamic_axes={"images": {0: "N"}, "roles": {0: "N"}},
        opset_version=17,
        dynamo=False,
    )
    print("wrote", args.out)


if __name__ == "__main__":
    main()
