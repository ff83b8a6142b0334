#!/usr/bin/env bash
# GPU machine, after scripts/gpu/batched-bench.sh's unpacking (or with its five-call set-up):
# the multi-stream figure, N copies of the 1080p clip through one batched detector, 4x3 tiles.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cp .device/ort-gpu/part04 /tmp/og/ 2>/dev/null
[ -f /tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1 ] || (cd /tmp/og && cat part0* | ./zstd -d --long=27 | tar xf -)
[ -d /tmp/gst/usr ] || { mkdir -p /tmp/gst && for f in /tmp/gstdeb/*.deb; do dpkg -x "$f" /tmp/gst; done; }
G=/tmp/gst
SP=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH=$G/usr/lib/x86_64-linux-gnu:$G/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:$(ls -d $SP/nvidia/*/lib | tr '\n' ':')/usr/local/cuda/lib64
export GST_PLUGIN_SYSTEM_PATH=$G/usr/lib/x86_64-linux-gnu/gstreamer-1.0
export GST_PLUGIN_SCANNER=$G/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner
export GST_REGISTRY=/tmp/gst-registry.bin PATH=$G/usr/bin:$PATH
export ORT_DYLIB_PATH=/tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1
printf '[source]\ndecoder = "nvdec"\n[infer]\nproviders = ["cuda", "cpu"]\ntile_columns = 4\ntile_rows = 3\nfull_frame = false\n' > /tmp/gpu4x3.toml
for n in ${STREAMS:-4 8}; do
  echo "=== footrackd bench 4x3 --streams $n"
  timeout 240 .device/bin/footrackd bench -c /tmp/gpu4x3.toml --input /tmp/clip1080.mp4 --frames 300 --inference-runs 20 --streams $n \
    --json "$OUT/bench-4x3-streams$n.json" 2>&1 | grep -vE "MQTT broker|XDG|GStreamer-WARNING|^$|gst-plugin-scanner"
done
