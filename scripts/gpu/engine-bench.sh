#!/usr/bin/env bash
# Runs on the GPU machine in the fifth call of docs/gpu.md's sequence (ONNX Runtime parts already in
# /tmp/og, GStreamer .debs in /tmp/gstdeb, the clip and the peer in /tmp): the GPU tests, then
# `footrackd bench` (YOLOX-Nano 416, the issue's model) at each tiling, the decoder sharing the
# daemon's CUDA context and (A/B, same call) keeping its own, --streams 8, NVML readings, and the
# Python peer on the same clip, model and tilings. Results: $OUT/results.txt and JSON files.
set -uo pipefail
. scripts/gpu/results.sh results.txt
[ -d /tmp/peerpy ] || { /tmp/og/zstd -d -q -c /tmp/peer-py.tar.zst | tar xf - -C /tmp && cp -n /tmp/og/onnxruntime/capi/libonnxruntime* /tmp/peerpy/onnxruntime/capi/; }
FRAMES=${FRAMES:-300}

say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
nproc

say "GPU tests (--ignored: they need the GPU)"
timeout 90 .device/bin/gpu-test --ignored --test-threads 1 2>&1 | grep -E "^test |test result" | tail -4

printf '[source]\ndecoder = "nvdec"\n[infer]\nmodel = "%s/models/yolox_nano.onnx"\nproviders = ["cuda", "cpu"]\n' "$PWD" > /tmp/gpu.toml
bench() { # name cols rows full [env...]
  local name=$1 cols=$2 rows=$3 full=$4; shift 4
  say "footrackd bench $name (${cols}x${rows}, whole frame $full) $*"
  env FOOTRACKD_INFER__TILE_COLUMNS=$cols FOOTRACKD_INFER__TILE_ROWS=$rows FOOTRACKD_INFER__FULL_FRAME=$full "$@" \
    timeout 120 $BIN bench -c /tmp/gpu.toml --input $CLIP --frames $FRAMES --inference-runs 50 --json "$OUT/bench-$name.json" 2>&1 \
    | grep -vE "MQTT broker unreachable|XDG_RUNTIME" | grep -E "CUDA context|^[^0-9]" | tail -14
}
bench 4x3 4 3 false
bench 4x3-own-context 4 3 false FOOTRACKD_SOURCE__SHARE_CUDA_CONTEXT=false
bench 4x3-again 4 3 false
bench whole 1 1 false
bench 2x2 2 2 false
bench default 2 2 true
bench 4x3-two-slots 4 3 false FOOTRACKD_RING__SLOTS=2
say "footrackd bench 4x3 --streams 8"
FOOTRACKD_INFER__TILE_COLUMNS=4 FOOTRACKD_INFER__TILE_ROWS=3 FOOTRACKD_INFER__FULL_FRAME=false \
  timeout 150 $BIN bench -c /tmp/gpu.toml --input $CLIP --frames $FRAMES --inference-runs 20 --streams 8 --json "$OUT/bench-4x3-streams8.json" 2>&1 | grep -vE "MQTT broker unreachable|XDG_RUNTIME" | tail -3
say "NVML (from the last bench report)"
python3 -c "import json; print(json.load(open('$OUT/bench-4x3.json')).get('gpus'))"

for t in whole 2x2 4x3; do
  say "peer $t (CUDA)"
  PYTHONPATH=/tmp/peerpy timeout 120 /opt/torch/.venv/bin/python3 /tmp/peer/ref_pipeline.py --clip $CLIP \
    --model /tmp/peer/yolox_nano_orig.onnx --tiles $t --providers CUDA,CPU --max-frames $FRAMES 2>&1 | grep -v Warning | tail -2 | tee "$OUT/peer-$t.json"
done
say "done"
