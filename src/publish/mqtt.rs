//! The MQTT connection: a client handle for the frame path and a thread that drives the
//! connection (rumqttc's sync `Connection`), reconnecting forever.
//!
//! The frame path only calls `try_publish`: when the request queue is full (the broker is slow
//! or gone) the message is dropped and counted, never waited for. On every ConnAck the thread
//! publishes the retained `online` status and re-subscribes to `config/set`; the broker sends the
//! retained last will `offline` if the daemon dies. A clean stop publishes `stopped`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::shutdown::Shutdown;

use rumqttc::{Client, Event, LastWill, MqttOptions, Outgoing, Packet, QoS};

use super::options::PublishSection;
use super::queue::OutQueue;
use super::topics::Topics;

/// Status words on the `status` topic.
pub mod status {
    /// Connected and running.
    pub const ONLINE: &str = "online";
    /// Sent by the broker when the connection dies (last will).
    pub const OFFLINE: &str = "offline";
    /// Sent on a clean exit.
    pub const STOPPED: &str = "stopped";
}

/// Counters of the publisher.
#[derive(Debug, Default)]
pub struct PublishStats {
    /// Messages dropped because the request queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Successful connections (ConnAcks).
    pub connects: AtomicU64,
    /// Whether the broker connection is up now.
    pub connected: AtomicBool,
    /// Whether the broker acknowledged the `config/set` subscription in this session.
    pub subscribed: AtomicBool,
    /// Track messages sent again after reconnects (at-least-once delivery; repeats carry the
    /// same frame number).
    pub replayed: AtomicU64,
}

/// A message received on a subscribed topic.
#[derive(Clone, Debug)]
pub struct IncomingMessage {
    /// Topic.
    pub topic: String,
    /// Raw payload.
    pub payload: Vec<u8>,
}

/// Why the publisher could not start.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A thread could not be spawned.
    #[error("cannot start the MQTT thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// The password file could not be read.
    #[error("{0}")]
    Credentials(String),
    /// The TLS files could not be used.
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
}

/// The publishing side of MQTT.
pub struct Publisher {
    client: Client,
    topics: Topics,
    stats: Arc<PublishStats>,
    stopping: Shutdown,
    // Closed by the connection thread as it ends: a blocking wait with a deadline for `stop`.
    finished: std::sync::Mutex<Option<(Receiver<()>, JoinHandle<()>)>>,
    /// Track messages on their way to the sender thread (no allocation on the frame path).
    tracks: Arc<OutQueue>,
    sender: std::sync::Mutex<Option<JoinHandle<()>>>,
}

fn qos(level: u8) -> QoS {
    if level == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce }
}

impl Publisher {
    /// Connects (in the background) and returns the publisher plus a receiver of messages
    /// arriving on `config/set` (bounded; excess messages are dropped with a warning).
    pub fn start(
        cfg: &PublishSection,
        device_id: &str,
        subscribe_config: bool,
    ) -> Result<(Self, Receiver<IncomingMessage>), PublishError> {
        let topics = Topics::new(&cfg.topic_prefix, device_id);
        let config_set = topics.config_set.clone();
        Self::start_with(cfg, device_id, subscribe_config.then_some(config_set))
    }

    /// As [`Publisher::start`], subscribed to `config_set` (a topic filter) when given: an
    /// appliance with several cameras takes each camera's `config/set`.
    pub fn start_with(
        cfg: &PublishSection,
        device_id: &str,
        config_set: Option<String>,
    ) -> Result<(Self, Receiver<IncomingMessage>), PublishError> {
        let topics = Topics::new(&cfg.topic_prefix, device_id);
        let client_id = if cfg.client_id.is_empty() { format!("footrackd-{device_id}") } else { cfg.client_id.clone() };
        let mut opts = MqttOptions::new(client_id, cfg.broker_host.clone(), cfg.broker_port);
        // Validated to 1..=3600 s: rumqttc asserts on keep-alive below 1 s.
        opts.set_keep_alive(Duration::from_secs(cfg.keep_alive_secs.max(1)));
        opts.set_max_packet_size(256 * 1024, 1024 * 1024);
        // QoS 1 asks for a persistent session: the broker keeps the subscription and unacknowledged
        // messages across reconnects (the client id is stable: `footrackd-<device id>`).
        opts.set_clean_session(cfg.tracks_qos == 0);
        opts.set_last_will(LastWill::new(topics.status.clone(), status::OFFLINE, QoS::AtLeastOnce, true));
        if !cfg.username.is_empty() {
            opts.set_credentials(cfg.username.clone(), cfg.password().map_err(PublishError::Credentials)?);
        }
        if let Some(tls) = super::tls::client_config(cfg)? {
            opts.set_transport(rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(tls)));
        }
        let (client, mut connection) = Client::new(opts, cfg.queue_capacity.max(1));
        let stats = Arc::new(PublishStats::default());
        let stopping = Shutdown::new();
        let (in_tx, in_rx) = sync_channel::<IncomingMessage>(16);
        let (finished_tx, finished_rx) = sync_channel::<()>(0);

