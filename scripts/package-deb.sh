#!/usr/bin/env bash
# Builds a Debian package of footrackd from a built binary, without cargo-deb:
#   scripts/package-deb.sh [BINARY] [OUT_DIR] [ARCH]
# BINARY defaults to target/release/footrackd (or $CARGO_TARGET_DIR/release/footrackd), ARCH to
# the binary's own (amd64 or arm64, read from its ELF header). The package holds the binary
# (/usr/bin), the unit (/lib/systemd/system), the default config (/etc/footrackd, a conffile:
# kept on upgrade, removed on purge), the models (/usr/share/footrackd/models) and the
# docs; postinst creates the `footrackd` system user in the `video` group.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${CARGO_TARGET_DIR:-target}/release/footrackd}
OUT=${2:-target/debian}
[ -x "$BIN" ] || { echo "error: no built binary at $BIN (cargo build --release)" >&2; exit 1; }
case "$(od -An -tx2 -j18 -N2 "$BIN" | tr -d ' ')" in
  003e) BIN_ARCH=amd64 ;;
  00b7) BIN_ARCH=arm64 ;;
  *) echo "error: $BIN is neither x86-64 nor aarch64" >&2; exit 1 ;;
esac
ARCH=${3:-$BIN_ARCH}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
install -Dm755 "$BIN" "$STAGE/usr/bin/footrackd"
STRIP=strip; [ "$BIN_ARCH" = arm64 ] && command -v aarch64-linux-gnu-strip >/dev/null && STRIP=aarch64-linux-gnu-strip
"$STRIP" --strip-debug "$STAGE/usr/bin/footrackd" 2>/dev/null || true
sed -e 's|/usr/local/bin/footrackd|/usr/bin/footrackd|g' -e '/^# Install:/,/^#          mkdir/d' systemd/footrackd.service > "$STAGE/footrackd.service"
install -Dm644 "$STAGE/footrackd.service" "$STAGE/lib/systemd/system/footrackd.service" && rm "$STAGE/footrackd.service"
install -Dm644 systemd/footrackd.default "$STAGE/etc/default/footrackd"
# The default config with the models where the package puts them, and the local face on loopback.
sed -E -e 's#^(model|keypoint_model|ball_focus_model|role_model|ball_check_model|ball_finder_model) = "models/#\1 = "/usr/share/footrackd/models/#' \
  -e 's#^listen = ""#listen = "127.0.0.1:8480"#' config/footrackd.toml > "$STAGE/footrackd.toml"
install -Dm644 "$STAGE/footrackd.toml" "$STAGE/etc/footrackd/footrackd.toml" && rm "$STAGE/footrackd.toml"
for m in models/*.onnx models/*.toml models/LICENSE* models/README.md; do
  install -Dm644 "$m" "$STAGE/usr/share/footrackd/$m"
done
install -Dm644 README.md "$STAGE/usr/share/doc/footrackd/README.md"
for d in docs/*.md; do install -Dm644 "$d" "$STAGE/usr/share/doc/footrackd/$d"; done
mkdir -p "$STAGE/DEBIAN"
SIZE=$(du -sk "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" packaging/debian/control > "$STAGE/DEBIAN/control"
install -m644 packaging/debian/conffiles "$STAGE/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m755 "packaging/debian/$s" "$STAGE/DEBIAN/$s"; done
mkdir -p "$OUT"
DEB="$OUT/footrackd_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
