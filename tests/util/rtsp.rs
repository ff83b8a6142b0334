//! A real RTSP server (GStreamer's, `tests/support/rtsp_server.py`) for the stream tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts the RTSP server for `clip` at `rtsp://127.0.0.1:<port>/clip` and waits until it listens.
pub fn server(port: u16, clip: &std::path::Path) -> Child {
    let root = super::repo_root();
    let mut child = Command::new("/usr/bin/python3")
        .arg(root.join("tests/support/rtsp_server.py"))
        .arg(port.to_string())
        .arg(clip)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("/usr/bin/python3 with python3-gi (scripts/setup.sh)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the RTSP server did not start (gir1.2-gst-rtsp-server-1.0: scripts/setup.sh)");
    child
}
