#!/usr/bin/env python3
"""Exports the trained football detector to ONNX (dynamic batch) at one or more input sizes.

  PYTHONPATH=.device/train-deps python3 tools/train/export.py OUT/best.pt --out DIR \
      [--sizes 416x416,960x544,1280x736]

Writes `DIR/football_nano_<W>x<H>.onnx`: input `images` [batch, 3, H, W] (BGR, 0..255, letterboxed
with 114), output `output` [batch, anchors, 9] raw YOLOX rows (box offsets, objectness and the four
class scores after sigmoid), the layout footrackd's "yolox" decoder reads. Each export is checked
against PyTorch with ONNX Runtime at batch 1 and 3. With --check-coco it first checks that the COCO
weights load exactly (PyTorch against the COCO ONNX on a real frame). With --time, times the
model on the GPU (PyTorch, fp32) at the batches the tilings use.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import net
from dataset import letterbox, load_split
from yolox.utils import fuse_model


def check_coco(coco_onnx: str, frame: np.ndarray) -> float:
    model = net.build(80)
    net.load_coco(model, coco_onnx)
    model.eval()
    model.head.decode_in_inference = False
    lb, _ = letterbox(frame, 416, 416)
    x = lb.transpose(2, 0, 1)[None].astype(np.float32)
    with torch.no_grad():
        ours = model(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(coco_onnx, providers=["CPUExecutionProvider"])
    theirs = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    cols = [0, 1, 2, 3, 4, 5, 37] if theirs.shape[-1] == 7 else list(range(85))
    diff = float(np.abs(ours[..., cols] - theirs).max())
    print(f"COCO weights: max |PyTorch - ONNX| = {diff:.2e} over {theirs.size} outputs")
    if diff > 1e-2:
        raise SystemExit("COCO weights did not load exactly")
    return diff


def export(model, path: Path, width: int, height: int, frame: np.ndarray) -> float:
    x = torch.zeros(1, 3, height, width)
    torch.onnx.export(model, (x,), str(path), input_names=["images"], output_names=["output"],
                      dynamic_axes={"images": {0: "batch"}, "output": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    lb, _ = letterbox(frame, width, height)
    one = lb.transpose(2, 0, 1)[None].astype(np.float32)
    batch = np.concatenate([one, one[..., ::-1].copy(), np.full_like(one, 114.0)])
    with torch.no_grad():
        want = model(torch.from_numpy(batch)).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got3 = sess.run(None, {"images": batch})[0]
    got1 = sess.run(None, {"images": one})[0]
    diff = float(max(np.abs(got3 - want).max(), np.abs(got1 - want[:1]).max()))
    print(f"{path.name}: output {list(got3.shape)}, max |ONNX - PyTorch| = {diff:.2e}")
    if diff > 1e-2:
        raise SystemExit(f"{path} does not match PyTorch")
    return diff


@torch.no_grad()
def time_gpu(model, shapes) -> dict:
    dev = torch.device("cuda")
    m = model.to(dev).eval()
    result = {}
    for name, (b, w, h) in shapes.items():
        x = torch.rand(b, 3, h, w, device=dev) * 255
        for _ in range(20):
            m(x)
        torch.cuda.synchronize()
        n, t0 = 200, time.perf_counter()
        for _ in range(n):
            m(x)
        torch.cuda.synchronize()
        ms = (time.perf_counter() - t0) / n * 1000
        result[name] = {"batch": b, "width": w, "height": h, "ms_per_call": ms, "frames_per_s": 1000 / ms}
        print(f"GPU {name}: batch {b} at {w}x{h}: {ms:.2f} ms per call, {1000 / ms:.0f} frames/s", flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="416x416,960x544,1280x736")
    ap.add_argument("--frames", default=None, help="a split folder (images/) for the checks")
    ap.add_argument("--coco-onnx", default="models/yolox_nano.onnx")
    ap.add_argument("--check-coco", action="store_true")
    ap.add_argument("--time", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame = load_split(args.frames)[0][0] if args.frames else np.full((720, 1280, 3), 90, np.uint8)
    report = {}
    if args.check_coco:
        report["coco_check_max_diff"] = check_coco(args.coco_onnx, frame)
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model = net.build(len(net.CLASSES))
    model.load_state_dict(net.drop_unknown_role(ck["ema"]))
    model.eval()
    model.head.decode_in_inference = False
    model = fuse_model(model)
    report["step"] = ck.get("step")
    report["valid_figures"] = ck.get("figures")
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        report[f"export_{w}x{h}_max_diff"] = export(model, out / f"football_nano_{w}x{h}.onnx", w, h, frame)
    if args.time and torch.cuda.is_available():
        report["gpu_ms"] = time_gpu(model, {
            "whole 416": (1, 416, 416), "2x2+whole 416": (5, 416, 416), "4x3 416": (12, 416, 416),
            "whole 960x544": (1, 960, 544), "whole 1280x736": (1, 1280, 736),
            "whole 1280x736 + 2 ball crops 1280x736": (3, 1280, 736), "ball crops 2x 320": (2, 320, 320),
            "whole 1600x928": (1, 1600, 928)})
    (out / "export.json").write_text(json.dumps(report, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
