//! The local HTTP face against a running daemon on a real clip: every endpoint, the metrics
//! parsed as Prometheus text, credentials, garbage and oversized requests, viewers that never
//! read and clients that never finish a request (frames keep flowing), the connection bound, and
//! the status page rendered by a real headless browser (Debian's Chromium) showing the live picture.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::util::broker::{Broker, free_port};
use crate::util::recorder::Recorder;
use crate::util::{daemon, repo_root};

const TOKEN: &str = "test-token-0123456789-secret";

/// A daemon on the demo clip with the face on `http_port`; `extra` goes into `[http]`. The ball
/// finder is off: its 33 ms a 720p frame on two cores would hold a live camera below its 25 fps,
/// and these tests count frames that flow while the face is abused, not balls.
fn start(dir: &std::path::Path, device: &str, broker: u16, http_port: u16, realtime: bool, extra: &str) -> Child {
    let model = repo_root().join("models/yolox_nano.onnx");
    let clip = repo_root().join("demo/clip.mp4");
    let cfg = format!(
        "[device]\nid = \"{device}\"\n[source]\nid = \"cam\"\nuri = \"{}\"\nrealtime = {realtime}\n[ring]\noverflow = \"{}\"\n\
         [infer]\nmodel = \"{}\"\nball_focus_regions = 0\nball_finder_model = \"\"\n[publish]\nbroker_port = {broker}\n[control]\nhealth_interval_secs = 0.5\n\
         [http]\nlisten = \"127.0.0.1:{http_port}\"\n{extra}",
        clip.display(),
        if realtime { "drop_oldest" } else { "block" },
        model.display()
    );
    let path = daemon::write_config(dir, &cfg);
    daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"])
}

/// Kills the daemon when the test ends, passed or failed.
struct Stop(Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP exchange over a fresh connection: status, head (lower-case), body.
fn exchange(port: u16, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head, raw.get(split + 4..).unwrap_or_default().to_vec())
}

fn get(port: u16, path: &str, auth: Option<&str>) -> (u16, String, Vec<u8>) {
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    exchange(port, format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes())
}

const BEARER: &str = "Bearer test-token-0123456789-secret";

fn bearer() -> Option<&'static str> {
    Some(BEARER)
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the Prometheus text format strictly: every sample belongs to the family announced by
/// the `# HELP` and `# TYPE` lines before it (histograms: `_bucket`, `_sum`, `_count`), no
/// family twice, counters named `_total`, label values quoted and escaped, values numbers.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut seen = BTreeSet::new();
    let mut family: Option<(String, String)> = None;
    let mut help: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap().to_string();
            assert!(seen.insert(name.clone()), "family {name} twice");
            help = Some(name);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(help.as_deref(), Some(name), "TYPE without HELP just before: {line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name} not named _total");
            }
            family = Some((name.to_string(), kind.to_string()));
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "unexpected line {line:?}");
        let (name_labels, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line:?}")),
        };
        let (name, labels) = match name_labels.split_once('{') {
            Some((n, l)) => (n.to_string(), parse_labels(l.strip_suffix('}').expect("labels end with }"))),
            None => (name_labels.to_string(), BTreeMap::new()),
        };
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "metric name {name:?}");
        let (fam, kind) = family.as_ref().unwrap_or_else(|| panic!("sample before any family: {line}"));
        let ok = match kind.as_str() {
            "histogram" => [format!("{fam}_bucket"), format!("{fam}_sum"), format!("{fam}_count")].contains(&name),
            _ => &name == fam,
        };
        assert!(ok, "sample {name} outside its family {fam}");
        samples.push((name, labels, value));
    }
    samples
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "label {key} not quoted in {s}");
        let mut value = String::new();
        loop {
            match chars.next().expect("unterminated label value") {
                '\\' => value.push(match chars.next().unwrap() {
                    'n' => '\n',
                    c => c,
                }),
                '"' => break,
                c => value.push(c),
            }
        }
        out.insert(key, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.2)
}

fn metrics(port: u16) -> Vec<Sample> {
    let (status, head, body) = get(port, "/metrics", bearer());
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: text/plain; version=0.0.4"), "{head}");
    parse_prometheus(&String::from_utf8(body).unwrap())
}

