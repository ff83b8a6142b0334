#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/fuzz_targets: config files, remote config payloads, homography
# fits) for a bounded time from the seeds in fuzz/seeds, and prints the executions and any crash.
# Needs a nightly toolchain and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo +nightly install cargo-fuzz`). Scratch corpora and crash files go to a temporary folder.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
scratch="$(mktemp -d)"
status=0
for target in config_text remote_config homography; do
  mkdir -p "$scratch/$target"
  log="$scratch/$target.log"
  if (cd fuzz && cargo +nightly fuzz run -O "$target" "$scratch/$target" "seeds/$target" -- \
        -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$scratch/$target-" >"$log" 2>&1); then
    result="no crash"
  else
    result="CRASH (see $log and $scratch/$target-*)"
    status=1
  fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  corpus="$(ls "$scratch/$target" | wc -l)"
  printf '%-14s %4s s  %10s executions  %5s corpus entries  %s\n' "$target" "$secs" "$execs" "$corpus" "$result"
done
[ "$status" = 0 ] && rm -rf "$scratch"
exit "$status"
