#!/usr/bin/env bash
# Issue 22 on the GPU machine (after the bundle is unpacked, see docs/gpu.md): the shipped default
# (football model 1280x736 on the whole frame, NVDEC, frames in GPU memory, teams on) on the 1080p
# clip with one and two frames in flight, in two rounds; two in flight with IoBinding and a CUDA
# graph; the FP16 model's time, and its accuracy against FP32 with `footrackd detect` on both valid
# splits (de-stretched here from .device/valid-raw); then (PART=streams) `--streams 8/16/24/32`
# and the GPU tests; (PART=pixels) the finishing thread's stages with each pixel feature off, and
# the GPU memory of 8-32 streams while they are open. Results: $OUT/results-$PART.txt and the bench JSON.
set -uo pipefail
PART=${PART:-engine}
. scripts/gpu/results.sh results-$PART.txt
CLIP=.device/clip1080.mp4
FRAMES=${FRAMES:-300}
M=$PWD/models
printf '[source]\ndecoder = "nvdec"\n[infer]\nmodel = "%s/football_nano_1280x736.onnx"\nball_focus_model = "%s/football_nano_320.onnx"\nproviders = ["cuda", "cpu"]\n' "$M" "$M" > /tmp/default.toml
bench() { # name [env...]
  local name=$1; shift
  say "footrackd bench $name $*"
  env "$@" timeout ${LIMIT:-90} $BIN bench -c /tmp/default.toml --input $CLIP --frames $FRAMES --inference-runs 50 ${STREAMS_ARG:-} \
    --json "$OUT/bench-$name.json" > "$OUT/bench-$name.log" 2>&1
  echo "rc=$?"
  grep -vE "MQTT broker unreachable|XDG_RUNTIME" "$OUT/bench-$name.log" | grep -E "^(limit|end-to-end|per frame|streams|latency|error)|panick|GPU memory" | tail -6
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('gpu_memory_used_mb', r.get('gpu_memory_used_mb'), [ (g.get('memory_used_mb'), g.get('utilisation_pct')) for g in r.get('gpus', [])])" "$OUT/bench-$name.json" 2>/dev/null
}
OFF=FOOTRACKD_INFER__BALL_FOCUS_REGIONS=0 ONE=FOOTRACKD_INFER__FRAMES_IN_FLIGHT=1 TWO=FOOTRACKD_INFER__FRAMES_IN_FLIGHT=2
IOB=FOOTRACKD_INFER__IO_BINDING=true GRAPH=FOOTRACKD_INFER__CUDA_GRAPH=true
FP16=FOOTRACKD_INFER__MODEL=$M/football_nano_1280x736_fp16.onnx
if [ "$PART" = engine ]; then
  say "machine"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  for round in 1 2; do
    bench one-$round $OFF $ONE
    bench two-$round $OFF $TWO
    bench two-graph-$round $OFF $TWO $IOB $GRAPH
    bench fp16-two-$round $OFF $TWO $FP16
  done
  bench default-one $ONE
  bench default-two $TWO
  bench fp16-default-two $TWO $FP16
  say "accuracy: FP32 and FP16 on the GPU, both valid splits at 1920x1080"
  for set in players ball; do
    python3 tools/train/prepare_data.py --data .device/valid-raw/$set --out /tmp/$set-1080 --splits valid --width 1920 --height 1080
  done
  for model in football_nano_1280x736 football_nano_1280x736_fp16; do
    printf '[source]\nuri = "/dev/null"\n[infer]\nscore_threshold = 0.05\nproviders = ["cuda", "cpu"]\nmodel = "%s/%s.onnx"\nball_focus_model = "%s/football_nano_320.onnx"\n' "$M" $model "$M" > /tmp/eval.toml
    for set in players ball; do
      timeout 120 $BIN detect -c /tmp/eval.toml /tmp/$set-1080/valid/images/*.jpg --out $OUT/det-$model-$set.jsonl 2> $OUT/det-$model-$set.log
      echo "== $model on $set (rc $?)"
      python3 tools/train/evaluate.py --ball-iou 0.3 --labels /tmp/$set-1080/valid/labels $OUT/det-$model-$set.jsonl --json $OUT/eval-$model-$set.json | sed -n 1,9p
    done
  done
elif [ "$PART" = pixels ]; then
  # What the finishing thread's 3.6 ms are: the host copy's wait (host_copy) and each feature.
  NOAUTO=FOOTRACKD_PITCH__AUTO_CALIBRATE=false NOTEAMS=FOOTRACKD_TRACK__TEAMS=false
  for round in 1 2; do
    bench px-all-$round $OFF
    bench px-noauto-$round $OFF $NOAUTO
    bench px-noteams-$round $OFF $NOTEAMS
    bench px-none-$round $OFF $NOAUTO $NOTEAMS
  done
  for n in 8 16 24 32; do
    STREAMS_ARG="--streams $n" LIMIT=240 FRAMES=150 bench mem-streams$n $OFF
  done
else
  for n in 8 16 24 32; do
    STREAMS_ARG="--streams $n" LIMIT=240 bench streams$n $OFF
  done
  STREAMS_ARG="--streams 32" LIMIT=240 bench streams32-fp16 $OFF $FP16
  say "GPU tests (--ignored: they need the GPU)"
  timeout 150 .device/bin/gpu-test --ignored --test-threads 1 2>&1 | grep -E "^test |test result" | tail -14
fi
say "done"
