#!/usr/bin/env bash
# Third pass: is the hang in ONNX Runtime's CUDA provider itself, or in the device-input path?
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; log="$OUT/debug2.txt"
exec > >(tee -a "$log") 2>&1
if [ ! -f /tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1 ]; then cp .device/ort-gpu/zstd /tmp/og/; (cd /tmp/og && cat chunk* | ./zstd -d --long=27 | tar xf -); fi
[ -d /tmp/gst/usr ] || { mkdir -p /tmp/gst && for f in .device/gst/*.deb; do dpkg -x "$f" /tmp/gst; done; }
G=/tmp/gst; SP=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH=$G/usr/lib/x86_64-linux-gnu:$G/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:$(ls -d $SP/nvidia/*/lib | tr '\n' ':')/usr/local/cuda/lib64
export GST_PLUGIN_SYSTEM_PATH=$G/usr/lib/x86_64-linux-gnu/gstreamer-1.0 GST_PLUGIN_SCANNER=$G/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner
export GST_REGISTRY=/tmp/gst-registry.bin PATH=$G/usr/bin:$PATH ORT_DYLIB_PATH=/tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1
gst-inspect-1.0 nvh264dec > /dev/null 2>&1
BIN=.device/bin/footrackd; CLIP=.device/clip1080.mp4
b() { local n=$1 t=$2; shift 2; printf '%s\n' "$@" > /tmp/b-$n.toml; echo "== $(date +%T) bench $n"; timeout -s KILL $t $BIN bench -c /tmp/b-$n.toml --input $CLIP --frames 300 --inference-runs 50 --json "$OUT/bench-$n.json" 2>&1 | grep -v "MQTT broker"; echo rc=$?; }
b cuda-cpupre 90 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_preprocess = false'
b gpu-mapped 45 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "mapped"'
b gpu-copy 30 '[source]' 'decoder = "nvdec"' '[infer]' 'providers = ["cuda", "cpu"]' 'gpu_input = "copy"'
echo "== $(date +%T) ort trace of a stuck run"; printf '[source]\ndecoder = "nvdec"\nrealtime = false\n[ring]\noverflow = "block"\n[infer]\nproviders = ["cuda", "cpu"]\n' > /tmp/run.toml
RUST_LOG=footrackd=debug timeout -s KILL 5 $BIN run -c /tmp/run.toml --input $CLIP --max-frames 20 2>&1 | grep -v -i "mqtt\|health\|GStreamer-WARNING\|^$" | tail -25
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
