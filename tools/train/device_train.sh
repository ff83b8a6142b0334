#!/usr/bin/env bash
# One training call on the GPU machine (see docs/detector.md): trains (or resumes) for at most
# MINUTES, then, once all steps are done, exports and times the model. Checkpoints go to $OUT;
# carry the previous call's checkpoint folder as .device/train-ckpt to resume.
# BALL_DATA (the ball set from prepare_ball.py) and INIT (an earlier football ONNX to start from)
# give the second model's recipe; without them, the first model's.
set -euo pipefail
MINUTES=${1:-8.5}
STEPS=${STEPS:-3000}
PY=/opt/torch/.venv/bin/python3
export PYTHONPATH=$PWD/.device/train-deps:$PWD/tools/train
CK=$OUT/ckpt
mkdir -p "$CK"
if [ -d .device/train-ckpt ]; then cp .device/train-ckpt/* "$CK"/; fi
EXTRA=()
if [ -n "${BALL_DATA:-}" ]; then EXTRA+=(--ball-data "$BALL_DATA"); fi
if [ -n "${INIT:-}" ]; then EXTRA+=(--init-onnx "$INIT"); fi
if [ -n "${LR:-}" ]; then EXTRA+=(--lr "$LR"); fi
nvidia-smi --query-gpu=name --format=csv,noheader
$PY tools/train/train.py --data "${DATA:-.device/football}" --out "$CK" --steps "$STEPS" --stop-after-min "$MINUTES" \
  --workers 15 --val-every "${VAL_EVERY:-500}" "${EXTRA[@]}" 2>&1 | tee "$OUT/train-$(date +%H%M%S).log"
if $PY -c "import torch,sys; sys.exit(0 if torch.load('$CK/last.pt',weights_only=False)['step']>=$STEPS else 1)"; then
  $PY tools/train/export.py "$CK/best.pt" --out "$OUT/models" --sizes "${SIZES:-416x416,960x544,1280x736}" \
    --frames "${DATA:-.device/football}/valid" --check-coco --time 2>&1 | tee "$OUT/export.log"
elif [ -f "$CK/best.pt" ]; then  # an interim export proves the path and gives a model to try
  $PY tools/train/export.py "$CK/best.pt" --out "$OUT/interim" --sizes 1280x736 --frames "${DATA:-.device/football}/valid" \
    2>&1 | tail -5
fi
rm -f "$CK"/*.tmp
