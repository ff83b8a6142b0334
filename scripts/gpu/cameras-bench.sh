#!/usr/bin/env bash
# Issue 23 on the GPU machine (after the bundle is unpacked, see docs/gpu.md): N cameras (8) of the
# 1080p clip at its own 25 fps (realtime, drop_oldest: as live cameras) in one daemon, against N
# separate daemons of one camera each and one camera alone, all in this call. Shipped defaults
# (football model 1280x736, ball second look, teams, auto calibration), NVDEC, CUDA. Per camera:
# processed fps and capture-to-publish latency after warm-up (the run summary); GPU memory: the
# highest nvidia-smi reading while they run (every process together). Results in
# $OUT/results-cameras.txt and the logs. SKIP_BASELINES=1: the daemon variants only; SKIP_ALONE=1:
# without the one-camera run; SKIP_SEPARATE=1: without the separate daemons.
set -uo pipefail
. scripts/gpu/results.sh results-cameras.txt
CLIP=$PWD/.device/clip1080.mp4
M=$PWD/models
N=${CAMERAS:-8}
head_toml() { # device id
  printf '[device]\nid = "%s"\n[infer]\nmodel = "%s/football_nano_1280x736.onnx"\nball_focus_model = "%s/football_nano_320.onnx"\nproviders = ["cuda", "cpu"]\n[publish]\nbroker_port = 9\n' "$1" "$M" "$M"
}
source_toml() { # id [array]
  printf '[%s]\nid = "%s"\nuri = "%s"\ndecoder = "nvdec"\nrealtime = true\n' "$2" "$1" "$CLIP"
}
gpu_mem() { # sample every 0.25 s into $1 until killed
  while true; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits >> "$1"; sleep 0.25; done
}
report() { # log label
  local log=$1 label=$2
  grep -E "^camera |^throughput|^after the first|^frames:" "$log" | sed "s/^/  [$label] /"
}
run_measured() { # label command...
  local label=$1; shift
  rm -f /tmp/mem-$label
  gpu_mem /tmp/mem-$label & local sampler=$!
  "$@"
  kill $sampler 2>/dev/null
  echo "  [$label] GPU memory used, highest reading: $(sort -n /tmp/mem-$label | tail -1) MiB (before: $(head -1 /tmp/mem-$label) MiB)"
}
say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
nvidia-smi --query-gpu=memory.used --format=csv,noheader

if [ -z "${SKIP_BASELINES:-}${SKIP_ALONE:-}" ]; then
say "one camera alone"
{ head_toml alone; source_toml cam0 source; } > /tmp/alone.toml
run_measured alone timeout 60 $BIN run -c /tmp/alone.toml --no-env > $OUT/cameras-alone.log 2>&1
report $OUT/cameras-alone.log alone
fi

