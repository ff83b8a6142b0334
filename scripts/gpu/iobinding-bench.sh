#!/usr/bin/env bash
# GPU machine (after the five-call set-up of docs/gpu.md): the experimental IoBinding path against
# the plain run, 4x3 tiles, with trace logs around the bound run so that a hang shows where.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
CLIP=/tmp/clip1080.mp4
. scripts/gpu/device-env.sh
for io in false true; do
  echo "=== footrackd bench 4x3, infer.io_binding = $io"
  FOOTRACKD_INFER__IO_BINDING=$io RUST_LOG=footrackd::infer=trace,info timeout -s KILL 90 $BIN bench -c /tmp/gpu4x3.toml --input $CLIP \
    --frames 300 --inference-runs 50 --json "$OUT/bench-4x3-iobinding-$io.json" > "$OUT/iobinding-$io.log" 2>&1
  echo "exit $?"
  grep -vE "MQTT broker|XDG|GStreamer-WARNING|^$|gst-plugin-scanner|IoBinding: (binding|synchronising|running)" "$OUT/iobinding-$io.log" | tail -8
  echo "last trace lines:"; grep "IoBinding" "$OUT/iobinding-$io.log" | tail -4 | cut -c1-160
done
