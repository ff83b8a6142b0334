#!/usr/bin/env bash
# GPU machine, after scripts/gpu/engine-bench.sh's unpacking (or with its five-call set-up):
# the multi-stream figure, N copies of the 1080p clip through one batched detector, 4x3 tiles.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
CLIP=/tmp/clip1080.mp4
. scripts/gpu/device-env.sh
for n in ${STREAMS:-4 8}; do
  echo "=== footrackd bench 4x3 --streams $n"
  timeout 240 .device/bin/footrackd bench -c /tmp/gpu4x3.toml --input /tmp/clip1080.mp4 --frames 300 --inference-runs 20 --streams $n \
    --json "$OUT/bench-4x3-streams$n.json" 2>&1 | grep -vE "MQTT broker|XDG|GStreamer-WARNING|^$|gst-plugin-scanner"
done
