#!/usr/bin/env python3
"""Precision, recall and AP50 of detections against YOLO-format labels.

Reads the JSON lines `footrackd detect` writes (`{"image", "width", "height", "detections":
[{"bbox", "score", "class"}]}`) and the label folder of the same frames. Groups: people
(goalkeeper, player and referee merged: a person found with the wrong role still counts), each
role on its own, and the ball. Matching is greedy by score at IoU >= 0.5 (the ball: --ball-iou,
0.5 by default; the ball issue's figures use 0.3, since a 12 px ball moves its IoU by a pixel).
Precision and recall are given at the detections as written (the daemon's own score threshold)
and AP over all of them. Each role on its own is ranked by the detection's `class_score` when it
has one (a person's score times the role model's probability of the role), people by `score`. `ball_top1` keeps one ball per frame, the best-scoring one, as the
daemon publishes at most one.

  python3 tools/train/evaluate.py --labels DIR/labels dets.jsonl [--ball-iou 0.3] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

LABEL_CLASSES = ["ball", "goalkeeper", "player", "referee"]
ROLES = ("goalkeeper", "player", "referee")
GROUPS = {
    "people": set(ROLES),
    "player": {"player"},
    "goalkeeper": {"goalkeeper"},
    "referee": {"referee"},
    "ball": {"ball"},
}
# What a detector's class counts as. COCO models name people "player" in footrackd's output.
# Score thresholds at which precision and recall are also given.
THRESHOLDS = (0.25, 0.3, 0.4, 0.5)
ALIASES = {"person": "player", "sports ball": "ball", "football": "ball"}


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of boxes a [N,4] and b [M,4], corners."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def match(frames, group: set[str], thr: float = 0.5):
    """Scores and true/false flags of every detection in `group`, and the number of labels."""
    scores, hits, n_gt = [], [], 0
    for dets, gts in frames:
        gt = np.array([g[1:] for g in gts if g[0] in group], np.float32).reshape(-1, 4)
        dt = sorted((d for d in dets if d[0] in group), key=lambda d: -d[1])
        n_gt += len(gt)
        used = np.zeros(len(gt), bool)
        ious = iou(np.array([d[2:] for d in dt], np.float32).reshape(-1, 4), gt) if len(gt) else None
        for k, d in enumerate(dt):
            hit = False
            if ious is not None:
                cand = np.where(~used, ious[k], -1.0)
                j = int(cand.argmax())
                if cand[j] >= thr:
                    used[j] = hit = True
            scores.append(d[1])
            hits.append(hit)
    return np.array(scores), np.array(hits, bool), n_gt


def summarise(scores, hits, n_gt) -> dict:
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = tp / max(n_gt, 1)
    precision = tp / np.maximum(tp + fp, 1)
    # All-point interpolated AP (VOC 2010+ / COCO style at one IoU).
    mrec = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    ap = float(np.sum((mrec[1:] - mrec[:-1]) * mpre[1:]))
    total_tp = int(hits.sum())
    # Operating points of the targets: the best precision while recall >= 0.95, the best recall
    # while precision >= 0.7 (over every score threshold).
    ok_r = recall >= 0.95
    operating = {"precision_at_recall_0.95": float(precision[ok_r].max()) if ok_r.any() else None}
    for p in (0.7, 0.8):
        ok_p = precision >= p
        operating[f"recall_at_precision_{p}"] = float(recall[ok_p].max()) if ok_p.any() else 0.0
    at = {}
    for t in THRESHOLDS:
        keep = scores >= t
        tp_t = int(hits[keep].sum())
        at[f"{t:.2f}"] = {"precision": tp_t / max(int(keep.sum()), 1), "recall": tp_t / max(n_gt, 1)}
    return {
        "at_threshold": at,
        **operating,
        "labels": int(n_gt),
        "detections": int(len(hits)),
        "precision": total_tp / max(len(hits), 1),
        "recall": total_tp / max(n_gt, 1),
        "ap50": ap,
    }


def top_ball(dets):
    """The frame's best-scoring ball alone (the daemon publishes at most one) and everything else."""
    balls = [d for d in dets if d[0] == "ball"]
    rest = [d for d in dets if d[0] != "ball"]
    return rest + sorted(balls, key=lambda d: -d[1])[:1]


def evaluate(frames, ball_iou: float = 0.5, role_frames=None) -> dict:
    """`frames`: [(dets, gts)], dets `(class, score, x1, y1, x2, y2)`, gts `(class, x1, y1, x2, y2)`;
    `role_frames` the same with each detection's class score, for the roles one by one."""
    out = {}
    for name, group in GROUPS.items():
        source = role_frames if role_frames is not None and name in ROLES else frames
        out[name] = summarise(*match(source, group, ball_iou if name == "ball" else 0.5))
    out["ball_top1"] = summarise(*match([(top_ball(d), g) for d, g in frames], GROUPS["ball"], ball_iou))
    return out


def read_labels(path: Path, width: int, height: int):
    rows = np.loadtxt(path, ndmin=2).reshape(-1, 5) if path.exists() else np.zeros((0, 5))
    out = []
    for c, cx, cy, w, h in rows:
        out.append((LABEL_CLASSES[int(c)], (cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height))
    return out


def load_jsonl(path: str, labels: Path):
    """The frames with detection scores, and with class scores (`class_score`, else `score`)."""
    frames, role_frames = [], []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            gts = read_labels(labels / (Path(rec["image"]).stem + ".txt"), rec["width"], rec["height"])
            for out, key in ((frames, "score"), (role_frames, "class_score")):
                dets = [(ALIASES.get(d["class"], d["class"]), d.get(key, d["score"]), *d["bbox"]) for d in rec["detections"]]
                out.append((dets, gts))
    return frames, role_frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", required=True, help="folder of YOLO label files named like the images")
    ap.add_argument("--json", help="write the figures here too")
    ap.add_argument("--ball-iou", type=float, default=0.5, help="IoU at which a ball counts as found")
    ap.add_argument("detections", help="JSON lines from footrackd detect")
    args = ap.parse_args()
    frames, role_frames = load_jsonl(args.detections, Path(args.labels))
    result = evaluate(frames, args.ball_iou, role_frames)
    print(f"{len(frames)} frames; ball at IoU {args.ball_iou}")
    print(f"{'group':<11} {'labels':>6} {'dets':>6} {'precision':>9} {'recall':>7} {'AP':>6} {'P@R>=.95':>8} {'R@P>=.7':>7} {'R@P>=.8':>7}")
    for name, r in result.items():
        p95 = r["precision_at_recall_0.95"]
        print(f"{name:<11} {r['labels']:>6} {r['detections']:>6} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['ap50']:>6.3f} "
              f"{'-' if p95 is None else f'{p95:.3f}':>8} {r['recall_at_precision_0.7']:>7.3f} {r['recall_at_precision_0.8']:>7.3f}")
    print("precision / recall at score thresholds " + ", ".join(f"{t:.2f}" for t in THRESHOLDS))
    for name, r in result.items():
        print(f"{name:<11} " + "  ".join(f"{v['precision']:.3f}/{v['recall']:.3f}" for v in r["at_threshold"].values()))
    if args.json:
        Path(args.json).write_text(json.dumps({"frames": len(frames), "ball_iou": args.ball_iou, **result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
