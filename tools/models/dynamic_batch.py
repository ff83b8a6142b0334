#!/usr/bin/env python3
"""Gives an ONNX detector a dynamic batch dimension, so that footrackd runs all tiles of a frame
in one model call, and (optionally) keeps only the output columns footrackd reads.

YOLOX's exported graph already reads the batch from the tensor's shape in its reshapes, so only
the first dimension of the input and of every output is renamed to a symbol. The script then
runs the model at batch 1 and at batch N (onnxruntime, CPU) and refuses to write the result
unless every image of the batch gives exactly the output of its own batch-1 run.

  python3 tools/models/dynamic_batch.py SRC.onnx DST.onnx [--symbol N] [--keep-columns 0,1,2,3,4,5,37]

--keep-columns appends a Gather on the last output axis: for COCO YOLOX-Nano, whose rows are
(box 4, objectness, 80 classes), keeping the box, objectness, person (5) and sports ball (37)
shrinks the output from 85 to 7 values per row; the kept values are bit-identical. On a GPU that
is 12x less to copy back per image.

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


def keep_columns(model: onnx.ModelProto, columns) -> onnx.ModelProto:
    out = model.graph.output[0]
    inner = out.name + "_all_columns"
    for node in model.graph.node:
        node.output[:] = [inner if o == out.name else o for o in node.output]
    idx = onnx.helper.make_tensor(out.name + "_columns", onnx.TensorProto.INT64, [len(columns)], list(columns))
    model.graph.initializer.append(idx)
    model.graph.node.append(onnx.helper.make_node("Gather", [inner, idx.name], [out.name], axis=2, name="footrackd_keep_columns"))
    out.type.tensor_type.shape.dim[2].dim_value = len(columns)
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
    ap.add_argument("--keep-columns", default="", help="comma-separated output columns to keep (last axis)")
    a = ap.parse_args()
    model = make_dynamic(onnx.load(a.src), a.symbol)
    if a.keep_columns:
        model = keep_columns(model, [int(c) for c in a.keep_columns.split(",")])
    data = model.SerializeToString()
    worst = check_equal_to_batch_one(data, a.check_batch)
    # Batched convolutions may sum in another order: allow float rounding, nothing more.
    if worst > 1e-3:
        sys.exit(f"batch {a.check_batch} differs from batch-1 runs by {worst}: not written")
    with open(a.dst, "wb") as f:
        f.write(data)
    if a.keep_columns:
        full = ort.InferenceSession(a.src, providers=["CPUExecutionProvider"])
        kept = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        x = np.random.default_rng(3).uniform(0, 255, size=(1, 3, 416, 416)).astype(np.float32)
        cols = [int(c) for c in a.keep_columns.split(",")]
        d = float(np.abs(full.run(None, {full.get_inputs()[0].name: x})[0][..., cols] - kept.run(None, {kept.get_inputs()[0].name: x})[0]).max())
        if d > 1e-3:
            sys.exit(f"kept columns differ from the full model's by {d}: not written")
    print(f"{a.dst}: batch dimension '{a.symbol}', batch {a.check_batch} equals batch-1 runs within {worst:.2e}; sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
