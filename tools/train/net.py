"""YOLOX-Nano in PyTorch (the yolox 0.3.0 definition) and COCO weights taken from its ONNX export.

The shipped ONNX has its batch norms folded into the convolutions. Each folded convolution is
loaded as the convolution's weight, with its batch norm set to the identity plus the folded bias
(mean 0, variance 1 - eps, scale 1): the network then computes exactly what the ONNX computes.
Convolutions are matched in execution order and checked by shape.
"""
from __future__ import annotations

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

from yolox.models import YOLOPAFPN, YOLOX, YOLOXHead

# Football classes in the Roboflow label order, and the COCO class each starts from.
CLASSES = ["ball", "goalkeeper", "player", "referee"]
COCO_START = {"ball": 32, "goalkeeper": 0, "player": 0, "referee": 0}
# Training only: a person whose role no human labelled (the ball set's people, found by a
# teacher). Its column exists while training and is dropped at export.
UNKNOWN_ROLE = len(CLASSES)
ROLE_COLUMNS = slice(1, UNKNOWN_ROLE)


def build(num_classes: int) -> YOLOX:
    """YOLOX-Nano: depth 0.33, width 0.25, depthwise convolutions, SiLU (the Megvii nano exp)."""
    in_channels = [256, 512, 1024]
    backbone = YOLOPAFPN(0.33, 0.25, in_channels=in_channels, act="silu", depthwise=True)
    head = YOLOXHead(num_classes, 0.25, in_channels=in_channels, act="silu", depthwise=True)
    model = YOLOX(backbone, head)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = 1e-3
            m.momentum = 0.03
    model.head.initialize_biases(1e-2)
    return model


def _conv_order(model: nn.Module, size: int = 416) -> list[nn.Conv2d]:
    order: list[nn.Conv2d] = []
    hooks = [m.register_forward_hook(lambda m, i, o: order.append(m)) for m in model.modules() if isinstance(m, nn.Conv2d)]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return order


def _onnx_convs(path: str) -> list[tuple[np.ndarray, np.ndarray | None]]:
    graph = onnx.load(path).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:  # weights held in Constant nodes
        if node.op_type == "Constant":
            init[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    convs = []
    for node in graph.node:
        if node.op_type == "Conv":
            w = init[node.input[1]]
            b = init[node.input[2]] if len(node.input) > 2 else None
            convs.append((w, b))
    return convs


def load_coco(model: YOLOX, onnx_path: str) -> None:
    """Loads the YOLOX-Nano weights of `onnx_path` (batch norms folded, as the COCO file and
    footrackd's exports are) into a `model` with as many classes."""
    parents = {}
    for m in model.modules():
        if hasattr(m, "conv") and hasattr(m, "bn") and isinstance(m.conv, nn.Conv2d):
            parents[m.conv] = m.bn
    convs = _conv_order(model)
    weights = _onnx_convs(onnx_path)
    if len(convs) != len(weights):
        raise RuntimeError(f"{len(convs)} convolutions in the network, {len(weights)} in {onnx_path}")
    with torch.no_grad():
        for i, (conv, (w, b)) in enumerate(zip(convs, weights)):
            if tuple(conv.weight.shape) != w.shape:
                raise RuntimeError(f"convolution {i}: network {tuple(conv.weight.shape)}, ONNX {w.shape}")
            conv.weight.copy_(torch.from_numpy(w))
            bias = torch.from_numpy(b) if b is not None else torch.zeros(w.shape[0])
            bn = parents.get(conv)
            if bn is None:
                conv.bias.copy_(bias)
            else:
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)


def football_from_coco(onnx_path: str) -> YOLOX:
    """A 4-class football YOLOX-Nano that starts from COCO: every layer from the COCO model, the
    class outputs from COCO `sports ball` (ball) and `person` (goalkeeper, player, referee)."""
    coco = build(80)
    load_coco(coco, onnx_path)
    model = build(len(CLASSES))
    state = {k: v for k, v in coco.state_dict().items() if ".cls_preds." not in k}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(".cls_preds." not in k for k in missing):
        raise RuntimeError(f"state mismatch: missing {missing}, unexpected {unexpected}")
    rows = [COCO_START[c] for c in CLASSES]
    with torch.no_grad():
        for dst, src in zip(model.head.cls_preds, coco.head.cls_preds):
            dst.weight.copy_(src.weight[rows])
            dst.bias.copy_(src.bias[rows])
    return model


def football_from_onnx(onnx_path: str, role_blind: bool = True) -> YOLOX:
    """A football YOLOX-Nano that starts from an earlier football model's ONNX (4 classes); with
    `role_blind`, the training-only unknown-role column starts as a copy of `player`."""
    base = build(len(CLASSES))
    load_coco(base, onnx_path)
    if not role_blind:
        return base
    model = build(len(CLASSES) + 1)
    state = {k: v for k, v in base.state_dict().items() if ".cls_preds." not in k}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(".cls_preds." not in k for k in missing):
        raise RuntimeError(f"state mismatch: missing {missing}, unexpected {unexpected}")
    rows = list(range(len(CLASSES))) + [CLASSES.index("player")]
    with torch.no_grad():
        for dst, src in zip(model.head.cls_preds, base.head.cls_preds):
            dst.weight.copy_(src.weight[rows])
            dst.bias.copy_(src.bias[rows])
    model.head.bcewithlog_loss = RoleBlindBCE()
    return model


def drop_unknown_role(state: dict) -> dict:
    """A trained state without the unknown-role column: the 4-class network footrackd runs."""
    out = {}
    for k, v in state.items():
        if ".cls_preds." in k and v.shape[0] == len(CLASSES) + 1:
            v = v[: len(CLASSES)]
        out[k] = v
    return out


class RoleBlindBCE(nn.Module):
    """YOLOX's BCE (reduction none) that learns nothing of an unknown-role person's role.

    The class loss of a foreground anchor matched to an unknown-role person gets its own
    prediction as the target in the role columns: the gradient of BCE with logits is
    sigmoid(x) - target, so zero there. It still learns that the person is not the ball (target 0)
    and, through the objectness and box losses, that a person is there. The unknown-role column
    itself never learns. Objectness (one column) passes through unchanged."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.shape[-1] == len(CLASSES) + 1:
            own = torch.sigmoid(pred.detach())
            unknown = target[:, UNKNOWN_ROLE] > 0
            target = target.clone()
            target[unknown, ROLE_COLUMNS] = own[unknown, ROLE_COLUMNS]
            target[:, UNKNOWN_ROLE] = own[:, UNKNOWN_ROLE]
        return F.binary_cross_entropy_with_logits(pred, target, reduction="none")


def freeze_bn(model: nn.Module) -> None:
    """Keeps batch-norm statistics as loaded (their scale and shift still learn)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
