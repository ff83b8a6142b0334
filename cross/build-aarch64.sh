#!/usr/bin/env bash
# Cross-builds footrackd for aarch64 (Jetson) on Debian 12 without Docker, using Debian's
# multiarch packages. Output: target/aarch64-unknown-linux-gnu/release/footrackd (the same release
# build as `cross build` with cross/Cross.toml). CI runs it with --check --test.
#   cross/build-aarch64.sh [--check] [--test] [-- CARGO_ARGS...]
#     --check   fail if the binary needs glibc newer than JetPack 6's 2.35
#     --test    run the tests that need neither ONNX Runtime nor arm64 GStreamer plugins under
#               qemu-user (installed from Debian's qemu-user package)
#     CARGO_ARGS  e.g. --features cuda
# Exit 3: the aarch64 standard library could not be installed (nothing was built).
set -euo pipefail
check=0; test=0; cargo_args=()
while (($#)); do
  case "$1" in
    --check) check=1 ;;
    --test) test=1 ;;
    --) shift; cargo_args=("$@"); break ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
GLIBC_MAX=2.35
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! dpkg --print-foreign-architectures | grep -q arm64; then $SUDO dpkg --add-architecture arm64; fi
need=()
# libgstreamer-plugins-base1.0-dev:arm64 is NOT installed with apt: it is not co-installable with
# the amd64 one and apt would remove the host's copy. It is unpacked into a private sysroot instead.
packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu libgstreamer1.0-dev:arm64)
((test)) && packages+=(qemu-user)
for p in "${packages[@]}"; do
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
if ! rustup target add aarch64-unknown-linux-gnu >/dev/null; then
  echo "NOT BUILT: the aarch64 Rust standard library could not be installed (rustup target add aarch64-unknown-linux-gnu)" >&2
  exit 3
fi
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_LIBDIR="$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-Wl,-rpath-link,$sysroot/usr/lib/aarch64-linux-gnu -C link-arg=-Wl,-rpath-link,/usr/lib/aarch64-linux-gnu"

cargo build --release --locked --target aarch64-unknown-linux-gnu "${cargo_args[@]}"
bin="${CARGO_TARGET_DIR:-target}/aarch64-unknown-linux-gnu/release/footrackd"
file "$bin" 2>/dev/null || ls -l "$bin"
if ((check)); then
  newest="$(aarch64-linux-gnu-objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)"
  echo "newest glibc symbol version the aarch64 binary needs: $newest (JetPack 6 has $GLIBC_MAX)"
  if [ "$(printf '%s\n%s\n' "$newest" "$GLIBC_MAX" | sort -V | tail -n1)" != "$GLIBC_MAX" ]; then
    echo "FAIL: the aarch64 binary needs glibc $newest, newer than JetPack 6's $GLIBC_MAX" >&2
    exit 1
  fi
  # The arm64 Debian package from this binary, its contents and control fields checked.
  deb_dir=target/debian-arm64
  rm -rf "$deb_dir"
  bash scripts/package-deb.sh "$bin" "$deb_dir" >/dev/null
  deb="$(ls "$deb_dir"/footrackd_*_arm64.deb)"
  [ "$(dpkg-deb -f "$deb" Architecture)" = arm64 ] || { echo "FAIL: $deb is not arm64" >&2; exit 1; }
  contents="$(dpkg-deb -c "$deb")"
  for f in ./usr/bin/footrackd ./lib/systemd/system/footrackd.service ./etc/footrackd/footrackd.toml ./usr/share/footrackd/models/football_nano_1280x736.onnx; do
    grep -q " $f\$" <<<"$contents" || { echo "FAIL: $deb lacks $f" >&2; exit 1; }
  done
  dpkg-deb -e "$deb" "$deb_dir/control"
  grep -q "adduser\|useradd" "$deb_dir/control/postinst" || { echo "FAIL: postinst creates no user" >&2; exit 1; }
  echo "arm64 package: $deb ($(du -h "$deb" | cut -f1)), contents and control fields checked"
fi
if ((test)); then
  # Under qemu-user, arm64 libraries from multiarch and the private sysroot.
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64"
  export LD_LIBRARY_PATH="$sysroot/usr/lib/aarch64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # Skipped by name, with the reason:
  #   ONNX Runtime's CPU kernels crash under qemu-user: infer::detector, app::worker, app::detect,
  #   and the loading of the pixel models (roles, ball check, ball finder) in app::processor.
  #   No arm64 GStreamer plugins here (only the libraries): source::pipeline, source::still,
  #   publish::annotate.
  skips=(--skip infer::detector --skip app::worker --skip app::detect --skip app::processor::tests::the_pixel_models_are_loaded --skip source::pipeline --skip source::still --skip publish::annotate)
  cargo test --release --locked --target aarch64-unknown-linux-gnu "${cargo_args[@]}" --lib -- "${skips[@]}"
  # The property tests (tracker, NMS, homography, payload, config and remote payloads).
  cargo test --release --locked --target aarch64-unknown-linux-gnu "${cargo_args[@]}" --test tests -- properties::
fi
