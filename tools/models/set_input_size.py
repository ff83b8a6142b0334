#!/usr/bin/env python3
"""Writes a copy of a fully convolutional YOLOX ONNX with another fixed input size.

YOLOX's graph reads every grid size from the tensor's shape, so only the declared input
dimensions change; the weights and every node stay as they are. The copy is checked with ONNX
Runtime: its output must have one row per anchor of the new size (strides 8, 16, 32).

  python3 tools/models/set_input_size.py SRC.onnx DST.onnx WIDTH HEIGHT
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> None:
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    src, dst, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if width % 32 or height % 32:
        raise SystemExit("width and height must be multiples of 32 (the largest stride)")
    model = onnx.load(src)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = height, width
    onnx.save(model, dst)
    sess = ort.InferenceSession(dst, providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: np.full((2, 3, height, width), 114.0, np.float32)})[0]
    anchors = sum((height // s) * (width // s) for s in (8, 16, 32))
    if out.shape[:2] != (2, anchors):
        raise SystemExit(f"output {out.shape}, expected (2, {anchors}, ...)")
    print(f"{dst}: input {width}x{height}, output {list(out.shape)}")


if __name__ == "__main__":
    main()
