#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what is missing (scripts/setup.sh),
# checks the format (rustfmt), lints (clippy, warnings denied), builds the workspace (the appliance and the lab tool), and runs
# every test. The tests start their own mosquitto on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n1)}"
# One format for the tree (rustfmt.toml): a change that is not formatted fails here.
cargo fmt --all --check
cargo clippy --release --locked --workspace --all-targets -- -D warnings
cargo test --release --locked --workspace "$@"
# Jetson: the aarch64 build (Debian multiarch, no Docker), its glibc needs checked against
# JetPack 6, its Debian package checked, and its portable tests run under qemu-user.
if [ "$#" -eq 0 ]; then
  set +e
  bash cross/build-aarch64.sh --check --test
  rc=$?
  set -e
  if [ "$rc" = 3 ]; then
    echo "WARNING: aarch64 not built: its Rust standard library could not be installed here" >&2
  elif [ "$rc" != 0 ]; then
    exit "$rc"
  fi
fi
