#!/usr/bin/env bash
# Issue 21 on the GPU machine (after the bundle is unpacked, see docs/gpu.md): the shipped default
# (football model 1280x736 with its second look, the ball finder at full resolution, NVDEC, CUDA)
# on the 1080p clip against the same without the ball finder, alternating in two rounds in this
# one call. `footrackd bench` reports end-to-end fps and the physical limit (decode-only and the
# model's batched throughput) measured in the same run. Results: $OUT/results-finder.txt.
set -uo pipefail
. scripts/gpu/results.sh results-finder.txt
CLIP=.device/clip1080.mp4
FRAMES=${FRAMES:-300}
say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
printf '[source]\ndecoder = "nvdec"\n[infer]\nmodel = "%s/models/football_nano_1280x736.onnx"\nball_focus_model = "%s/models/football_nano_320.onnx"\nball_finder_model = "%s/models/ball_finder.onnx"\nproviders = ["cuda", "cpu"]\n' "$PWD" "$PWD" "$PWD" > /tmp/finder.toml
bench() { # name [env...]
  local name=$1; shift
  say "footrackd bench $name $*"
  env "$@" timeout 120 $BIN bench -c /tmp/finder.toml --input $CLIP --frames $FRAMES --inference-runs 50 \
    --json "$OUT/bench-$name.json" > /tmp/bench-$name.log 2>&1
  grep -vE "MQTT broker unreachable|XDG_RUNTIME" /tmp/bench-$name.log | grep -E "^(limit|end-to-end|per frame|error)|panick|ball finder" | tail -6
}
for round in 1 2; do
  bench finder-$round
  bench no-finder-$round FOOTRACKD_INFER__BALL_FINDER_MODEL=
done
say "done"