{ head_toml one; for i in $(seq 0 $((N-1))); do source_toml cam$i '[source]'; done; } > /tmp/one.toml
scrape() { # label: the HTTP face 6 s into the run (issue 24 on a GPU): 20 scrapes of /metrics over
  # raw sockets (time to the last byte, new connection each), then the status and a picture.
  sleep 6
  python3 - "$OUT" "$1" <<'PY' 2>&1 | sed "s/^/  [$1] /"
import socket, sys, time, urllib.request as u
out, label = sys.argv[1], sys.argv[2]
times, body = [], b""
for _ in range(20):
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", 8480))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    body = b""
    while chunk := s.recv(65536):
        body += chunk
    times.append((time.perf_counter() - t) * 1000)
    s.close()
    time.sleep(0.05)
times.sort()
print(f"HTTP /metrics {len(body)} bytes: p50 {times[10]:.2f} ms, max {times[-1]:.2f} ms (20 scrapes)")
open(f"{out}/metrics-{label}.txt", "wb").write(body)
open(f"{out}/status-{label}.json", "wb").write(u.urlopen("http://127.0.0.1:8480/api/status", timeout=5).read())
open(f"{out}/latest-{label}.jpg", "wb").write(u.urlopen("http://127.0.0.1:8480/api/cam0/latest.jpg", timeout=5).read())
PY
}
one_daemon() { # label [VAR=value...]: the N cameras in one daemon, with environment overrides
  local label=$1; shift
  say "$N cameras in one daemon: $label $*"
  scrape $label &
  run_measured $label env FOOTRACKD_HTTP__LISTEN=127.0.0.1:8480 "$@" timeout 60 $BIN run -c /tmp/one.toml > $OUT/cameras-$label.log 2>&1
  report $OUT/cameras-$label.log $label
  grep -h "highest reading" $OUT/cameras-$label.log
  grep -E "^per frame" $OUT/cameras-$label.log | head -2 | sed "s/^/  [$label] /"
  grep -E "panicked|ERROR|warmed up|starting it again|Camera started" $OUT/cameras-$label.log | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-220 | head -24
  grep "Shared batch" $OUT/cameras-$label.log | sed 's/\x1b\[[0-9;]*m//g' | awk 'NR%40==1' | head -12 | cut -c1-200
}
# The shared detector's calls and the finder's, traced (per-call times in the log).
TRACE="FOOTRACKD_LOG__LEVEL=info,footrackd::app::shared_detector=trace,footrackd::infer::detector=trace"
finder_batch() { # frames: a copy of the ball finder whose manifest runs this many frames a call
  mkdir -p /tmp/finder-$1 && cp $M/ball_finder.onnx /tmp/finder-$1/
  sed "s/^max_batch = .*/max_batch = $1/" $M/ball_finder.toml > /tmp/finder-$1/ball_finder.toml
  echo /tmp/finder-$1/ball_finder.onnx
}
for v in ${VARIANTS:-default}; do
  case $v in
    # default-2, default-3: the same again (run-to-run spread).
    default|default-*) one_daemon $v "$TRACE" ;;
    # before, before-2: an earlier build, carried as .device/bin/footrackd-before (the same clip,
    # settings and lease: a change measured against what it replaces).
    before|before-*) BIN=$PWD/.device/bin/footrackd-before one_daemon $v "$TRACE" ;;
    # A call waits up to this many ms for every serving camera's frame (infer.shared_gather_ms, 0).
    gather-*) one_daemon $v FOOTRACKD_INFER__SHARED_GATHER_MS=${v#gather-} ;;
    # At most this many frames a model call, the shape held (infer.shared_call_frames, 0 = all).
    call-*) one_daemon $v FOOTRACKD_INFER__SHARED_CALL_FRAMES=${v#call-} "$TRACE" ;;
    # Each crop model's CPU threads per camera (infer.crop_threads, 1): the pixel stage's share.
    crop-threads-*) one_daemon $v FOOTRACKD_INFER__CROP_THREADS=${v#crop-threads-} "$TRACE" ;;
    # Both: call-4 with 4 crop threads.
    call-4-crop-4) one_daemon $v FOOTRACKD_INFER__SHARED_CALL_FRAMES=4 FOOTRACKD_INFER__CROP_THREADS=4 "$TRACE" ;;
    # The ball finder's frames per call (its manifest's max_batch, 1 as shipped): 4 and 8, say.
    finder-batch-*) one_daemon $v FOOTRACKD_INFER__BALL_FINDER_MODEL=$(finder_batch ${v#finder-batch-}) "$TRACE" ;;
    shared) one_daemon shared FOOTRACKD_INFER__DETECTOR_SHARING=shared "FOOTRACKD_LOG__LEVEL=info,footrackd::app::shared_detector=trace" ;;
    # Where the shared daemon's GPU memory goes: without the automatic calibration (a keypoint
    # model session per camera) and without the ball's second look (a second detector session).
    # A call waits up to GATHER ms (20) for every camera's frame (infer.shared_gather_ms).
    shared-gather) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=shared FOOTRACKD_INFER__SHARED_GATHER_MS=${GATHER:-20} "FOOTRACKD_LOG__LEVEL=info,footrackd::app::shared_detector=trace" ;;
    shared-no-finder) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=shared FOOTRACKD_INFER__SHARED_GATHER_MS=${GATHER:-20} FOOTRACKD_INFER__BALL_FINDER_MODEL= ;;
    per-camera-no-finder) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=per_camera FOOTRACKD_INFER__BALL_FINDER_MODEL= ;;
    shared-no-auto) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=shared FOOTRACKD_PITCH__AUTO_CALIBRATE=false ;;
    shared-no-focus) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=shared FOOTRACKD_INFER__BALL_FOCUS_REGIONS=0 ;;
    shared-host-frames) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=shared FOOTRACKD_SOURCE__GPU_FRAMES=false ;;
    shared-bare) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=shared FOOTRACKD_PITCH__AUTO_CALIBRATE=false FOOTRACKD_TRACK__TEAMS=false FOOTRACKD_INFER__BALL_FOCUS_REGIONS=0 ;;
    shared-one-in-flight) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=shared FOOTRACKD_INFER__FRAMES_IN_FLIGHT=1 ;;
    per-camera) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=per_camera ;;
    per-camera-own-ctx) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=per_camera FOOTRACKD_SOURCE__SHARE_CUDA_CONTEXT=false ;;
    shared-own-ctx) one_daemon $v FOOTRACKD_INFER__DETECTOR_SHARING=shared FOOTRACKD_SOURCE__SHARE_CUDA_CONTEXT=false "FOOTRACKD_LOG__LEVEL=info,footrackd::app::shared_detector=trace" ;;
  esac
done

[ -n "${SKIP_BASELINES:-}${SKIP_SEPARATE:-}" ] && { say "done"; exit 0; }
say "$N separate daemons, one camera each"
separate() {
  local pids=""
  for i in $(seq 0 $((N-1))); do
    { head_toml sep$i; source_toml cam$i source; } > /tmp/sep$i.toml
    timeout 60 $BIN run -c /tmp/sep$i.toml --no-env > $OUT/cameras-sep$i.log 2>&1 &
    pids="$pids $!"
  done
  wait $pids
}
run_measured separate separate
for i in $(seq 0 $((N-1))); do report $OUT/cameras-sep$i.log sep$i; done
say "done"
