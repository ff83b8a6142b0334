#!/usr/bin/env bash
# Fourth pass: the device-resident input through a plain ONNX Runtime run (no IoBinding).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; log="$OUT/run2.txt"
exec > >(tee -a "$log") 2>&1
. scripts/gpu/device-env.sh
gst-inspect-1.0 nvh264dec > /dev/null 2>&1
nvidia-smi --query-gpu=name --format=csv,noheader
echo "== $(date +%T) gpu tests"; timeout -s KILL 50 .device/bin/gpu-test --ignored --nocapture --test-threads 1; echo rc=$?
b() { local n=$1 t=$2; shift 2; printf '%s\n' "$@" > /tmp/b-$n.toml; echo "== $(date +%T) bench $n"; timeout -s KILL $t $BIN bench -c /tmp/b-$n.toml --input $CLIP --frames 300 --inference-runs 50 --json "$OUT/bench-$n.json" 2>&1 | grep -v "MQTT broker"; echo rc=$?; }
b gpu-mapped 45 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_preprocess = true' 'gpu_input = "mapped"'
b gpu-copy 35 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_preprocess = true' 'gpu_input = "copy"'
b cuda-cpupre 35 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_preprocess = false'
