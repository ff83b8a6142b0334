#!/usr/bin/env bash
# What the HTTP face costs (docs/http.md): `/metrics` scrape time against a daemon running the
# demo clip as a live camera, and the frame rate with one MJPEG viewer against none and against
# the face off, each run offline (every frame processed, as fast as the machine goes) on the same
# clip and model, alternated ROUNDS times (default 2) so that drift hits every variant alike.
#   tools/measure/http.sh [CONFIG]      (default config/examples/demo.toml)
set -euo pipefail
cd "$(dirname "$0")/../.."
config=${1:-config/examples/demo.toml}
rounds=${ROUNDS:-2}
. tools/measure/common.sh
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
common=(FOOTRACKD_DEVICE__ID=measure FOOTRACKD_PUBLISH__BROKER_PORT="$BROKER_PORT" FOOTRACKD_SOURCE__URI="$PWD/demo/clip.mp4" FOOTRACKD_SOURCE__ID=cam)

echo "== /metrics scrape time (the clip as a live camera, 200 scrapes)"
env "${common[@]}" FOOTRACKD_HTTP__LISTEN="127.0.0.1:$port" FOOTRACKD_SOURCE__REALTIME=true \
  "$bin" run -c "$config" > /dev/null 2> "$work/live.txt" &
daemon=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health" > /dev/null && break; sleep 0.2; done
for _ in $(seq 200); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"; done > "$work/scrapes.txt"
curl -s "http://127.0.0.1:$port/metrics" | wc -c | xargs echo "bytes per scrape:"
kill -INT $daemon; wait $daemon || true
python3 - "$work/scrapes.txt" <<'PY'
import sys
t = sorted(float(l) * 1000 for l in open(sys.argv[1]))
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
print(f"scrape ms: p50 {q(0.5):.2f} p99 {q(0.99):.2f} max {t[-1]:.2f} (curl time_total, new connection each)")
PY

fps_of() { grep -o 'after the first 10 frames: [0-9.]* fps' "$1" | grep -o '[0-9.]* fps' | cut -d' ' -f1; }
run_offline() { # $1 variant: off | face | viewer
  local out="$work/$1.txt" viewer=""
  local extra=()
  [ "$1" != off ] && extra=(FOOTRACKD_HTTP__LISTEN="127.0.0.1:$port")
  # CPU seconds of the whole run (user + system, every thread) through getrusage of the child.
  env "${common[@]}" "${extra[@]}" FOOTRACKD_SOURCE__REALTIME=false FOOTRACKD_RING__OVERFLOW=block \
    python3 -c 'import resource, subprocess, sys; subprocess.run(sys.argv[1:]); r = resource.getrusage(resource.RUSAGE_CHILDREN); print(f"cpu_secs {r.ru_utime + r.ru_stime:.2f}")' \
    "$bin" run -c "$config" > "$out" 2>&1 &
  local daemon=$!
  if [ "$1" = viewer ]; then
    for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/api/cam/latest.jpg" && break; sleep 0.1; done
    curl -sN "http://127.0.0.1:$port/api/cam/mjpeg" -o "$work/stream.bin" &
    viewer=$!
  fi
  wait $daemon
  [ -n "$viewer" ] && { kill $viewer 2>/dev/null || true; wait $viewer 2>/dev/null || true; }
  echo "$(fps_of "$out") $(grep -o 'cpu_secs [0-9.]*' "$out" | cut -d' ' -f2)"
}
echo "== offline, every frame of the clip: fps after the first 10 frames, CPU seconds of the run"
for r in $(seq "$rounds"); do
  off=$(run_offline off); face=$(run_offline face); viewer=$(run_offline viewer)
  parts=$(grep -c -a -- '--footrackdframe' "$work/stream.bin" || true)
  python3 -c "import sys; o,oc,f,fc,v,vc=map(float,sys.argv[1:7]); print(f'round $r: face off {o:.2f} fps {oc:.1f} cpu-s; face on {f:.2f} fps ({f/o:.3f}x) {fc:.1f} cpu-s ({fc/oc:.3f}x); one MJPEG viewer {v:.2f} fps ({v/f:.3f}x of on) {vc:.1f} cpu-s ({vc/fc:.3f}x of on); the viewer got $parts pictures')" $off $face $viewer
done
