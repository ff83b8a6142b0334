#!/usr/bin/env bash
# Issue 21 and 22 on the GPU machine (after scripts/gpu/device-env.sh's parts are in /tmp/og and the
# GStreamer .debs in .device/gst): the shipped default (football model 1280x736 on the whole frame,
# NVDEC, frames in GPU memory) on the 1080p clip with and without the ball's second look, then the
# same with infer.io_binding = true (input and output in device tensors of the session's own; a hang
# is diagnosed from /proc and gdb where present) and with infer.cuda_graph = true, in two rounds,
# and --streams 8 plain and bound. Results: $OUT/results.txt.
set -uo pipefail
. scripts/gpu/results.sh results.txt
CLIP=.device/clip1080.mp4
FRAMES=${FRAMES:-300}
say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
printf '[source]\ndecoder = "nvdec"\n[infer]\nmodel = "%s/models/football_nano_1280x736.onnx"\nball_focus_model = "%s/models/football_nano_320.onnx"\nproviders = ["cuda", "cpu"]\n' "$PWD" "$PWD" > /tmp/default.toml
bench() { # name [env...]
  local name=$1; shift
  say "footrackd bench $name $*"
  env "$@" $BIN bench -c /tmp/default.toml --input $CLIP --frames $FRAMES --inference-runs 50 ${STREAMS_ARG:-} \
    --json "$OUT/bench-$name.json" > "$OUT/bench-$name.log" 2>&1 &
  local pid=$! waited=0
  while kill -0 $pid 2>/dev/null && [ $waited -lt ${LIMIT:-90} ]; do sleep 1; waited=$((waited + 1)); done
  if kill -0 $pid 2>/dev/null; then
    echo "HUNG after ${waited}s: threads and where they wait"
    for t in /proc/$pid/task/*; do echo "$(cat $t/comm) $(cat $t/wchan 2>/dev/null) $(cut -d' ' -f1-3 $t/syscall 2>/dev/null)"; done | sort | uniq -c
    command -v gdb >/dev/null && timeout 60 gdb -p $pid -batch -ex "thread apply all bt 12" > "$OUT/hang-$name-gdb.txt" 2>&1
    kill -9 $pid
  fi
  wait $pid 2>/dev/null
  grep -vE "MQTT broker unreachable|XDG_RUNTIME" "$OUT/bench-$name.log" | grep -E "^(limit|end-to-end|per frame|streams|error)|panick" | tail -5
}
OFF=FOOTRACKD_INFER__BALL_FOCUS_REGIONS=0 IOB=FOOTRACKD_INFER__IO_BINDING=true GRAPH=FOOTRACKD_INFER__CUDA_GRAPH=true
for round in 1 2; do
  bench plain-$round $OFF
  LIMIT=60 bench iobinding-$round $OFF $IOB
  LIMIT=60 bench cudagraph-$round $OFF $IOB $GRAPH
done
bench default-focus
LIMIT=60 bench iobinding-focus $IOB
LIMIT=60 bench cudagraph-focus $IOB $GRAPH
STREAMS_ARG="--streams 8" LIMIT=150 bench streams8-plain $OFF
STREAMS_ARG="--streams 8" LIMIT=150 bench streams8-iobinding $OFF $IOB
say "GPU tests (--ignored: they need the GPU)"
timeout 120 .device/bin/gpu-test --ignored --test-threads 1 2>&1 | grep -E "^test |test result" | tail -12
say "done"
