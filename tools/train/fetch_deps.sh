#!/usr/bin/env bash
# Downloads the pure-Python pieces training needs that the GPU machine lacks (it has no registry):
# the yolox 0.3.0 source (Apache-2.0: model, SimOTA loss) and the loguru and thop wheels, unpacked
# into DEST (default .device/train-deps) so that a device call can put DEST on PYTHONPATH.
set -euo pipefail
DEST=${1:-.device/train-deps}
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
YOLOX_URL=https://files.pythonhosted.org/packages/f8/a1/08f57037146540133673aecca2c371064d567928beaebc69611e4c7745b0/yolox-0.3.0.tar.gz
YOLOX_SHA256=1b8ee68846434408c40074f0806259fe3b9387181e562dbc435ea666533d8d08
curl -fsSL -o "$TMP/yolox.tar.gz" "$YOLOX_URL"
echo "$YOLOX_SHA256  $TMP/yolox.tar.gz" | sha256sum -c --quiet
tar xzf "$TMP/yolox.tar.gz" -C "$TMP"
rm -rf "$DEST/yolox" && cp -r "$TMP/yolox-0.3.0/yolox" "$DEST/yolox"
cp "$TMP/yolox-0.3.0/LICENSE" "$DEST/LICENSE-yolox" 2>/dev/null || true
python3 -m pip download --quiet --no-deps --only-binary :all: --python-version 3.12 \
  loguru==0.7.3 thop==0.1.1.post2209072238 -d "$TMP/wheels"
for w in "$TMP"/wheels/*.whl; do python3 -m zipfile -e "$w" "$DEST"; done
echo "training dependencies in $DEST"
