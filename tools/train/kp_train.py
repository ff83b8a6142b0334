"""Trains the pitch keypoint model: the football detector's own YOLOX-Nano backbone and feature
pyramid (weights from models/football_nano_1280x736.onnx) with a small heatmap head at stride 4
(32 keypoints, CenterNet's focal loss on Gaussian targets). Trained on the train split, chosen on
the valid split by what calibration needs: the share of frames whose keypoints give a plausible
homography, and the error of the labelled keypoints mapped through it (metres on the pitch).
Exports ONNX (dynamic batch; input BGR 0..255 [N, 3, 384, 640], output sigmoid heatmaps
[N, 32, 96, 160]) and writes its validation figures.

    python kp_train.py --data DIR --detector football.onnx --out CKPT --steps 3000 [--stop-after-min 8]
    python kp_train.py --data DIR --export CKPT/best.pt --out MODELS
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

import kp_data as D
from kp_eval import measure
import net as yolox_net


class KeypointNet(nn.Module):
    def __init__(self, pafpn: nn.Module):
        super().__init__()
        self.pafpn = pafpn  # strides 8, 16, 32; 64, 128, 256 channels at width 0.25
        self.lat = nn.ModuleList([nn.Conv2d(c, 64, 1) for c in (64, 128, 256)])
        self.up = nn.Sequential(
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.SiLU(),
        )
        self.head = nn.Sequential(
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.SiLU(),
            nn.Conv2d(64, D.K, 1),
        )
        nn.init.constant_(self.head[-1].bias, -4.6)  # start near "no keypoint" (p = 0.01)

    def forward(self, x):
        p3, p4, p5 = self.pafpn(x)
        f = self.lat[0](p3)
        f = f + F.interpolate(self.lat[1](p4), size=f.shape[-2:], mode="nearest")
        f = f + F.interpolate(self.lat[2](p5), size=f.shape[-2:], mode="nearest")
        f = self.up(F.interpolate(f, scale_factor=2, mode="bilinear", align_corners=False))
        return self.head(f)


def build(detector_onnx: str | None) -> KeypointNet:
    det = yolox_net.build(4)
    if detector_onnx:
        yolox_net.load_coco(det, detector_onnx)  # loads any YOLOX-Nano export by convolution order
    return KeypointNet(det.backbone)


def focal_loss(logits, target):
    """CenterNet's penalty-reduced focal loss. The Gaussian targets keep their sub-cell centre
    (so the peak's neighbours say where in the cell the keypoint lies); the positive of each
    keypoint is the cell where its target peaks."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    peak = target.flatten(2).amax(2)[..., None, None]
    pos = (target.ge(peak) & peak.gt(0.5)).float()
    neg = 1 - pos
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p**2 * (1 - target) ** 4 * neg
    n = pos.sum().clamp(min=1)
    return -(pos_loss.sum() + neg_loss.sum()) / n


@torch.no_grad()
def evaluate(model, images, points, device, thr=0.3):
    """kp_eval.measure with the torch model."""
    model.eval()
    r = measure(lambda x: torch.sigmoid(model(torch.from_numpy(x)[None].to(device)))[0].float().cpu().numpy(), images, points, thr)
    model.train()
    return r


def choose_score(r):
    """Lower is better: a frame not calibrated costs as much as 3 m of error."""
    return (1 - r["calibrated_share"]) * 3.0 + min(r["error_median_m"], 3.0) + 0.25 * min(r["error_p90_m"], 6.0)


def train(a):
    torch.manual_seed(a.seed)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    model = build(a.detector).to(dev)
    head_params = [p for n, p in model.named_parameters() if not n.startswith("pafpn.")]
    body_params = [p for n, p in model.named_parameters() if n.startswith("pafpn.")]
    opt = torch.optim.AdamW([{"params": body_params, "lr": a.lr * 0.3}, {"params": head_params, "lr": a.lr}], weight_decay=1e-4)
    sched = lambda s: min(1.0, (s + 1) / 200) * 0.5 * (1 + math.cos(math.pi * min(s, a.steps) / a.steps))
    step, best = 0, None
    if (out / "last.pt").exists():
        ck = torch.load(out / "last.pt", weights_only=False, map_location=dev)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, best = ck["step"], ck.get("best")
        print(f"resumed at step {step}, best {best}")
    ds = D.TrainSet(str(Path(a.data) / "train"), a.seed, a.batch)
    sampler = range(step * a.batch, a.steps * a.batch)
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(ds, sampler), batch_size=a.batch, num_workers=a.workers,
                                         persistent_workers=a.workers > 0, drop_last=True)
    vimg, vpts = D.load_split(Path(a.data) / "valid")
    t0 = time.time()
    model.train()
    for x, y in loader:
        for g, base in zip(opt.param_groups, (a.lr * 0.3, a.lr)):
            g["lr"] = base * sched(step)
        x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            logits = model(x)
        loss = focal_loss(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.time() - t0:.0f}s", flush=True)
        last = step >= a.steps or (a.stop_after_min and time.time() - t0 > a.stop_after_min * 60)
        if step % a.val_every == 0 or last:
            r = evaluate(model, vimg, vpts, dev)
            r["step"] = step
            print("valid", json.dumps(r), flush=True)
            if best is None or choose_score(r) < choose_score(best):
                best = r
                torch.save({"model": model.state_dict(), "step": step, "valid": r, "args": vars(a)}, out / "best.pt")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best}, out / "last.pt.tmp")
            (out / "last.pt.tmp").replace(out / "last.pt")
        if last:
            break
    print("best", json.dumps(best))


def export(a):
    ck = torch.load(a.export, weights_only=False, map_location="cpu")
    model = build(None)
    model.load_state_dict(ck["model"])
    model.eval()

    class WithSigmoid(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return torch.sigmoid(self.m(x))

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "pitch_keypoints_640x384.onnx"
    dummy = torch.zeros(1, 3, D.IN_H, D.IN_W)
    torch.onnx.export(WithSigmoid(model), dummy, str(path), input_names=["images"], output_names=["heatmaps"],
                      dynamic_axes={"images": {0: "batch"}, "heatmaps": {0: "batch"}}, opset_version=17, dynamo=False)
    import onnxruntime as ort
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    vimg, vpts = D.load_split(Path(a.data) / "valid")
    x, _ = D.warp(vimg[0], vpts[0], D.base_transform(vimg[0].shape[1], vimg[0].shape[0]))
    inp = np.ascontiguousarray(x.transpose(2, 0, 1))[None].astype(np.float32)
    o = sess.run(None, {"images": inp})[0]
    with torch.no_grad():
        t = torch.sigmoid(model(torch.from_numpy(inp))).numpy()
    try:  # after the reference: thop leaves counters on the modules
        from thop import profile
        macs, params = profile(model, inputs=(dummy,), verbose=False)
    except Exception as e:  # thop is optional
        print("thop:", e)
        macs, params = float("nan"), float("nan")
    info = {"valid": ck["valid"], "step": ck["step"], "gmacs": macs / 1e9, "params_m": params / 1e6,
            "onnx_max_abs_diff": float(np.abs(o - t).max()), "args": ck["args"]}
    (out / "pitch_keypoints_640x384.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--detector")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--stop-after-min", type=float, default=0)
    p.add_argument("--export")
    a = p.parse_args()
    export(a) if a.export else train(a)
