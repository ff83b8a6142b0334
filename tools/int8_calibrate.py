#!/usr/bin/env python3
"""Writes a TensorRT INT8 calibration cache for a footrackd model from the user's own frames
(JPEG/PNG, ideally a few hundred from the camera the engine will serve), letterboxed exactly as
footrackd feeds the model (manifest: size, colour order, scale/mean/std, padding).
Used by models/build-engines.sh on the target; needs TensorRT's Python bindings, numpy, OpenCV."""
import argparse
import glob
import tomllib

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


class Calibrator(trt.IInt8EntropyCalibrator2):
    def __init__(self, files, manifest, cache):
        super().__init__()
        import cuda.bindings.runtime as cudart  # cuda-python
        self.cudart, self.files, self.m, self.cache, self.i = cudart, files, manifest, cache, 0
        n = 3 * manifest["input_width"] * manifest["input_height"] * 4
        self.dev = cudart.cudaMalloc(n)[1]

    def get_batch_size(self):
        return 1

    def get_batch(self, names):
        if self.i >= len(self.files):
            return None
        x = letterbox(cv2.imread(self.files[self.i]), self.m)
        self.i += 1
        self.cudart.cudaMemcpy(self.dev, x.ctypes.data, x.nbytes, self.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice)
        return [int(self.dev)]

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
    m = tomllib.load(open(a.manifest, "rb"))
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
