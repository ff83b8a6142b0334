#!/usr/bin/env bash
# footrackd against the peer (../shared/peer/ref_pipeline.py: OpenCV, ONNX Runtime, supervision
# ByteTrack, paho) on the same clip, model and tiling, in one go, with one mosquitto for both.
# Prints one line per tiling and the ratios; the JSON reports go to $OUT_DIR (default bench-out/).
#   scripts/bench-peer.sh [CLIP] [TILINGS]     e.g. scripts/bench-peer.sh clip.mp4 "whole 2x2 4x3"
# Environment: FRAMES (default 300), PROVIDERS (footrackd, default cpu; peer: CPU or CUDA,CPU),
# FOOTRACKD (binary, default target/release/footrackd), PEER_PYTHON (default .venv-peer/bin/python),
# MODEL (footrackd's, default models/yolox_nano.onnx: the peer's YOLOX-Nano with a dynamic batch),
# PEER_MODEL (default the original YOLOX-Nano in ../shared/data/model-yolox-nano).
set -euo pipefail
cd "$(dirname "$0")/.."
clip="${1:-demo/clip.mp4}"
tilings="${2:-whole 2x2 4x3}"
frames="${FRAMES:-300}"
providers="${PROVIDERS:-cpu}"
bin="${FOOTRACKD:-${CARGO_TARGET_DIR:-target}/release/footrackd}"
peer_dir="${PEER_DIR:-../shared/peer}"
out_dir="${OUT_DIR:-bench-out}"
mkdir -p "$out_dir"
py="${PEER_PYTHON:-}"
if [ -z "$py" ]; then
  if [ ! -x .venv-peer/bin/python ]; then
    python3 -m venv .venv-peer
    .venv-peer/bin/pip install -q --disable-pip-version-check -r "$peer_dir/requirements.txt"
  fi
  py=.venv-peer/bin/python
fi
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n1)}"
[ -x "$bin" ] || cargo build --release --locked

work="$(mktemp -d)"
. scripts/lib/broker.sh
start_broker "$work"
port=$BROKER_PORT

peer_providers=CPU
[ "$providers" = cpu ] || peer_providers=CUDA,CPU
for t in $tilings; do
  if [ "$t" = whole ]; then cols=1; rows=1; full=false; else cols="${t%x*}"; rows="${t#*x}"; full=false; fi
  "$py" "$peer_dir/ref_pipeline.py" --clip "$clip" --model "${PEER_MODEL:-../shared/data/model-yolox-nano/yolox_nano.onnx}" --tiles "$t" \
    --providers "$peer_providers" --max-frames "$frames" --mqtt-port "$port" > "$out_dir/peer-$t.json"
  FOOTRACKD_PUBLISH__BROKER_PORT="$port" FOOTRACKD_INFER__TILE_COLUMNS="$cols" FOOTRACKD_INFER__TILE_ROWS="$rows" \
  FOOTRACKD_INFER__FULL_FRAME="$full" FOOTRACKD_INFER__PROVIDERS="$providers" FOOTRACKD_INFER__MODEL="${MODEL:-models/yolox_nano.onnx}" \
    "$bin" bench -c config/examples/demo.toml --input "$clip" --frames "$frames" --json "$out_dir/footrackd-$t.json" > "$out_dir/footrackd-$t.txt"
  python3 - "$t" "$out_dir/peer-$t.json" "$out_dir/footrackd-$t.json" <<'PY'
import json, sys
t, peer, ours = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
e2e = ours.get("end_to_end_steady_fps") or ours["end_to_end_fps"]
print(f"{t:>5}: footrackd {e2e:7.1f} fps end to end (detector-only {ours['detector_only_fps']:.1f}, "
      f"end-to-end / detector-only {e2e / ours['detector_only_fps']:.2f}; physical limit {ours['physical_limit_fps']:.1f}); "
      f"peer {peer['fps']:7.1f} fps; footrackd / peer = {e2e / peer['fps']:.2f}")
PY
done
