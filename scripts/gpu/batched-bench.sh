#!/usr/bin/env bash
# Runs on the GPU machine in the last of five calls (docs/gpu.md, "Batched engine"): unpacks
# ONNX Runtime (chunks already in /tmp/og), GStreamer (debs in /tmp/gstdeb) and the peer's
# Python packages (/tmp/peer-py.tar.zst), then measures footrackd's batched engine and the peer
# on the same 1080p clip, model and tilings. Results: $OUT/results.txt and JSON files.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/results.txt") 2>&1
say() { printf '\n=== %s\n' "$*"; }
CLIP=/tmp/clip1080.mp4
. scripts/gpu/device-env.sh
[ -d /tmp/peerpy ] || { /tmp/og/zstd -d -q -c /tmp/peer-py.tar.zst | tar xf - -C /tmp && cp -n /tmp/og/onnxruntime/capi/libonnxruntime* /tmp/peerpy/onnxruntime/capi/; }
FRAMES=${FRAMES:-300}

say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
nproc

say "GPU tests"
timeout 120 .device/bin/gpu-test --ignored --test-threads 1 2>&1 | tail -8

printf '[source]\ndecoder = "nvdec"\n[infer]\nproviders = ["cuda", "cpu"]\n' > /tmp/gpu.toml
bench() { # name cols rows full [extra env...] [-- extra args]
  local name=$1 cols=$2 rows=$3 full=$4; shift 4
  say "footrackd bench $name (${cols}x${rows}, whole frame $full) $*"
  env FOOTRACKD_INFER__TILE_COLUMNS=$cols FOOTRACKD_INFER__TILE_ROWS=$rows FOOTRACKD_INFER__FULL_FRAME=$full "$@" \
    timeout 150 $BIN bench -c /tmp/gpu.toml --input $CLIP --frames $FRAMES --inference-runs 50 --json "$OUT/bench-$name.json" 2>&1 \
    | grep -vE "MQTT broker unreachable|XDG_RUNTIME"
}
bench whole 1 1 false
bench 2x2 2 2 false
bench 4x3 4 3 false
bench default 2 2 true
bench 4x3-host-frames 4 3 false FOOTRACKD_SOURCE__GPU_FRAMES=false
bench 4x3-two-slots 4 3 false FOOTRACKD_RING__SLOTS=2
say "footrackd bench 4x3 --streams 8"
FOOTRACKD_INFER__TILE_COLUMNS=4 FOOTRACKD_INFER__TILE_ROWS=3 FOOTRACKD_INFER__FULL_FRAME=false \
  timeout 200 $BIN bench -c /tmp/gpu.toml --input $CLIP --frames $FRAMES --inference-runs 20 --streams 8 --json "$OUT/bench-4x3-streams8.json" 2>&1 | grep -vE "MQTT broker unreachable|XDG_RUNTIME" | tail -3

for t in whole 2x2 4x3; do
  say "peer $t (CUDA)"
  PYTHONPATH=/tmp/peerpy timeout 150 /opt/torch/.venv/bin/python3 /tmp/peer/ref_pipeline.py --clip $CLIP \
    --model /tmp/peer/yolox_nano_orig.onnx --tiles $t --providers CUDA,CPU --max-frames $FRAMES 2>&1 | grep -v Warning | tail -2 | tee "$OUT/peer-$t.json"
done

say "daemon run: NVDEC to GPU memory, batched 4x3, 60 frames (logs)"
printf '[source]\ndecoder = "nvdec"\nrealtime = false\n[ring]\noverflow = "block"\n[infer]\nproviders = ["cuda", "cpu"]\ntile_columns = 4\ntile_rows = 3\nfull_frame = false\n' > /tmp/run.toml
RUST_LOG=info timeout 60 $BIN run -c /tmp/run.toml --input $CLIP --max-frames 60 2>&1 | grep -vE "MQTT broker unreachable|XDG_RUNTIME" | tail -14
nvidia-smi --query-gpu=memory.used --format=csv,noheader
