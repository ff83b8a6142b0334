#!/usr/bin/env python3
"""Writes a TensorRT INT8 calibration cache for a footrackd model from the user's own frames
(JPEG/PNG, ideally a few hundred from the camera the engine will serve), letterboxed exactly as
footrackd feeds the model (manifest: size, colour order, scale/mean/std, padding).
Used by models/build-engines.sh on the target; needs TensorRT's Python bindings, numpy, OpenCV.
Runs with JetPack 6's Python 3.10 and its own packages: no tomllib (Python 3.11) and no
cuda-python (the CUDA runtime is reached through ctypes)."""
import argparse
import ctypes
import ctypes.util
import glob
import json

import cv2
import numpy as np
import tensorrt as trt


def letterbox(img_bgr, m):
    w, h = m["input_width"], m["input_height"]
    s = min(w / img_bgr.shape[1], h / img_bgr.shape[0])
    nw, nh = round(img_bgr.shape[1] * s), round(img_bgr.shape[0] * s)
    out = np.full((h, w, 3), m["pad_value"], np.float32)
    out[:nh, :nw] = cv2.resize(img_bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    if m["color_order"] == "rgb":
        out = out[:, :, ::-1]
    out = (out * m["scale"] - np.array(m["mean"], np.float32)) / np.array(m["std"], np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1))[None]


def read_manifest(path):
    """The manifest's top-level keys (numbers, strings, one-line arrays). tomllib where it exists;
    a small reader otherwise (Python 3.10), which stops at the first table."""
    try:
        import tomllib

        with open(path, "rb") as f:
            return tomllib.load(f)
    except ImportError:
        pass
    m, depth = {}, 0
    for raw in open(path):
        line = raw.split("#", 1)[0].strip()
        if depth:
            depth += line.count("[") - line.count("]")
            continue
        if not line:
            continue
        if line.startswith("["):
            break
        key, _, value = (t.strip() for t in line.partition("="))
        if value.startswith("[") and value.count("[") > value.count("]"):
            depth = value.count("[") - value.count("]")
            continue
        m[key] = json.loads(value)
    return m


class CudaRuntime:
    """cudaMalloc and cudaMemcpy from libcudart through ctypes (JetPack ships the library)."""

    def __init__(self):
        name = ctypes.util.find_library("cudart") or "libcudart.so"
        self.lib = ctypes.CDLL(name)

    def malloc(self, n):
        ptr = ctypes.c_void_p()
        if self.lib.cudaMalloc(ctypes.byref(ptr), ctypes.c_size_t(n)) != 0:
            raise SystemExit("cudaMalloc failed")
        return ptr

    def upload(self, dev, array):
        host_to_device = 1
        if self.lib.cudaMemcpy(dev, ctypes.c_void_p(array.ctypes.data), ctypes.c_size_t(array.nbytes), host_to_device) != 0:
            raise SystemExit("cudaMemcpy failed")


class Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, files, manifest, cache):
        super().__init__()
        self.cuda, self.files, self.m, self.cache, self.i = CudaRuntime(), files, manifest, cache, 0
        n = 3 * manifest["input_width"] * manifest["input_height"] * 4
        self.dev = self.cuda.malloc(n)

    def get_batch_size(self):
        return 1

    def get_batch(self, names):
        if self.i >= len(self.files):
            return None
        x = letterbox(cv2.imread(self.files[self.i]), self.m)
        self.i += 1
        self.cuda.upload(self.dev, x)
        return [int(self.dev.value)]

    def read_calibration_cache(self):
        return None

    def write_calibration_cache(self, cache):
        open(self.cache, "wb").write(cache)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--frames", required=True)
    ap.add_argument("--cache", required=True)
    a = ap.parse_args()
    m = read_manifest(a.manifest)
    files = sorted(glob.glob(f"{a.frames}/*.jpg") + glob.glob(f"{a.frames}/*.png"))[:500]
    if not files:
        raise SystemExit(f"no .jpg/.png frames in {a.frames}")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    parser = trt.OnnxParser(net, logger)
    if not parser.parse(open(a.onnx, "rb").read()):
        raise SystemExit("cannot parse " + a.onnx)
    cfg = builder.create_builder_config()
    cfg.set_flag(trt.BuilderFlag.INT8)
    cfg.int8_calibrator = Calibrator(files, m, a.cache)
    if builder.build_serialized_network(net, cfg) is None:
        raise SystemExit("calibration build failed")
    print(f"wrote {a.cache} from {len(files)} frames")


if __name__ == "__main__":
    main()
