#!/usr/bin/env bash
# Runs on the GPU machine (see docs/gpu.md) after the ONNX Runtime chunks were copied to /tmp/og.
# Writes its results to $OUT: results.txt and the bench JSON files.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
log="$OUT/results.txt"
exec > >(tee -a "$log") 2>&1
say() { printf '\n=== %s\n' "$*"; }

. scripts/gpu/device-env.sh

say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
nproc
say "decoders"
gst-inspect-1.0 nvh264dec 2>&1 | grep -E "Long-name|Rank" | head -2
gst-inspect-1.0 openh264dec 2>&1 | grep -E "Long-name|Rank" | head -2
say "decode only, 1080p H.264 ($CLIP), nvh264dec vs openh264dec (software), to system memory"
for dec in nvh264dec openh264dec; do
  s=$(date +%s%N)
  gst-launch-1.0 -q filesrc location=$CLIP ! qtdemux ! h264parse ! $dec ! video/x-raw ! fakesink sync=false
  e=$(date +%s%N)
  echo "$dec: 300 frames in $(( (e - s) / 1000000 )) ms (start-up included)"
done

say "GPU tests (letterbox GPU vs CPU, detector agreement)"
.device/bin/gpu-test --ignored --nocapture --test-threads 1

run_bench() {
  local name=$1; shift
  printf '%s\n' "$@" > /tmp/bench-$name.toml
  say "bench $name: $*"
  $BIN bench -c /tmp/bench-$name.toml --input $CLIP --frames 300 --inference-runs 50 --json "$OUT/bench-$name.json" 2>&1 | grep -v "MQTT broker unreachable"
}
run_bench cpu '[source]' 'decoder = "software"' '[infer]' 'providers = ["cpu"]' 'threads = 16'
run_bench gpu-mapped '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "mapped"'
run_bench gpu-copy '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "copy"'
run_bench trt-fallback '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["tensorrt", "cuda", "cpu"]' 'tile_columns = 3' 'tile_rows = 2'
say "daemon run with NVDEC + GPU pre-processing + ORT CUDA (60 frames, logs)"
printf '[source]\ndecoder = "nvdec"\nrealtime = false\n[ring]\noverflow = "block"\n[infer]\nproviders = ["cuda", "cpu"]\n' > /tmp/run.toml
RUST_LOG=info $BIN run -c /tmp/run.toml --input $CLIP --max-frames 60 2>&1 | grep -v "MQTT broker unreachable" | tail -12
nvidia-smi --query-gpu=memory.used --format=csv,noheader
