#!/usr/bin/env python3
"""The ball frames for training: Roboflow's ball set with its people labelled by a teacher.

The ball set ("football-ball-detection", CC BY 4.0) labels one ball per frame and nothing else; its
players, goalkeepers and referees are unlabelled, and a detector trained on them as they are would
learn that people are background. Each frame's people come from a teacher (`footrackd detect` with
the previous football model on the de-stretched 1920x1080 frames) as class 4, "a person whose role
is unknown": training (`train.py`) takes their boxes and objectness and that they are not the ball,
and never their role, which is learnt from the players set's hand labels alone.

Frames are copied as Roboflow stored them, 640x640 (their horizontal detail is a third of 1080p;
the loader undoes the stretch).

  python3 tools/train/prepare_ball.py --teacher dets.jsonl --split train --out DIR [--min-score 0.3]
"""
import argparse
import json
import shutil
from pathlib import Path

import cv2

UNKNOWN_ROLE = 4
PEOPLE = {"player", "goalkeeper", "referee"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/roboflow-football-ball-detection")
    ap.add_argument("--teacher", required=True, help="footrackd detect JSON lines on the split's frames")
    ap.add_argument("--split", default="train")
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-score", type=float, default=0.3)
    args = ap.parse_args()
    people = {}
    with open(args.teacher) as f:
        for line in f:
            rec = json.loads(line)
            w, h = rec["width"], rec["height"]
            rows = []
            for d in rec["detections"]:
                if d["class"] in PEOPLE and d["score"] >= args.min_score:
                    x1, y1, x2, y2 = d["bbox"]
                    rows.append(f"{UNKNOWN_ROLE} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")
            people[Path(rec["image"]).stem] = rows
    src = Path(args.data) / args.split
    dst = Path(args.out) / args.split
    (dst / "images").mkdir(parents=True, exist_ok=True)
    (dst / "labels").mkdir(parents=True, exist_ok=True)
    images = sorted((src / "images").glob("*.jpg"))
    missing = [p.name for p in images if p.stem not in people]
    if missing:
        raise SystemExit(f"{len(missing)} frames have no teacher line, e.g. {missing[0]}")
    count = 0
    for path in images:
        if cv2.imread(str(path)) is None:
            raise SystemExit(f"cannot read {path}")
        shutil.copy(path, dst / "images" / path.name)
        ball = (src / "labels" / (path.stem + ".txt")).read_text().strip().splitlines()
        (dst / "labels" / (path.stem + ".txt")).write_text("\n".join(ball + people[path.stem]) + "\n")
        count += len(people[path.stem])
    shutil.copy(Path(args.data) / "README.dataset.txt", dst.parent / "README.dataset.txt")
    print(f"{args.split}: {len(images)} frames, {count} teacher people (class {UNKNOWN_ROLE}) -> {dst}")


if __name__ == "__main__":
    main()
