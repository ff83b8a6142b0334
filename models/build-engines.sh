#!/usr/bin/env bash
# Builds TensorRT engines for footrackd's native TensorRT backend, ON THE TARGET (engines are
# specific to the GPU and the TensorRT version): FP16 always, INT8 when given calibration frames.
#   models/build-engines.sh [MODEL.onnx] [CALIBRATION_FRAMES_DIR]
# Writes MODEL.fp16.engine (+ .toml manifest) and, with frames, MODEL.int8.engine (+ .toml) beside
# the model. Each manifest records the TensorRT version; footrackd refuses an engine from another.
# Needs trtexec (JetPack: /usr/src/tensorrt/bin/trtexec) and, for INT8, TensorRT's Python bindings.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/yolox_nano.onnx}
FRAMES=${2:-}
TRTEXEC=$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)
[ -x "$TRTEXEC" ] || { echo "trtexec not found (install TensorRT / JetPack)" >&2; exit 1; }
VERSION=$(python3 -c 'import tensorrt; print(tensorrt.__version__)' 2>/dev/null || "$TRTEXEC" --version 2>/dev/null | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -1)
[ -n "$VERSION" ] || { echo "cannot tell the TensorRT version" >&2; exit 1; }
base=${MODEL%.onnx}
manifest=${base}.toml

write_manifest() { # precision engine
  { grep -v -E '^(sha256|precision|tensorrt_version) *=' "$manifest"
    echo "precision = \"$1\""
    echo "tensorrt_version = \"$VERSION\""
  } > "${2%.engine}.toml"
}

"$TRTEXEC" --onnx="$MODEL" --saveEngine="$base.fp16.engine" --fp16 --skipInference
write_manifest fp16 "$base.fp16.engine"
echo "built $base.fp16.engine (TensorRT $VERSION)"

if [ -n "$FRAMES" ]; then
  python3 tools/int8_calibrate.py --onnx "$MODEL" --manifest "$manifest" --frames "$FRAMES" --cache "$base.int8.cache"
  "$TRTEXEC" --onnx="$MODEL" --saveEngine="$base.int8.engine" --int8 --fp16 --calib="$base.int8.cache" --skipInference
  write_manifest int8 "$base.int8.engine"
  echo "built $base.int8.engine (TensorRT $VERSION, calibrated on $FRAMES)"
fi
