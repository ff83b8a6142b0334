#!/usr/bin/env bash
# Installs everything footrackd needs to build, test and run its demo on Debian 12 / Ubuntu 22.04+.
# Idempotent: each step is skipped when already satisfied. Run as root or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# chromium: the tests render the HTTP face's status page in it (headless).
APT_PACKAGES=(
  build-essential pkg-config ca-certificates curl python3 python3-venv
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
  libclang-dev mosquitto mosquitto-clients openssl
  python3-gi gir1.2-gst-rtsp-server-1.0
  chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime: Debian ships none; the PyPI wheel carries libonnxruntime.so. Installed into a
# project-local venv so the system Python stays untouched. `scripts/env.sh` exports ORT_DYLIB_PATH.
ORT_VERSION="${FOOTRACKD_ORT_VERSION:-1.32.0}"
VENV=".venv"
# A venv left half-made by an interrupted run (no pip in it) is made again.
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import onnxruntime" 2>/dev/null; then
  echo "setup: installing onnxruntime==$ORT_VERSION into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust 1.95 (rustup) first" >&2
  exit 1
fi
if ! cargo clippy --version >/dev/null 2>&1; then
  echo "setup: adding clippy (the test command lints with it)"
  rustup component add clippy
fi
if ! cargo fmt --version >/dev/null 2>&1; then
  echo "setup: adding rustfmt (the test command checks the format)"
  rustup component add rustfmt
fi
echo "setup: done"
