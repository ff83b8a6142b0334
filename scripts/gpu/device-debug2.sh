#!/usr/bin/env bash
# Third pass: is the hang in ONNX Runtime's CUDA provider itself, or in the device-input path?
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; log="$OUT/debug2.txt"
exec > >(tee -a "$log") 2>&1
. scripts/gpu/device-env.sh
gst-inspect-1.0 nvh264dec > /dev/null 2>&1
b() { local n=$1 t=$2; shift 2; printf '%s\n' "$@" > /tmp/b-$n.toml; echo "== $(date +%T) bench $n"; timeout -s KILL $t $BIN bench -c /tmp/b-$n.toml --input $CLIP --frames 300 --inference-runs 50 --json "$OUT/bench-$n.json" 2>&1 | grep -v "MQTT broker"; echo rc=$?; }
b cuda-cpupre 90 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_preprocess = false'
b gpu-mapped 45 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "mapped"'
b gpu-copy 30 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "copy"'
echo "== $(date +%T) ort trace of a stuck run"; printf '[source]\ndecoder = "nvdec"\nrealtime = false\n[ring]\noverflow = "block"\n[infer]\nproviders = ["cuda", "cpu"]\n' > /tmp/run.toml
RUST_LOG=footrackd=debug timeout -s KILL 5 $BIN run -c /tmp/run.toml --input $CLIP --max-frames 20 2>&1 | grep -v -i "mqtt\|health\|GStreamer-WARNING\|^$" | tail -25
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
