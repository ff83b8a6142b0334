"""Fit the role model's frame context (`[kit_context]` in models/roles_32x64.toml).

A player wears the kit of several team-mates in the frame; a goalkeeper or referee wears one unlike
everyone else's. For every labelled person of the train split: the kit's colour (per-channel
median of a 5x5 grid over the torso: the middle half of the box's width, 20-50 % of its height,
as src/infer/roles/kit_context.rs reads it) and the RGB distances d1, d2 to the two nearest other
people's kits in the frame (at most 200). A balanced logistic regression of goalkeepers and
referees against players on ln(1 + d1), ln(1 + d2) gives the log likelihood ratio the daemon
adds to the role model's view. Prints the weights and the area under the ROC curve on both splits.

    python3 tools/train/prepare_data.py --out /tmp/fb1080 --width 1920 --height 1080
    python3 tools/train/kit_context_fit.py --data /tmp/fb1080
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

GRID = 5
FAR = 200.0
PLAYER = 2  # label ids: 0 ball, 1 goalkeeper, 2 player, 3 referee


def kit_distances(split: Path) -> np.ndarray:
    """Rows (label, d1, d2), one per labelled person."""
    out = []
    for img_path in sorted((split / "images").glob("*.jpg")):
        im = cv2.cvtColor(cv2.imread(str(img_path)), cv2.COLOR_BGR2RGB).astype(np.float32)
        h_img, w_img, _ = im.shape
        people = []
        for line in (split / "labels" / (img_path.stem + ".txt")).read_text().splitlines():
            c, cx, cy, w, h = line.split()
            if int(c) == 0:
                continue
            cx, cy, w, h = float(cx) * w_img, float(cy) * h_img, float(w) * w_img, float(h) * h_img
            x1, y1 = cx - w / 2, cy - h / 2
            samples = []
            for j in range(GRID):
                for i in range(GRID):
                    x = x1 + w * (0.25 + 0.5 * (i + 0.5) / GRID)
                    y = y1 + h * (0.2 + 0.3 * (j + 0.5) / GRID)
                    if 0 <= x < w_img and 0 <= y < h_img:
                        samples.append(im[int(y), int(x)])
            if samples:
                people.append((int(c), np.median(np.array(samples), axis=0)))
        kits = np.array([k for _, k in people])
        for i, (c, kit) in enumerate(people):
            d = np.linalg.norm(kits - kit, axis=1)
            d[i] = np.inf
            d = np.sort(np.minimum(d, FAR))
            out.append((c, d[0] if len(d) > 1 else FAR, d[1] if len(d) > 2 else FAR))
    return np.array(out)


def fit(rows: np.ndarray) -> tuple[np.ndarray, float]:
    x = torch.tensor(np.log1p(rows[:, 1:3]), dtype=torch.float32)
    y = torch.tensor((rows[:, 0] != PLAYER).astype(np.float32))
    pos_weight = (y == 0).sum() / (y == 1).sum()
    w = torch.zeros(2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y, pos_weight=pos_weight)
        loss = loss + 1e-3 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), float(b.detach())


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    order = np.argsort(-scores)
    p = positive[order]
    tp, fp = np.cumsum(p), np.cumsum(~p)
    return float(np.trapezoid(tp / tp[-1], fp / fp[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/tmp/fb1080", help="prepare_data.py's output (train/ and valid/)")
    args = ap.parse_args()
    train = kit_distances(Path(args.data) / "train")
    w, b = fit(train)
    print(f"[kit_context]\nweights = [{w[0]:.4f}, {w[1]:.4f}]\nbias = {b:.4f}")
    for name in ("train", "valid"):
        rows = train if name == "train" else kit_distances(Path(args.data) / "valid")
        z = np.log1p(rows[:, 1:3]) @ w + b
        for role, label in (("goalkeeper", 1), ("referee", 3)):
            keep = (rows[:, 0] == label) | (rows[:, 0] == PLAYER)
            print(f"{name}: {role} against player, AUC {auc(z[keep], rows[keep, 0] == label):.3f}")


if __name__ == "__main__":
    main()
