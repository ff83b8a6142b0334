#!/usr/bin/env python3
"""The ball finder alone on the GPU machine (ONNX Runtime's CUDA provider, from the carried wheel
in /tmp/og): milliseconds per call and per frame at 1, 3, 4 and 8 frames of 1920x1088, input
already on the GPU (IOBinding, as the daemon hands it over), and the same for the detector at
batch 8. Run after the bundle is unpacked (docs/gpu.md):

  PYTHONPATH=/tmp/og /opt/torch/.venv/bin/python scripts/gpu/finder-batch-probe.py
"""
import sys
import time

import numpy as np
import onnxruntime as ort


def probe(path, shape, runs=30):
    s = ort.InferenceSession(path, providers=[("CUDAExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})])
    x = ort.OrtValue.ortvalue_from_numpy(np.random.rand(*shape).astype(np.float32) * 255, "cuda", 0)
    b = s.io_binding()
    b.bind_ortvalue_input(s.get_inputs()[0].name, x)
    b.bind_output(s.get_outputs()[0].name, "cpu")
    for _ in range(5):
        s.run_with_iobinding(b)
    t = time.perf_counter()
    for _ in range(runs):
        s.run_with_iobinding(b)
    ms = (time.perf_counter() - t) / runs * 1e3
    print(f"{path.split('/')[-1]} {shape}: {ms:.2f} ms a call, {ms / shape[0]:.2f} ms a frame", flush=True)


print(ort.__version__, ort.get_available_providers())
for n in (1, 3, 4, 8):
    probe("models/ball_finder.onnx", (n, 3, 1088, 1920))
for n in (1, 8):
    probe("models/football_nano_1280x736.onnx", (n, 3, 736, 1280))
sys.exit(0)
