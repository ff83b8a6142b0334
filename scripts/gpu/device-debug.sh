#!/usr/bin/env bash
# Second pass on the GPU machine: each step under a timeout, with logs, to locate hangs.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; log="$OUT/debug.txt"
exec > >(tee -a "$log") 2>&1
if [ ! -f /tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1 ]; then cp .device/ort-gpu/zstd /tmp/og/; (cd /tmp/og && cat chunk* | ./zstd -d --long=27 | tar xf -); fi
[ -d /tmp/gst/usr ] || { mkdir -p /tmp/gst && for f in .device/gst/*.deb; do dpkg -x "$f" /tmp/gst; done; }
G=/tmp/gst; SP=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH=$G/usr/lib/x86_64-linux-gnu:$G/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:$(ls -d $SP/nvidia/*/lib | tr '\n' ':')/usr/local/cuda/lib64
export GST_PLUGIN_SYSTEM_PATH=$G/usr/lib/x86_64-linux-gnu/gstreamer-1.0 GST_PLUGIN_SCANNER=$G/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner
export GST_REGISTRY=/tmp/gst-registry.bin PATH=$G/usr/bin:$PATH ORT_DYLIB_PATH=/tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1
BIN=.device/bin/footrackd; CLIP=.device/clip1080.mp4
ls /tmp/og/onnxruntime/capi/ | head; ls /tmp/gst/usr/bin | head -3
echo "== $(date +%T) letterbox test"; timeout -s KILL 60 .device/bin/gpu-test --nocapture --exact gpu_letterbox_equals_the_cpu_path_within_tolerance_for_i420_and_nv12_mapped_and_copied; echo rc=$?
printf '[source]\ndecoder = "nvdec"\nrealtime = false\n[ring]\noverflow = "block"\n[infer]\nproviders = ["cuda", "cpu"]\n' > /tmp/run.toml
echo "== $(date +%T) daemon run cuda, debug logs"; RUST_LOG=debug timeout -s KILL 60 $BIN run -c /tmp/run.toml --input $CLIP --max-frames 40 2>&1 | grep -v -i "mqtt\|rumqtt" | tail -40; echo rc=$?
b() { local n=$1 t=$2; shift 2; printf '%s\n' "$@" > /tmp/b-$n.toml; echo "== $(date +%T) bench $n"; timeout -s KILL $t $BIN bench -c /tmp/b-$n.toml --input $CLIP --frames 300 --inference-runs 50 --json "$OUT/bench-$n.json" 2>&1 | grep -v "MQTT broker"; echo rc=$?; }
b cpu 150 '[source]' 'decoder = "software"' '[infer]' 'providers = ["cpu"]'
b gpu-mapped 90 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "mapped"'
b gpu-copy 90 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "copy"'
echo "== $(date +%T) detector agreement"; timeout -s KILL 60 .device/bin/gpu-test --nocapture --exact gpu_and_cpu_detectors_agree_on_a_frame; echo rc=$?
nvidia-smi --query-gpu=memory.used --format=csv,noheader
