#!/usr/bin/env bash
# Ball finder training on the GPU machine (docs/detector.md "The ball finder"): several runs side
# by side, each trained (or resumed) for at most MINUTES, checkpoints and logs to $OUT/<run>/.
#
# The Roboflow frames travel as they are stored (640x640, stretched): pack them here with
#   tar cf - -C ../shared/data roboflow-football-ball-detection/{train,valid} \
#     roboflow-football-players-detection/{train,valid} | split -b 30M - .device/finder-data/part
# carry one part a call (copy it to /tmp/finder-data/ there), then run this; it undoes the
# stretch to 1920x1080 on the device. Carry a previous call's $OUT as .device/finder-ckpt to resume.
#
# RUNS: space-separated name:widths:seed:batch (widths as --widths, comma-separated).
set -euo pipefail
MINUTES=${1:-7.5}
STEPS=${STEPS:-12000}
RUNS=${RUNS:-"a:12,24,32:7:32 b:12,24,32:11:32 c:16,32,48:7:32"}
WORKERS=${WORKERS:-3}
PY=/opt/torch/.venv/bin/python3
DATA=/tmp/finder-1080
nvidia-smi --query-gpu=name --format=csv,noheader
if [ ! -d "$DATA/ball/valid" ]; then
  mkdir -p /tmp/finder-raw
  cat /tmp/finder-data/part* | tar xf - -C /tmp/finder-raw
  for set in ball players; do
    for split in train valid; do
      $PY tools/train/prepare_data.py --data "/tmp/finder-raw/roboflow-football-$set-detection" --splits $split \
        --width 1920 --height 1080 --out "$DATA/$set" &
    done
  done
  wait
fi
for run in $RUNS; do
  IFS=: read -r name widths seed batch <<<"$run"
  mkdir -p "$OUT/$name"
  if [ -d ".device/finder-ckpt/$name" ]; then cp .device/finder-ckpt/$name/* "$OUT/$name"/; fi
  $PY tools/train/ball_finder_train.py --train "$DATA/ball/train" --train "$DATA/players/train" \
    --valid "$DATA/ball/valid" --valid "$DATA/players/valid" --out "$OUT/$name/ball_finder.onnx" \
    --device cuda --workers "$WORKERS" --threads 1 --widths "$widths" --seed "$seed" --batch "$batch" \
    --steps "$STEPS" --every 1000 --stop-after-min "$MINUTES" >>"$OUT/$name/train.log" 2>&1 &
done
wait
tail -n 3 "$OUT"/*/train.log