fn is_jpeg(b: &[u8]) -> bool {
    b.len() > 5_000 && b.starts_with(&[0xFF, 0xD8]) && b.ends_with(&[0xFF, 0xD9])
}

/// Reads `parts` parts of an MJPEG stream: their JPEGs.
fn mjpeg_parts(port: u16, path: &str, parts: usize) -> (String, Vec<Vec<u8>>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n", BEARER).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let until = Instant::now() + Duration::from_secs(30);
    let mut jpegs = Vec::new();
    while jpegs.len() < parts && Instant::now() < until {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended");
        raw.extend_from_slice(&buf[..n]);
        jpegs = split_parts(&raw);
    }
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (String::from_utf8_lossy(&raw[..head_end]).to_lowercase(), jpegs.into_iter().take(parts).collect())
}

/// The complete JPEG parts in a raw chunked multipart response.
fn split_parts(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    let marker = b"content-length: ";
    while let Some(p) = find(&raw[at..], b"Content-Type: image/jpeg\r\n") {
        let from = at + p;
        let Some(l) = find(&raw[from..].to_ascii_lowercase(), marker) else { break };
        let len_at = from + l + marker.len();
        let Some(eol) = find(&raw[len_at..], b"\r\n") else { break };
        let len: usize = std::str::from_utf8(&raw[len_at..len_at + eol]).unwrap().trim().parse().unwrap();
        let body = len_at + eol + 4;
        if raw.len() < body + len {
            break;
        }
        out.push(raw[body..body + len].to_vec());
        at = body + len;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn every_endpoint_answers_on_a_running_daemon_and_bad_requests_get_a_4xx() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-http/#");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let port = free_port();
    let _d =
        Stop(start(dir.path(), "t-http", broker.port, port, true, &format!("token_file = \"{}\"\n", token.display())));
    wait_until("health on the face", Duration::from_secs(60), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/api/health", bearer()).0 == 200
    });

    // Without the credential: 401 everywhere, and nothing in the answer.
    for path in ["/", "/metrics", "/api/health", "/api/config", "/api/cam/latest.jpg", "/api/cam/mjpeg"] {
        let (status, head, _) = get(port, path, None);
        assert_eq!(status, 401, "{path}: {head}");
        assert!(head.contains("www-authenticate: bearer"), "{head}");
        assert_eq!(get(port, path, Some("Bearer not-the-token-at-all-000")).0, 401, "{path}");
    }

    // Metrics: the text format, per camera, with the frame counters moving (once a frame has gone
    // through: health answers before the first inference ends, later on a busy machine).
    let cam = [("camera", "cam")];
    wait_until("a frame processed", Duration::from_secs(60), || {
        value(&metrics(port), "footrackd_frames_processed_total", &cam).is_some_and(|n| n > 0.0)
    });
    let first = metrics(port);
    let decoded = value(&first, "footrackd_frames_decoded_total", &cam).expect("frames decoded");
    assert!(decoded > 0.0);
    for name in [
        "footrackd_frames_processed_total",
        "footrackd_capture_to_publish_latency_seconds_count",
        "footrackd_inference_duration_seconds_count",
        "footrackd_detections_total",
        "footrackd_tracks",
        "footrackd_frames_with_pitch_total",
        "footrackd_ring_frames",
        "footrackd_live_pictures_total",
    ] {
        assert!(value(&first, name, &cam).is_some(), "{name} missing");
    }
    for reason in ["ring_oldest", "rate_limit", "inference_failed"] {
        assert!(value(&first, "footrackd_frames_dropped_total", &[("camera", "cam"), ("reason", reason)]).is_some());
    }
    assert_eq!(value(&first, "footrackd_source_state", &[("camera", "cam"), ("state", "running")]), Some(1.0));
    assert_eq!(value(&first, "footrackd_mqtt_connected", &[]), Some(1.0));
    assert!(
        value(&first, "footrackd_stage_seconds_total", &[("camera", "cam"), ("stage", "inference")]).unwrap() > 0.0
    );
    assert!(
        value(&first, "footrackd_capture_to_publish_latency_seconds_bucket", &[("camera", "cam"), ("le", "+Inf")])
            .unwrap()
            > 0.0
    );
    assert!(value(&first, "footrackd_resident_memory_bytes", &[]).unwrap() > 1e6);
    std::thread::sleep(Duration::from_secs(1));
    let later = value(&metrics(port), "footrackd_frames_decoded_total", &cam).unwrap();
    assert!(later > decoded, "frames decoded did not move: {decoded} -> {later}");

    // Health and config: JSON, the secret nowhere.
    let (_, _, health) = get(port, "/api/health", bearer());
    let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
    assert_eq!(health["source"]["id"], "cam");
    assert!(health["latency_ms"]["p50"].is_number(), "{health}");
    let (status, _, config) = get(port, "/api/config", bearer());
    assert_eq!(status, 200);
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(config["config"]["http"]["listen"], format!("127.0.0.1:{port}"));
    assert!(config["config"]["http"].get("token_file").is_none(), "{config}");
    for path in ["/", "/metrics", "/api/health", "/api/config", "/api/status"] {
        let (status, _, body) = get(port, path, bearer());
        assert_eq!(status, 200, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains(TOKEN), "{path} shows the token");
    }
    let (_, head, page) = get(port, "/", bearer());
    assert!(head.contains("content-type: text/html") && head.contains("content-security-policy"), "{head}");
    assert!(String::from_utf8_lossy(&page).contains("\"id\":\"cam\""), "the page carries the cameras");

    // The live picture: a JPEG now, and a stream of them.
    wait_until("a live picture", Duration::from_secs(20), || get(port, "/api/cam/latest.jpg", bearer()).0 == 200);
    let (_, head, jpeg) = get(port, "/api/cam/latest.jpg", bearer());
    assert!(head.contains("content-type: image/jpeg") && is_jpeg(&jpeg), "{head} ({} bytes)", jpeg.len());
    let (head, parts) = mjpeg_parts(port, "/api/cam/mjpeg", 3);
    assert!(head.contains("multipart/x-mixed-replace; boundary=footrackdframe"), "{head}");
    assert_eq!(parts.len(), 3, "three pictures in the stream");
    assert!(parts.iter().all(|p| is_jpeg(p)));
    assert!(parts[0] != parts[2], "the stream's pictures change");

    // Unknown paths, methods, garbage and oversized requests: a 4xx, and the daemon goes on.
    assert_eq!(get(port, "/api/nope/latest.jpg", bearer()).0, 404);
    assert_eq!(get(port, "/api/cam/other", bearer()).0, 404);
    assert_eq!(get(port, "/nothing", bearer()).0, 404);
    let (status, head, _) =
        exchange(port, b"POST /api/config HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    assert_eq!(status, 405, "{head}");
    assert!(head.contains("allow: get, head"));
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls hello\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /\x00\x01 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
    ] {
        let (status, _, _) = exchange(port, garbage);
        assert!(status == 0 || (400..500).contains(&status), "{:?} -> {status}", String::from_utf8_lossy(garbage));
    }
    let huge = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(64 * 1024));
    let (status, _, _) = exchange(port, huge.as_bytes());
    assert!(status == 0 || (400..500).contains(&status), "oversized head -> {status}");
    let long_path = format!("/{}", "p".repeat(20_000));
    let (status, _, _) = get(port, &long_path, bearer());
    assert!(status == 0 || (400..500).contains(&status), "oversized path -> {status}");
    // Still serving, still publishing.
    let before = rec.messages().len();
    assert_eq!(get(port, "/metrics", bearer()).0, 200);
    assert!(rec.wait_for(Duration::from_secs(10), |m| m.len() > before + 5), "track messages stopped");
    let samples = metrics(port);
    assert!(value(&samples, "footrackd_http_responses_total", &[("code", "4xx")]).unwrap() >= 10.0);
}

