#!/usr/bin/env bash
# Cross-builds footrackd for aarch64 (Jetson) on Debian 12 without Docker, using Debian's
# multiarch packages. Output: target/aarch64-unknown-linux-gnu/release/footrackd.
#   cross/build-aarch64.sh            build
#   cross/build-aarch64.sh --check    build, then list the glibc versions the binary needs
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! dpkg --print-foreign-architectures | grep -q arm64; then $SUDO dpkg --add-architecture arm64; fi
need=()
# libgstreamer-plugins-base1.0-dev:arm64 is NOT installed with apt: it is not co-installable with
# the amd64 one and apt would remove the host's copy. It is unpacked into a private sysroot instead.
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross libgstreamer1.0-dev:arm64; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
sysroot="$PWD/target/aarch64-sysroot"
if [ ! -f "$sysroot/.done" ]; then
  mkdir -p "$sysroot/debs"
  (cd "$sysroot/debs" && apt-get download libgstreamer-plugins-base1.0-dev:arm64 libgstreamer-plugins-base1.0-0:arm64 liborc-0.4-0:arm64 liborc-0.4-dev:arm64)
  for d in "$sysroot"/debs/*.deb; do dpkg -x "$d" "$sysroot"; done
  # Point the unpacked .pc files at the sysroot.
  sed -i "s|^prefix=.*|prefix=$sysroot/usr|" "$sysroot"/usr/lib/aarch64-linux-gnu/pkgconfig/*.pc
  touch "$sysroot/.done"
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_LIBDIR="$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-Wl,-rpath-link,$sysroot/usr/lib/aarch64-linux-gnu -C link-arg=-Wl,-rpath-link,/usr/lib/aarch64-linux-gnu"

cargo build --release --locked --target aarch64-unknown-linux-gnu
bin=target/aarch64-unknown-linux-gnu/release/footrackd
file "$bin" 2>/dev/null || ls -l "$bin"
if [ "${1:-}" = "--check" ]; then
  echo "glibc symbol versions required:"
  aarch64-linux-gnu-objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 3
fi
