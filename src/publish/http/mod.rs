//! The local face: Prometheus metrics, a health and config API, the live annotated view of each
//! camera (newest JPEG and an MJPEG stream) and a status page, served over HTTP/1.1 by hyper on a
//! thread of its own ("http"). Nothing here is on the frame path: the face reads counters that
//! the frame path keeps lock-free, and pictures the annotation thread has already made.
//!
//! What it shows comes from a [`Provider`] the application implements; the face knows nothing of
//! the stages behind it. Off by default (`[http] listen`); loopback needs no credential, any other
//! address needs a bearer token or basic auth (`options`). Bounded everywhere: connections
//! (`max_clients`, more get 503), request heads (16 KiB, 431/400 beyond), time to send a request
//! head (5 s), and one picture in flight per viewer (a viewer that does not read skips pictures).

mod auth;
mod body;
mod options;
mod routes;
mod server;

use std::sync::Arc;

pub use options::{Credentials, HttpOptions, HttpSection, Secret};
pub use server::{HttpError, HttpServer};

use super::annotate::LiveView;

/// What the face shows, provided by the application.
pub trait Provider: Send + Sync + 'static {
    /// Appends the metrics in Prometheus text format (families with `# HELP` and `# TYPE`).
    fn metrics(&self, out: &mut String);
    /// The health message as JSON (`None` before the first one).
    fn health(&self) -> Option<String>;
    /// The running configuration as JSON, redacted as `config/state` is.
    fn config(&self) -> String;
    /// What the status page shows, as JSON.
    fn status(&self) -> String;
    /// A camera's live view (`None`: no such camera).
    fn live(&self, camera: &str) -> Option<Arc<LiveView>>;
}