#[test]
fn viewers_that_never_read_and_requests_never_finished_do_not_hold_the_frames() {
    let broker = Broker::start();
    let rec = Recorder::start(broker.port, "footrack/t-http-slow/tracks");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The clip as a live camera (25 fps, 20 s); the live view as fast as it may go.
    let mut d =
        Stop(start(dir.path(), "t-http-slow", broker.port, port, true, "mjpeg_max_fps = 30\nmax_clients = 4\n"));
    wait_until("a live picture", Duration::from_secs(60), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/api/cam/latest.jpg", None).0 == 200
    });
    // Three viewers that ask for the stream and never read it, and one that never finishes its
    // request: four of four connections taken.
    let mut stuck = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /api/cam/mjpeg HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        stuck.push(s);
    }
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET /metr").unwrap();
    let opened = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    // A fifth connection is refused while they are open.
    let (status, head, _) = get(port, "/metrics", None);
    assert_eq!(status, 503, "{head}");
    assert!(head.contains("retry-after"));
    // Frames flow while the viewers hold their streams: track messages every 2 s window.
    let mut last = rec.messages().len();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_secs(2));
        let now = rec.messages().len();
        assert!(now > last, "no track messages for 2 s while viewers did not read ({now})");
        last = now;
    }
    // The unfinished request was closed after the head timeout (5 s); the face serves again and
    // says the stuck viewers skipped pictures instead of holding them up.
    slow.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut buf = [0u8; 256];
    let n = slow.read(&mut buf).unwrap_or(0);
    assert!(opened.elapsed() < Duration::from_secs(25), "an unfinished request held its connection");
    let answer = String::from_utf8_lossy(&buf[..n]).to_lowercase();
    assert!(n == 0 || answer.contains(" 408 ") || answer.contains(" 400 "), "{answer}");
    let s = metrics_open(port);
    assert!(value(&s, "footrackd_live_viewers", &[("camera", "cam")]) == Some(3.0), "three viewers counted");
    let skipped = value(&s, "footrackd_live_pictures_skipped_total", &[("camera", "cam")]).unwrap_or(0.0);
    assert!(skipped > 0.0, "the viewers that never read skipped no picture: were they really stuck?");
    drop(stuck);
    let status = d.0.wait().unwrap();
    assert!(status.success(), "daemon exit {status}");
    // A stall of the frame path would have dropped a live camera's frames by the hundred.
    let published = rec.messages().len();
    assert!(published >= 400, "{published} of the clip's 500 frames published");
}

