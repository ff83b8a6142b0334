#!/usr/bin/env python3
"""Gives an ONNX detector a dynamic batch dimension, so that footrackd runs all tiles of a frame
in one model call.

YOLOX's exported graph already reads the batch from the tensor's shape in its reshapes, so only
the first dimension of the input and of every output is renamed to a symbol. The script then
runs the model at batch 1 and at batch N (onnxruntime, CPU) and refuses to write the result
unless every image of the batch gives exactly the output of its own batch-1 run.

  python3 tools/models/dynamic_batch.py models/yolox_nano.onnx models/yolox_nano.onnx [--symbol N]

Needs: onnx, onnxruntime, numpy (tools/models/requirements.txt).
"""
import argparse
import hashlib
import sys

import numpy as np
import onnx
import onnxruntime as ort


def make_dynamic(model: onnx.ModelProto, symbol: str) -> onnx.ModelProto:
    graph_inputs = {i.name for i in model.graph.initializer}
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name in graph_inputs:
            continue
        dims = value.type.tensor_type.shape.dim
        if not dims:
            sys.exit(f"{value.name} has no shape: cannot make its batch dynamic")
        dims[0].Clear()
        dims[0].dim_param = symbol
    onnx.checker.check_model(model)
    return model


def check_equal_to_batch_one(path_or_bytes, batch: int) -> float:
    sess = ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    _, c, h, w = inp.shape
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 255, size=(batch, c, h, w)).astype(np.float32)
    together = sess.run(None, {inp.name: x})[0]
    worst = 0.0
    for i in range(batch):
        alone = sess.run(None, {inp.name: x[i : i + 1]})[0]
        worst = max(worst, float(np.abs(alone[0] - together[i]).max()))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--symbol", default="N")
    ap.add_argument("--check-batch", type=int, default=5)
    a = ap.parse_args()
    model = make_dynamic(onnx.load(a.src), a.symbol)
    data = model.SerializeToString()
    worst = check_equal_to_batch_one(data, a.check_batch)
    # Batched convolutions may sum in another order: allow float rounding, nothing more.
    if worst > 1e-3:
        sys.exit(f"batch {a.check_batch} differs from batch-1 runs by {worst}: not written")
    with open(a.dst, "wb") as f:
        f.write(data)
    print(f"{a.dst}: batch dimension '{a.symbol}', batch {a.check_batch} equals batch-1 runs within {worst:.2e}; sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
