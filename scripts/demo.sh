#!/usr/bin/env bash
# Runs the demo on a fresh machine: installs what is missing, builds, starts a mosquitto of its
# own on a free port, runs footrackd on a clip, and prints a few of the track messages.
#   scripts/demo.sh [CLIP]      (default: the bundled demo clip, else a clip under ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n1)}"
cargo build --release --locked

clip="${1:-}"
if [ -z "$clip" ]; then
  for c in demo/clip.mp4 ../shared/data/video-broadcast-laliga-sports_analysis/soccer.mp4; do
    if [ -f "$c" ]; then clip="$c"; break; fi
  done
fi
if [ -z "$clip" ] || [ ! -f "$clip" ]; then
  echo "demo: no clip found; pass one: scripts/demo.sh path/to/clip.mp4" >&2
  exit 2
fi

work="$(mktemp -d)"
. scripts/lib/broker.sh
start_broker "$work"
port=$BROKER_PORT

mosquitto_sub -p "$port" -t 'footrack/demo/#' -v > "$work/messages.txt" &
sub=$!
sleep 0.3
echo "demo: broker on port $port; running footrackd on $clip"
FOOTRACKD_PUBLISH__BROKER_PORT="$port" FOOTRACKD_SOURCE__URI="$clip" \
  "${CARGO_TARGET_DIR:-target}/release/footrackd" run -c config/examples/demo.toml ${FOOTRACKD_DEMO_ARGS:-}
sleep 0.5
kill $sub 2>/dev/null || true
echo
echo "demo: $(grep -c '/tracks ' "$work/messages.txt") track messages; status messages:"
grep '/status ' "$work/messages.txt" || true
echo "demo: three track messages (footrack/demo/tracks):"
grep '/tracks ' "$work/messages.txt" | awk 'NR==10||NR==100||NR==200' | cut -c1-600