fn metrics_open(port: u16) -> Vec<Sample> {
    let (status, _, body) = get(port, "/metrics", None);
    if status != 200 {
        return Vec::new();
    }
    parse_prometheus(&String::from_utf8(body).unwrap())
}

/// The status page in Debian's Chromium (headless): its screenshot shows the camera's annotated
/// picture (the demo's green pitch) under the page's header, and its numbers.
#[test]
fn the_status_page_shows_the_live_picture_in_a_real_browser() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("Chromium is not installed: run scripts/setup.sh");
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _d = Stop(start(dir.path(), "t-http-page", broker.port, port, true, ""));
    wait_until("a live picture", Duration::from_secs(60), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
            && get(port, "/api/cam/latest.jpg", None).0 == 200
            && get(port, "/api/health", None).0 == 200
    });
    let shot = dir.path().join("page.png");
    let profile = dir.path().join("profile");
    let out = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,900"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    assert!(shot.is_file(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let (w, h, rgb) = png_rgb(&shot);
    assert_eq!((w, h), (1280, 900));
    // The picture sits under the header; the demo's pitch is green, the page itself is grey and
    // dark green (its header: G 59). Count bright green pixels below the header.
    let mut green = 0usize;
    let mut colours = BTreeSet::new();
    for y in 100..h {
        for x in 0..w {
            let i = 3 * (y * w + x);
            let (r, g, b) = (rgb[i] as i32, rgb[i + 1] as i32, rgb[i + 2] as i32);
            if g > 90 && g > r + 25 && g > b + 25 {
                green += 1;
            }
            colours.insert((r / 16, g / 16, b / 16));
        }
    }
    assert!(green > 100_000, "only {green} pitch-green pixels: the live picture is not on the page");
    assert!(colours.len() > 60, "only {} colours: no picture", colours.len());
}

