//! The face's thread: a single-threaded tokio runtime accepting connections (at most
//! `max_clients` at once) and serving each with hyper's HTTP/1.1 server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

use super::options::HttpOptions;
use super::{Provider, routes};
use crate::telemetry::prometheus::{Exposition, Kind};

/// Time a client has to send a request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head read, bytes (hyper's smallest allowed buffer is 8 KiB).
const MAX_HEAD: usize = 16 * 1024;
/// Kernel send buffer per connection (Linux doubles it): a viewer that reads slowly holds a
/// few pictures in flight, not the seconds of them an autotuned 4 MiB buffer would (it would
/// see stale pictures, and every such viewer would pin that much kernel memory).
const SEND_BUFFER: usize = 128 * 1024;
/// The answer to a connection beyond `max_clients`.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Why the face could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address could not be bound (in use, not this machine's, not allowed).
    #[error("http.listen {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The thread or its runtime could not start.
    #[error("cannot start the HTTP thread: {0}")]
    Spawn(std::io::Error),
}

/// The face's own counters.
#[derive(Debug, Default)]
pub(super) struct HttpStats {
    /// Connections open now.
    pub(super) connections: AtomicUsize,
    /// Connections refused because `max_clients` were open.
    pub(super) refused: AtomicU64,
    /// Responses by status class: 2xx, 3xx, 4xx, 5xx.
    pub(super) responses: [AtomicU64; 4],
}

impl HttpStats {
    pub(super) fn count(&self, status: u16) {
        if let Some(c) = self.responses.get((status / 100).saturating_sub(2) as usize) {
            c.fetch_add(1, Relaxed);
        }
    }

    pub(super) fn write(&self, out: &mut String) {
        let mut e = Exposition::new(out);
        e.single(
            "footrackd_http_connections",
            Kind::Gauge,
            "HTTP connections open now.",
            &[],
            self.connections.load(Relaxed) as f64,
        );
        e.single(
            "footrackd_http_connections_refused_total",
            Kind::Counter,
            "HTTP connections answered 503 because http.max_clients were open.",
            &[],
            self.refused.load(Relaxed) as f64,
        );
        e.family("footrackd_http_responses_total", Kind::Counter, "HTTP responses by status class.");
        for (i, class) in ["2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
            e.sample("footrackd_http_responses_total", &[("code", class)], self.responses[i].load(Relaxed) as f64);
        }
    }
}

/// What every request handler shares.
pub(super) struct Shared {
    pub(super) options: HttpOptions,
    pub(super) provider: Arc<dyn Provider>,
    pub(super) stats: HttpStats,
}

/// The running face.
pub struct HttpServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `options.listen` now (an address in use is an error here, not later) and serves
    /// `provider` on the "http" thread.
    pub fn start(options: HttpOptions, provider: Arc<dyn Provider>) -> Result<Self, HttpError> {
        let listener = std::net::TcpListener::bind(options.listen).map_err(|e| HttpError::Bind(options.listen, e))?;
        let addr = listener.local_addr().map_err(|e| HttpError::Bind(options.listen, e))?;
        listener.set_nonblocking(true).map_err(|e| HttpError::Bind(addr, e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(HttpError::Spawn)?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let shared = Arc::new(Shared { options, provider, stats: HttpStats::default() });
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => serve(l, shared, stop_rx).await,
                        Err(e) => tracing::error!(error = %e, "HTTP listener failed; the face is off."),
                    }
                });
                // Streams still open end with the runtime.
                runtime.shutdown_timeout(Duration::from_millis(200));
            })
            .map_err(HttpError::Spawn)?;
        tracing::info!(address = %addr, "HTTP face serving: /, /metrics, /api/health, /api/config, /api/<camera>/latest.jpg, /api/<camera>/mjpeg.");
        Ok(HttpServer { addr, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// The address served (the port chosen when `listen` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and joins the thread.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shut();
    }
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            a = listener.accept() => a,
        };
        let (mut stream, _peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::warn!(error = %e, "HTTP accept failed.");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
        if shared.stats.connections.load(Relaxed) >= shared.options.max_clients {
            shared.stats.refused.fetch_add(1, Relaxed);
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
            });
            continue;
        }
        shared.stats.connections.fetch_add(1, Relaxed);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = {
                let shared = Arc::clone(&shared);
                service_fn(move |req| {
                    let shared = Arc::clone(&shared);
                    async move { Ok::<_, std::convert::Infallible>(routes::handle(&shared, req)) }
                })
            };
            let mut builder = http1::Builder::new();
            // No vectored writes: hyper then buffers one body part at a time (up to MAX_HEAD)
            // instead of a queue of sixteen pictures.
            builder.timer(TokioTimer::new()).header_read_timeout(HEAD_TIMEOUT).max_buf_size(MAX_HEAD).writev(false);
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            shared.stats.connections.fetch_sub(1, Relaxed);
        });
    }
}
