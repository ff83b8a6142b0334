# Sourced on the GPU machine: unpacks ONNX Runtime with its CUDA provider (from the parts already
# copied to /tmp/og: part0* from ../shared/device/pack-ort-gpu.sh, or the older chunk* files), the
# carried GStreamer (.debs in .device/gst or /tmp/gstdeb), and exports their paths.
cp .device/ort-gpu/zstd /tmp/og/ 2>/dev/null
cp .device/ort-gpu/part04 /tmp/og/ 2>/dev/null
if [ ! -f /tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1 ]; then
  (cd /tmp/og && cat $(ls part0* 2>/dev/null || ls chunk*) | ./zstd -d --long=27 | tar xf -)
fi
if [ ! -d /tmp/gst/usr ]; then
  mkdir -p /tmp/gst
  for f in $(ls .device/gst/*.deb 2>/dev/null || ls /tmp/gstdeb/*.deb); do dpkg -x "$f" /tmp/gst; done
fi
G=/tmp/gst
SP=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH=$G/usr/lib/x86_64-linux-gnu:$G/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:$(ls -d $SP/nvidia/*/lib | tr '\n' ':')/usr/local/cuda/lib64
export GST_PLUGIN_SYSTEM_PATH=$G/usr/lib/x86_64-linux-gnu/gstreamer-1.0
export GST_PLUGIN_SCANNER=$G/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner
export GST_REGISTRY=/tmp/gst-registry.bin PATH=$G/usr/bin:$PATH
export ORT_DYLIB_PATH=/tmp/og/onnxruntime/capi/libonnxruntime.so.1.31.1
# The 1080p NVDEC + CUDA, 4x3-tile configuration the measurement scripts share.
printf '[source]\ndecoder = "nvdec"\n[infer]\nproviders = ["cuda", "cpu"]\ntile_columns = 4\ntile_rows = 3\nfull_frame = false\n' > /tmp/gpu4x3.toml
BIN=.device/bin/footrackd
CLIP=${CLIP:-.device/clip1080.mp4}
