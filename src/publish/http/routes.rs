//! Requests to responses: GET and HEAD only, every path checked against the credential first.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::mpsc;

use super::auth::authorised;
use super::body::Body;
use super::server::Shared;
use crate::publish::annotate::{LivePicture, LiveView};
use crate::telemetry::prometheus::CONTENT_TYPE as PROMETHEUS;

const PAGE: &str = include_str!("page.html");
const JSON: &str = "application/json";
const BOUNDARY: &str = "footrackdframe";
/// Longest a stream waits for a new picture before sending the last one again (keeps proxies
/// and browsers from timing out while the camera is down).
const STREAM_REPEAT: Duration = Duration::from_secs(10);

/// Answers one request and counts its status.
pub(super) fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let response = route(shared, &req);
    shared.stats.count(response.status().as_u16());
    response
}

fn route(shared: &Shared, req: &Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let credentials = &shared.options.credentials;
    if !authorised(credentials, req.headers()) {
        let mut r = plain(StatusCode::UNAUTHORIZED, "a credential is needed\n");
        let challenge = if credentials.basic.is_some() { "Basic realm=\"footrackd\"" } else { "Bearer" };
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        return r;
    }
    let head = req.method() == Method::HEAD;
    let p = &shared.provider;
    match req.uri().path() {
        "/" | "/index.html" => {
            // The status JSON inside a script element: `<` escaped so that no text ends the element.
            let page = PAGE.replace("/*STATUS*/", &p.status().replace('<', "\\u003c"));
            let mut r = with_type(StatusCode::OK, "text/html; charset=utf-8", page.into());
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; img-src 'self'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
                ),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            r
        }
        "/metrics" | "/api/metrics" => {
            let mut out = String::with_capacity(64 * 1024);
            p.metrics(&mut out);
            shared.stats.write(&mut out);
            with_type(StatusCode::OK, PROMETHEUS, out.into())
        }
        "/api/health" => match p.health() {
            Some(json) => with_type(StatusCode::OK, JSON, json.into()),
            None => {
                let mut r =
                    with_type(StatusCode::SERVICE_UNAVAILABLE, JSON, "{\"error\":\"starting: no health yet\"}".into());
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
        },
        "/api/config" => with_type(StatusCode::OK, JSON, p.config().into()),
        "/api/status" => with_type(StatusCode::OK, JSON, p.status().into()),
        path => match path.strip_prefix("/api/").and_then(|rest| rest.split_once('/')) {
            Some((camera, leaf)) => match (p.live(camera), leaf) {
                (Some(view), "latest.jpg") => latest(&view),
                (Some(view), "mjpeg") => stream(view, head, shared.options.mjpeg_max_fps),
                _ => plain(StatusCode::NOT_FOUND, "no such camera or view\n"),
            },
            None => plain(StatusCode::NOT_FOUND, "not found\n"),
        },
    }
}

fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    with_type(status, "text/plain; charset=utf-8", text.into())
}

fn latest(view: &LiveView) -> Response<Body> {
    match view.latest() {
        Some(p) => with_type(StatusCode::OK, "image/jpeg", p.jpeg.into()),
        None => {
            let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, "no picture yet\n");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    }
}

/// `multipart/x-mixed-replace`: each part one JPEG, the newest when the viewer is ready for one.
fn stream(view: Arc<LiveView>, head: bool, max_fps: f32) -> Response<Body> {
    let body = if head {
        Body::empty()
    } else {
        // One part in flight: a viewer that does not read holds one picture, never more.
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(feed(view, tx, Duration::from_secs_f32(1.0 / max_fps)));
        Body::Stream(rx)
    };
    with_type(StatusCode::OK, "multipart/x-mixed-replace; boundary=footrackdframe", body)
}

/// Feeds one viewer: the newest picture whenever it can take one, at most every `min_gap`.
/// Pictures that come while it is still taking an earlier one replace that one (counted as
/// skipped); nothing queues up behind a slow viewer.
async fn feed(view: Arc<LiveView>, tx: mpsc::Sender<Bytes>, min_gap: Duration) {
    let _viewer = view.watch();
    let mut pictures = view.subscribe();
    let mut next: Option<LivePicture> = pictures.borrow_and_update().clone();
    let mut last: Option<LivePicture> = None;
    loop {
        let Some(waiting) = next.take() else {
            tokio::select! {
                changed = pictures.changed() => {
                    if changed.is_err() { return }
                    next = pictures.borrow_and_update().clone();
                }
                _ = tx.closed() => return,
                // Nothing new for a while (the camera is down): the last picture again.
                _ = tokio::time::sleep(STREAM_REPEAT) => next = last.clone(),
            }
            continue;
        };
        tokio::select! {
            permit = tx.reserve() => {
                let Ok(permit) = permit else { return };
                permit.send(part(&waiting.jpeg));
                last = Some(waiting);
                tokio::time::sleep(min_gap).await;
            }
            changed = pictures.changed() => {
                if changed.is_err() { return }
                // The viewer is still busy with an earlier picture: this one replaces the waiting one.
                let newer = pictures.borrow_and_update().clone();
                let newer_seq = newer.as_ref().map_or(waiting.seq, |p| p.seq);
                view.count_skipped(newer_seq.saturating_sub(waiting.seq));
                next = newer.or(Some(waiting));
            }
        }
    }
}

fn part(jpeg: &[u8]) -> Bytes {
    let head = format!("--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpeg.len());
    let mut v = Vec::with_capacity(head.len() + jpeg.len() + 2);
    v.extend_from_slice(head.as_bytes());
    v.extend_from_slice(jpeg);
    v.extend_from_slice(b"\r\n");
    Bytes::from(v)
}