        let thread = {
            let client = client.clone();
            let topics = topics.clone();
            let stats = Arc::clone(&stats);
            let stopping = stopping.clone();
            std::thread::Builder::new().name("mqtt".into()).spawn(move || {
                drive_connection(&mut connection, &client, &topics, &stats, &stopping, config_set.as_deref(), &in_tx);
                drop(finished_tx);
            })?
        };
        let tracks = Arc::new(OutQueue::new(cfg.queue_capacity, 16 * 1024));
        let sender = {
            let (client, tracks, stopping) = (client.clone(), Arc::clone(&tracks), stopping.clone());
            let tracks_qos = qos(cfg.tracks_qos);
            let stats = Arc::clone(&stats);
            std::thread::Builder::new()
                .name("mqtt-send".into())
                .spawn(move || send_tracks(&client, tracks_qos, &tracks, &stats, &stopping))?
        };
        Ok((
            Publisher {
                client,
                topics,
                stats,
                stopping,
                finished: std::sync::Mutex::new(Some((finished_rx, thread))),
                tracks,
                sender: std::sync::Mutex::new(Some(sender)),
            },
            in_rx,
        ))
    }

    /// The device's topics.
    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// Counters.
    pub fn stats(&self) -> &Arc<PublishStats> {
        &self.stats
    }

    /// Queues a track message for `topic` (the device's or a camera's `tracks`) without waiting or
    /// allocating; when the queue is full the oldest waiting message is dropped and counted
    /// ([`Publisher::tracks_dropped`]).
    pub fn publish_tracks_to(&self, topic: &str, payload: &[u8]) {
        self.tracks.push(topic, payload);
    }

    /// Track messages dropped because the queue to the broker was full.
    pub fn tracks_dropped(&self) -> u64 {
        self.tracks.dropped()
    }

    /// Queues any message without waiting; returns false (and counts) if it was dropped.
    pub fn try_publish(&self, topic: &str, qos: QoS, retain: bool, payload: &[u8]) -> bool {
        match self.client.try_publish(topic, qos, retain, payload.to_vec()) {
            Ok(()) => true,
            Err(_) => {
                self.stats.dropped_queue_full.fetch_add(1, Relaxed);
                false
            }
        }
    }

    /// Publishes the retained `stopped` status, disconnects, and waits up to `deadline` for the
    /// connection thread to flush.
    pub fn stop(&self, deadline: Duration) {
        self.stopping.drain();
        if let Some(sender) = self.sender.lock().ok().and_then(|mut t| t.take()) {
            let _ = sender.join();
        }
        let _ = self.client.try_publish(self.topics.status.clone(), QoS::AtLeastOnce, true, status::STOPPED);
        let _ = self.client.try_disconnect();
        let finished = self.finished.lock().ok().and_then(|mut t| t.take());
        if let Some((done, thread)) = finished {
            if let Err(RecvTimeoutError::Disconnected) = done.recv_timeout(deadline) {
                let _ = thread.join();
            } else {
                tracing::warn!(
                    "MQTT connection did not close within the deadline; status may stay online until the broker's keep-alive expires."
                );
            }
        }
    }
}

/// The sender thread: hands queued track messages to the MQTT client (which allocates its own
/// copies, off the frame path), oldest first, and only while connected: during an outage the
/// queue is the spool (in order, the oldest dropped and counted beyond its capacity). Messages
/// handed over shortly before a connection ended may never have reached the broker, so after a
/// reconnect the last [`REPLAY`] are sent again before the spool: delivery is at least once,
/// and subscribers drop repeats by frame number. On shutdown it flushes what is queued, briefly.
fn send_tracks(client: &Client, qos: QoS, tracks: &OutQueue, stats: &PublishStats, stopping: &Shutdown) {
    let mut replay = ReplayRing::new(REPLAY, 16 * 1024);
    let mut seen_connects = stats.connects.load(Relaxed);
    loop {
        let connected = stats.connected.load(Relaxed);
        if connected {
            let connects = stats.connects.load(Relaxed);
            if connects != seen_connects {
                if seen_connects != 0 {
                    let n = replay.resend(|topic, m| client.try_publish(topic, qos, false, m.to_vec()).is_ok());
                    stats.replayed.fetch_add(n as u64, Relaxed);
                }
                seen_connects = connects;
            }
        }
        let sent = connected
            && tracks.send_next(Duration::from_millis(50), |m| {
                let ok = client.try_publish(m.topic.as_str(), qos, false, m.payload.clone()).is_ok();
                if ok {
                    replay.push(&m.topic, &m.payload);
                }
                ok
            });
        if stopping.is_triggered() && !sent {
            return;
        }
        if !sent && stopping.wait_timeout(Duration::from_millis(if connected { 5 } else { 20 })) {
            return;
        }
    }
}