/// A PNG decoded to packed RGB by GStreamer's pngdec (installed with the project's set-up).
fn png_rgb(path: &std::path::Path) -> (usize, usize, Vec<u8>) {
    let raw = path.with_extension("rgb");
    let status = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", path.display()))
        .args(["!", "pngdec", "!", "videoconvert", "!", "video/x-raw,format=RGB", "!", "filesink"])
        .arg(format!("location={}", raw.display()))
        .status()
        .unwrap();
    assert!(status.success());
    let data = std::fs::read(&raw).unwrap();
    let (w, h) = (1280, 900);
    // RGB rows are padded to 4 bytes; 1280 * 3 is a multiple of 4.
    assert_eq!(data.len(), w * h * 3, "unexpected decoded size");
    (w, h, data)
}

#[test]
fn a_face_beyond_loopback_needs_a_credential_and_never_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo_root().join("models/yolox_nano.onnx");
    let base = format!(
        "[source]\nuri = \"demo/clip.mp4\"\n[infer]\nmodel = \"{}\"\n[http]\nlisten = \"0.0.0.0:8480\"\n",
        model.display()
    );
    let path = daemon::write_config(dir.path(), &base);
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    assert_eq!(out.status.code(), Some(78), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("http.listen") && text.contains("http.token_file"), "{text}");
    std::fs::write(dir.path().join("basic"), "operator:pa55-w0rd-s3cret\n").unwrap();
    let path = daemon::write_config(dir.path(), &format!("{base}basic_auth_file = \"basic\"\n"));
    let out = daemon::run(&["validate", "-c", path.to_str().unwrap(), "--no-env"]);
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("pa55-w0rd-s3cret"), "the credential was echoed: {text}");
}

/// Several cameras on one face: each camera's picture and counters, health and config keyed by camera.
#[test]
fn several_cameras_each_have_their_picture_and_series_on_one_face() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let model = repo_root().join("models/yolox_nano.onnx");
    let clip = repo_root().join("demo/clip.mp4");
    let mut cfg = format!(
        "[device]\nid = \"t-http-cams\"\n[infer]\nmodel = \"{}\"\nmax_fps = 4.0\nball_focus_regions = 0\n[publish]\nbroker_port = {}\n\
         [control]\nhealth_interval_secs = 0.5\n[http]\nlisten = \"127.0.0.1:{port}\"\n",
        model.display(),
        broker.port
    );
    for id in ["left", "right"] {
        cfg += &format!("[[source]]\nid = \"{id}\"\nuri = \"{}\"\nrealtime = true\n", clip.display());
    }
    let path = daemon::write_config(dir.path(), &cfg);
    let _d = Stop(daemon::spawn(&["run", "-c", path.to_str().unwrap(), "--no-env"]));
    wait_until("both cameras' pictures and health", Duration::from_secs(60), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
            && ["left", "right"].iter().all(|c| get(port, &format!("/api/{c}/latest.jpg"), None).0 == 200)
            && serde_json::from_slice::<serde_json::Value>(&get(port, "/api/health", None).2).is_ok_and(|h| {
                h["cameras"]["left"]["source"].is_object() && h["cameras"]["right"]["source"].is_object()
            })
    });
    for c in ["left", "right"] {
        assert!(is_jpeg(&get(port, &format!("/api/{c}/latest.jpg"), None).2), "{c}");
    }
    let samples = metrics_open(port);
    for c in ["left", "right"] {
        assert!(value(&samples, "footrackd_frames_decoded_total", &[("camera", c)]).unwrap() > 0.0, "{c}");
    }
    assert_eq!(value(&samples, "footrackd_cameras", &[]), Some(2.0));
    let config: serde_json::Value = serde_json::from_slice(&get(port, "/api/config", None).2).unwrap();
    assert_eq!(config["cameras"]["right"]["config"]["source"]["id"], "right", "{config}");
    let status: serde_json::Value = serde_json::from_slice(&get(port, "/api/status", None).2).unwrap();
    let ids: Vec<&str> = status["cameras"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["left", "right"]);
}
