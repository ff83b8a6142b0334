#!/usr/bin/env python3
"""Undo Roboflow's 1280x1280 stretch of the football frames.

The Roboflow "football-players-detection" frames are 1920x1080 broadcast frames stretched to
1280x1280. YOLO labels are normalised, so they stay valid; only the pixels are resized back to
16:9. Writes `<out>/<split>/images/*.jpg` (at --width x --height) and copies the labels.
Training uses 1280x720 (the frames' true horizontal detail); evaluation uses 1920x1080, the
size a broadcast camera delivers.
"""
import argparse
import shutil
from pathlib import Path

import cv2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data/roboflow-football-players-detection")
    ap.add_argument("--out", required=True)
    ap.add_argument("--splits", default="train,valid")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--quality", type=int, default=92)
    args = ap.parse_args()
    for split in args.splits.split(","):
        src = Path(args.data) / split
        dst = Path(args.out) / split
        (dst / "images").mkdir(parents=True, exist_ok=True)
        (dst / "labels").mkdir(parents=True, exist_ok=True)
        images = sorted((src / "images").glob("*.jpg"))
        if not images:
            raise SystemExit(f"no images under {src / 'images'}")
        for path in images:
            img = cv2.imread(str(path))
            if img is None:
                raise SystemExit(f"cannot read {path}")
            img = cv2.resize(img, (args.width, args.height), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(dst / "images" / path.name), img, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
            label = src / "labels" / (path.stem + ".txt")
            shutil.copy(label, dst / "labels" / label.name)
        print(f"{split}: {len(images)} frames -> {dst} at {args.width}x{args.height}")


if __name__ == "__main__":
    main()