/// Track messages sent again after a reconnect.
const REPLAY: usize = 128;

/// The last messages handed to the client, oldest first; preallocated, reused.
struct ReplayRing {
    slots: Vec<(String, Vec<u8>)>,
    next: usize,
    len: usize,
}

impl ReplayRing {
    fn new(n: usize, bytes_each: usize) -> Self {
        let slot = || (String::with_capacity(super::queue::TOPIC_BYTES), Vec::with_capacity(bytes_each));
        ReplayRing { slots: (0..n).map(|_| slot()).collect(), next: 0, len: 0 }
    }

    fn push(&mut self, topic: &str, payload: &[u8]) {
        let (t, slot) = &mut self.slots[self.next];
        t.clear();
        t.push_str(topic);
        slot.clear();
        slot.extend_from_slice(payload);
        self.next = (self.next + 1) % self.slots.len();
        self.len = (self.len + 1).min(self.slots.len());
    }

    /// Sends every kept message, oldest first, until `send` refuses one; forgets them. Returns how many went.
    fn resend(&mut self, mut send: impl FnMut(&str, &[u8]) -> bool) -> usize {
        let n = self.slots.len();
        let mut sent = 0;
        for k in 0..self.len {
            let (topic, payload) = &self.slots[(self.next + n - self.len + k) % n];
            if !send(topic, payload) {
                break;
            }
            sent += 1;
        }
        self.len = 0;
        sent
    }
}

fn drive_connection(
    connection: &mut rumqttc::Connection,
    client: &Client,
    topics: &Topics,
    stats: &PublishStats,
    stopping: &Shutdown,
    config_set: Option<&str>,
    incoming: &SyncSender<IncomingMessage>,
) {
    let mut backoff = Duration::from_millis(200);
    let mut reported_down = false;
    // What each new session owes the broker, re-tried after every event until done: the retained
    // `online` (until queued; QoS 1 then retransmits it) and the `config/set` subscription (until
    // the broker's SUBACK). A clean session forgets subscriptions, and the request queue may be
    // full right after an outage, so neither may be fire-and-forget.
    let mut owe_online = false;
    let mut owe_subscription = false;
    let mut subscribed_at: Option<std::time::Instant> = None;
    loop {
        if !stopping.is_triggered() && stats.connected.load(Relaxed) {
            if owe_online && client.try_publish(topics.status.clone(), QoS::AtLeastOnce, true, status::ONLINE).is_ok() {
                owe_online = false;
            }
            // Re-send a subscription that was not acknowledged within 5 s.
            if owe_subscription
                && subscribed_at.is_none_or(|t| t.elapsed() > Duration::from_secs(5))
                && let Some(filter) = config_set
                && client.try_subscribe(filter, QoS::AtLeastOnce).is_ok()
            {
                subscribed_at = Some(std::time::Instant::now());
            }
        }
        // A blocking receive: a time-limited one would drop rumqttc's poll future in the middle
        // of a slow handshake (DNS, TCP, CONNECT, CONNACK) and restart it forever over a slow link.
        // Stopping is seen at the next event (the disconnect we queue, or a connection error).
        match connection.recv() {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                stats.connected.store(true, Relaxed);
                stats.connects.fetch_add(1, Relaxed);
                backoff = Duration::from_millis(200);
                reported_down = false;
                tracing::info!(topic = %topics.status, "Connected to the MQTT broker.");
                owe_online = true;
                owe_subscription = config_set.is_some();
                subscribed_at = None;
                if !stopping.is_triggered() {
                    if client.try_publish(topics.status.clone(), QoS::AtLeastOnce, true, status::ONLINE).is_ok() {
                        owe_online = false;
                    }
                    if let Some(filter) = config_set.filter(|_| owe_subscription)
                        && client.try_subscribe(filter, QoS::AtLeastOnce).is_ok()
                    {
                        subscribed_at = Some(std::time::Instant::now());
                    }
                }
            }
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                owe_subscription = false;
                stats.subscribed.store(true, Relaxed);
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                let msg = IncomingMessage { topic: p.topic.clone(), payload: p.payload.to_vec() };
                if let Err(TrySendError::Full(_)) = incoming.try_send(msg) {
                    tracing::warn!("Remote config message dropped: previous ones are still being applied.");
                }
            }
            Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) => {
                stats.connected.store(false, Relaxed);
                return;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                stats.connected.store(false, Relaxed);
                stats.subscribed.store(false, Relaxed);
                if stopping.is_triggered() {
                    return;
                }
                if !reported_down {
                    tracing::warn!(error = %e, "MQTT broker unreachable; retrying. Track messages wait in the spool (publish.queue_capacity; beyond it the oldest are dropped and counted).");
                    reported_down = true;
                }
                if stopping.wait_timeout(backoff) {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            // Every client handle is gone: nothing more can be sent.
            Err(_) => return,
        }
    }
}
