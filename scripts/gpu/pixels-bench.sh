#!/usr/bin/env bash
# Runs on the GPU machine (issue 20): the shipped defaults on a real 1080p broadcast clip with
# frames kept in GPU memory, with the pixel features (teams, automatic calibration, the annotated
# video, snapshots) and without them, and with frames on the host; each twice, interleaved, so
# every ratio is of runs made minutes apart on one card. Then the keypoint model on the GPU
# (`calibrate` on the valid frames). Results: $OUT/pixels.txt.
set -uo pipefail
. scripts/gpu/results.sh pixels.txt
CLIP=/tmp/laliga.mp4  # carried in an earlier call (docs/gpu.md)
# GStreamer debs added since the machine unpacked the rest (x264enc for the annotated video).
for f in .device/gst/*ugly*.deb .device/gst/libx264*.deb; do dpkg -x "$f" /tmp/gst; done
rm -f /tmp/gst-registry.bin
say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# The shipped config, models by absolute path; every frame processed (offline file: the ring blocks).
$BIN generate-config > /tmp/shipped.toml
run() { # name [env...]
  local name=$1; shift
  say "run $name $*"
  rm -rf /tmp/snap && mkdir -p /tmp/snap
  env FOOTRACKD_SOURCE__URI=$CLIP FOOTRACKD_SOURCE__REALTIME=false FOOTRACKD_RING__OVERFLOW=block "$@" \
    timeout 120 $BIN run -c /tmp/shipped.toml ${ARGS:-} 2>&1 | grep -vE "MQTT broker unreachable|XDG_RUNTIME|Connection refused" \
    | grep -E "frames:|throughput|per frame|game state|Annotated|GPU memory|page-locked|keypoint|Pitch|WARN|ERROR|error" | tail -12
  echo "snapshots written: $(ls /tmp/snap | wc -l)"
}
FEATURES=(FOOTRACKD_PUBLISH__SNAPSHOT_EVERY_SECS=2 FOOTRACKD_PUBLISH__SNAPSHOT_PATH=/tmp/snap/s.jpg)
BARE=(FOOTRACKD_TRACK__TEAMS=false FOOTRACKD_PITCH__AUTO_CALIBRATE=false)
for round in ${ROUNDS:-1 2}; do
  run "gpu-frames-no-pixel-features-$round" "${BARE[@]}"
  run "gpu-frames-defaults-$round"
  run "gpu-frames-teams-only-$round" FOOTRACKD_PITCH__AUTO_CALIBRATE=false
  run "gpu-frames-calibration-only-$round" FOOTRACKD_TRACK__TEAMS=false
  run "gpu-frames-keypoints-every-30-$round" FOOTRACKD_PITCH__KEYPOINT_EVERY_FRAMES=30
  ARGS="--annotate /tmp/annotated.mp4" run "gpu-frames-all-features-$round" "${FEATURES[@]}"
  ARGS="--annotate /tmp/annotated.mp4" run "host-frames-all-features-$round" FOOTRACKD_SOURCE__GPU_FRAMES=false "${FEATURES[@]}"
done
say "keypoint model on the GPU: calibrate on the 33 valid frames"
printf '[infer]\nproviders = ["cuda", "cpu"]\n' > /tmp/kp.toml
timeout 120 $BIN calibrate -c /tmp/kp.toml /tmp/kp-valid/*.jpg --out $OUT/valid-gpu.jsonl 2>&1 | tail -3
timeout 120 $BIN calibrate -c /tmp/kp.toml /tmp/kp-valid/*.jpg --out $OUT/valid-gpu.jsonl 2>&1 | tail -1
say "done"
