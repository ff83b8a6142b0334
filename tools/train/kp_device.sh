#!/usr/bin/env bash
# One keypoint-model training call on the GPU machine (docs/pitch.md): trains (or resumes) for at
# most MINUTES, then exports the chosen checkpoint. Carry .device/train-deps (fetch_deps.sh),
# .device/pitch-kp (the keypoint data: train/ and valid/) and the previous call's checkpoints as
# .device/kp-ckpt to resume. Checkpoints, logs and the exported model go to $OUT.
set -euo pipefail
MINUTES=${1:-7}
STEPS=${STEPS:-3000}
PY=/opt/torch/.venv/bin/python3
export PYTHONPATH=$PWD/.device/train-deps:$PWD/tools/train
CK=$OUT/kp-ckpt
mkdir -p "$CK"
if [ -d .device/kp-ckpt ]; then cp .device/kp-ckpt/* "$CK"/; fi
nvidia-smi --query-gpu=name --format=csv,noheader
$PY tools/train/kp_train.py --data .device/pitch-kp --detector models/football_nano_1280x736.onnx --out "$CK" \
  --steps "$STEPS" --stop-after-min "$MINUTES" --workers 14 --val-every "${VAL_EVERY:-250}" 2>&1 | tee "$OUT/kp-train-$(date +%H%M%S).log"
if [ -f "$CK/best.pt" ]; then
  $PY tools/train/kp_train.py --data .device/pitch-kp --export "$CK/best.pt" --out "$OUT/models" 2>&1 | tail -3
fi
rm -f "$CK"/*.tmp
