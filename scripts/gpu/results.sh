# Sourced by the GPU-machine scripts: `. scripts/gpu/results.sh LOGNAME`. Everything printed also
# goes to $OUT/LOGNAME (OUT defaults to /tmp/out), `say` prints a timed heading, and ONNX Runtime,
# GStreamer and the clip are set up (scripts/gpu/device-env.sh).
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/$1") 2>&1
say() { printf '\n=== %s %s\n' "$(date +%T)" "$*"; }
. scripts/gpu/device-env.sh
CLIP=/tmp/clip1080.mp4
