#!/usr/bin/env bash
# Several cameras on this machine's CPU (issue 23): the demo clip at its own 25 fps (realtime,
# drop_oldest: as live cameras) with the shipped defaults, as one camera alone, N cameras (2) in
# one daemon (a detector per camera, then one shared), and N separate daemons at once, back to back in one run. Per camera: frames
# processed per second and capture-to-publish latency after warm-up (the run summary); per run:
# the highest resident memory of each process. No broker is needed (messages wait and are dropped).
#   scripts/cameras-cpu-bench.sh [N] > docs/cpu-runs/<date>-cameras/results.txt
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-2}
BIN=${BIN:-target/release/footrackd}
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n1)}"
T=$(mktemp -d)
head_toml() { printf '[device]\nid = "%s"\n[infer]\ndetector_sharing = "%s"\n[publish]\nbroker_port = 9\n' "$1" "${2:-auto}"; }
source_toml() { printf '[%s]\nid = "%s"\nuri = "%s/demo/clip.mp4"\nrealtime = true\n' "$2" "$1" "$PWD"; }
report() { grep -E "^camera |^throughput|^after the first|Maximum resident" "$1" | sed "s/^/  [$2] /"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "== one camera alone"
{ head_toml alone; source_toml cam0 source; } > $T/alone.toml
/usr/bin/time -v $BIN run -c $T/alone.toml --no-env > $T/alone.log 2>&1
report $T/alone.log alone
for sharing in per_camera shared; do
  echo "== $N cameras in one daemon, detector_sharing = $sharing"
  { head_toml one $sharing; for i in $(seq 0 $((N-1))); do source_toml cam$i '[source]'; done; } > $T/one.toml
  /usr/bin/time -v $BIN run -c $T/one.toml --no-env > $T/one.log 2>&1
  report $T/one.log one-daemon-$sharing
done
echo "== $N separate daemons"
for i in $(seq 0 $((N-1))); do
  { head_toml sep$i; source_toml cam$i source; } > $T/sep$i.toml
  /usr/bin/time -v $BIN run -c $T/sep$i.toml --no-env > $T/sep$i.log 2>&1 &
done
wait
for i in $(seq 0 $((N-1))); do report $T/sep$i.log sep$i; done
rm -rf "$T"
