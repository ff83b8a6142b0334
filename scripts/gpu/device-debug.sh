#!/usr/bin/env bash
# Second pass on the GPU machine: each step under a timeout, with logs, to locate hangs.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; log="$OUT/debug.txt"
exec > >(tee -a "$log") 2>&1
. scripts/gpu/device-env.sh
ls /tmp/og/onnxruntime/capi/ | head; ls /tmp/gst/usr/bin | head -3
echo "== $(date +%T) letterbox test"; timeout -s KILL 60 .device/bin/gpu-test --ignored --nocapture --exact gpu_letterbox_equals_the_cpu_path_within_tolerance_for_i420_and_nv12_mapped_and_copied; echo rc=$?
printf '[source]\ndecoder = "nvdec"\nrealtime = false\n[ring]\noverflow = "block"\n[infer]\nproviders = ["cuda", "cpu"]\n' > /tmp/run.toml
echo "== $(date +%T) daemon run cuda, debug logs"; RUST_LOG=debug timeout -s KILL 60 $BIN run -c /tmp/run.toml --input $CLIP --max-frames 40 2>&1 | grep -v -i "mqtt\|rumqtt" | tail -40; echo rc=$?
b() { local n=$1 t=$2; shift 2; printf '%s\n' "$@" > /tmp/b-$n.toml; echo "== $(date +%T) bench $n"; timeout -s KILL $t $BIN bench -c /tmp/b-$n.toml --input $CLIP --frames 300 --inference-runs 50 --json "$OUT/bench-$n.json" 2>&1 | grep -v "MQTT broker"; echo rc=$?; }
b cpu 150 '[source]' 'decoder = "software"' '[infer]' 'providers = ["cpu"]'
b gpu-mapped 90 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "mapped"'
b gpu-copy 90 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "copy"'
echo "== $(date +%T) detector agreement"; timeout -s KILL 60 .device/bin/gpu-test --ignored --nocapture --exact gpu_and_cpu_detectors_agree_on_a_frame; echo rc=$?
nvidia-smi --query-gpu=memory.used --format=csv,noheader
