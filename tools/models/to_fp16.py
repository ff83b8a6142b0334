#!/usr/bin/env python3
"""Writes an FP16 copy of an ONNX detector whose inputs and outputs stay FP32.

The weights and activations become half precision (onnxconverter-common's converter,
`keep_io_types=True`: a Cast at the input and at the output), so the daemon's letterbox and
output decoding are unchanged. The copy is checked against the original with ONNX Runtime on the
CPU (which runs half-precision nodes it lacks kernels for in FP32 after casts, so this checks the
rounding of the weights, not the GPU's half-precision arithmetic: `footrackd detect` on the GPU
checks that).

  python3 tools/models/to_fp16.py SRC.onnx DST.onnx
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnxconverter_common import float16


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    model = onnx.load(src)
    half = float16.convert_float_to_float16(model, keep_io_types=True)
    onnx.save(half, dst)
    dims = [d.dim_value or 1 for d in model.graph.input[0].type.tensor_type.shape.dim]
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 255, size=dims).astype(np.float32)
    outs = []
    for path in (src, dst):
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        outs.append(sess.run(None, {sess.get_inputs()[0].name: x})[0])
    diff = np.abs(outs[0] - outs[1])
    # YOLOX rows: box (4), objectness, class scores: the scores decide what is found.
    score_diff = diff[..., 4:].max()
    print(f"{dst}: output {outs[1].dtype} {outs[1].shape}; max |diff| boxes {diff[..., :4].max():.3f} px, scores {score_diff:.4f}")
    if outs[1].dtype != np.float32 or score_diff > 0.05:
        raise SystemExit("the FP16 copy differs too much from the original")


if __name__ == "__main__":
    main()
