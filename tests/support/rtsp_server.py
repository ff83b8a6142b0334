#!/usr/bin/python3
"""A real RTSP server for the stream-fault tests: serves an H.264 MP4 at rtsp://127.0.0.1:PORT/clip
with GStreamer's RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0; scripts/setup.sh installs
them). The test kills and restarts it to make a camera go away and come back.

  /usr/bin/python3 tests/support/rtsp_server.py PORT CLIP.mp4
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    port, clip = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f'( filesrc location="{clip}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )')
    factory.set_shared(True)
    server.get_mount_points().add_factory("/clip", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
