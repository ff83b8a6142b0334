#!/usr/bin/env bash
# (footrackd: adds libopenh264-7 so that openh264dec gives a software-decode baseline there.)
# Packs Debian 12's GStreamer (core, base, good, bad with the NVDEC `nvcodec` plugin) and the few
# libraries the GPU machine's image lacks, as .deb files to unpack there with `dpkg -x`.
#
# Usage (from the project root):  scripts/gpu/pack-gst.sh [OUT_DIR]   (default .device/gst, ~13 MB)
# On the GPU machine (see ../shared/DEVICE.md):
#   mkdir -p /tmp/gst && for f in .device/gst/*.deb; do dpkg -x $f /tmp/gst; done
#   G=/tmp/gst; export LD_LIBRARY_PATH=$G/usr/lib/x86_64-linux-gnu:$G/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64 \
#     GST_PLUGIN_SYSTEM_PATH=$G/usr/lib/x86_64-linux-gnu/gstreamer-1.0 \
#     GST_PLUGIN_SCANNER=$G/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner \
#     GST_REGISTRY=/tmp/gst-registry.bin PATH=$G/usr/bin:$PATH
# Libraries the image already has (libstdc++, zlib, zstd, selinux, mount...) are left out on purpose:
# Debian's older copies first on LD_LIBRARY_PATH would shadow Ubuntu's newer ones.
set -euo pipefail
OUT=${1:-.device/gst}
mkdir -p "$OUT"
cd "$OUT"
apt-get download -q \
  libgstreamer1.0-0 gstreamer1.0-tools gstreamer1.0-plugins-base libgstreamer-plugins-base1.0-0 \
  gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly libx264-164 gstreamer1.0-plugins-bad libgstreamer-plugins-bad1.0-0 libgstreamer-gl1.0-0 \
  liborc-0.4-0 libdw1 libunwind8 libelf1 libgudev-1.0-0 libglib2.0-0 libffi8 libpcre2-8-0 \
  libegl1 libglvnd0 libgles2 libgl1 libglx0 libopengl0 libgraphene-1.0-0 libjpeg62-turbo libpng16-16 \
  libwayland-client0 libwayland-cursor0 libwayland-egl1 libwayland-server0 libxkbcommon0 \
  libx11-xcb1 libxcb1 libx11-6 libxau6 libxdmcp6 libxext6 libxrender1 libxfixes3 libxdamage1 libxxf86vm1 libxshmfence1 \
  libbsd0 libmd0 libdrm2 libgbm1 libcap2 libopenh264-7 2>&1 | tail -1
ls | wc -l
