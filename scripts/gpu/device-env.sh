# Sourced by the scripts/gpu/device-*.sh scripts on the GPU machine: unpacks ONNX Runtime (from the
# chunks already copied to /tmp/og) and the carried GStreamer, and exports their paths.
if [ ! -f /tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1 ]; then
  cp .device/ort-gpu/zstd /tmp/og/ 2>/dev/null
  (cd /tmp/og && cat chunk* | ./zstd -d --long=27 | tar xf -)
fi
[ -d /tmp/gst/usr ] || { mkdir -p /tmp/gst && for f in .device/gst/*.deb; do dpkg -x "$f" /tmp/gst; done; }
G=/tmp/gst
SP=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH=$G/usr/lib/x86_64-linux-gnu:$G/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:$(ls -d $SP/nvidia/*/lib | tr '\n' ':')/usr/local/cuda/lib64
export GST_PLUGIN_SYSTEM_PATH=$G/usr/lib/x86_64-linux-gnu/gstreamer-1.0
export GST_PLUGIN_SCANNER=$G/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner
export GST_REGISTRY=/tmp/gst-registry.bin PATH=$G/usr/bin:$PATH
export ORT_DYLIB_PATH=/tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1
BIN=.device/bin/footrackd
CLIP=.device/clip1080.mp4
