#!/usr/bin/env bash
# Second lease of a session (the bundle already unpacked as in engine-bench.sh): the GPU tests,
# latency at a live camera's rate (`bench --live`, 4x3), and the shared-versus-own CUDA context
# A/B repeated in alternation (the machine is noisy between runs).
set -uo pipefail
. scripts/gpu/results.sh verify.txt
say "GPU tests (--ignored)"
timeout 90 .device/bin/gpu-test --ignored --test-threads 1 --nocapture 2>&1 | grep -E "^test |test result|found|difference|panicked" | tail -8
printf '[source]\ndecoder = "nvdec"\n[infer]\nmodel = "%s/models/yolox_nano.onnx"\nproviders = ["cuda", "cpu"]\ntile_columns = 4\ntile_rows = 3\nfull_frame = false\n' "$PWD" > /tmp/gpu.toml
run() { # name [env...] [-- bench args]
  local name=$1; shift
  say "bench $name $*"
  env "$@" timeout 100 $BIN bench -c /tmp/gpu.toml --input $CLIP --frames 300 --inference-runs 50 --json "$OUT/v-$name.json" ${LIVE:-} 2>&1 \
    | grep -vE "MQTT broker unreachable|XDG_RUNTIME" | grep -E "^(limit|end-to-end|per frame|latency)" | tail -5
}
LIVE=--live run 4x3-live FOOTRACKD_SOURCE__SHARE_CUDA_CONTEXT=true
for i in 1 2; do
  run "4x3-shared-$i" FOOTRACKD_SOURCE__SHARE_CUDA_CONTEXT=true
  run "4x3-own-$i" FOOTRACKD_SOURCE__SHARE_CUDA_CONTEXT=false
done
say done
