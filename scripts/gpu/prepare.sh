#!/usr/bin/env bash
# Prepares everything the GPU machine needs (it has no Rust, GStreamer or network): a CUDA build
# of footrackd and its GPU tests, ONNX Runtime with the CUDA provider in 4 chunks (one per
# call, <= 49 MiB each), Debian's GStreamer with NVDEC as .deb files, a 1080p H.264 test clip and
# a raw test frame. Everything goes to .device/ (ignored by git). Then follow docs/gpu.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device/bin
cargo build --release --locked --features cuda
cargo test --release --locked --features cuda --test gpu --no-run 2>&1 | tee /tmp/gpu-test-build.log
test_bin=$(grep -o 'target/release/deps/gpu-[0-9a-f]*' /tmp/gpu-test-build.log | tail -n1)
strip -o .device/bin/footrackd target/release/footrackd
strip -o .device/bin/gpu-test "$test_bin"
[ -d .device/gst ] || scripts/gpu/pack-gst.sh .device/gst
if [ ! -f .device/ort-gpu/chunk3 ]; then
  scripts/gpu/pack-ort-gpu.sh .device/ort-gpu
  cat .device/ort-gpu/part0* > .device/ort-gpu/ort.tar.zst
  rm .device/ort-gpu/part0*
  (cd .device/ort-gpu && split -b 49m -d -a 1 ort.tar.zst chunk && rm ort.tar.zst)
fi
[ -f .device/clip1080.mp4 ] || {
  cargo build --release -p footrackd-synth && ./target/release/footrackd-synth --out /tmp/footrackd-clip1080 --seed 3 --seconds 12 --width 1920 --height 1080 --bitrate-kbps 5000
  cp /tmp/footrackd-clip1080/clip.mp4 .device/clip1080.mp4
}
[ -f .device/frame_1280x720.i420 ] || gst-launch-1.0 -q filesrc location=demo/clip.mp4 ! qtdemux ! h264parse ! avdec_h264 ! \
  videoconvert ! video/x-raw,format=I420 ! identity eos-after=31 ! multifilesink location=/tmp/footrackd-fr%03d.i420 && \
  cp /tmp/footrackd-fr030.i420 .device/frame_1280x720.i420
ls -la .device .device/bin .device/ort-gpu
