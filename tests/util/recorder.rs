//! Subscribes to a topic filter and records every message, in arrival order.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// One received message.
#[derive(Clone, Debug)]
pub struct Message {
    pub topic: String,
    pub payload: String,
}

/// A background subscriber.
#[allow(dead_code)] // `publish` and `client` serve the remote-config tests.
pub struct Recorder {
    messages: Arc<Mutex<Vec<Message>>>,
    client: Client,
}

impl Recorder {
    /// Subscribes to `filter` on the broker at `port` and waits until the subscription is active.
    pub fn start(port: u16, filter: &str) -> Recorder {
        // Unique per recorder: two with one client id on one broker would take turns kicking each other off.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut opts = MqttOptions::new(format!("recorder-{}-{n}", std::process::id()), "127.0.0.1", port);
        opts.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut conn) = Client::new(opts, 64);
        client.subscribe(filter, QoS::AtLeastOnce).unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let subscribed = Arc::new(Mutex::new(false));
        {
            let messages = Arc::clone(&messages);
            let subscribed = Arc::clone(&subscribed);
            std::thread::spawn(move || {
                for ev in conn.iter() {
                    match ev {
                        Ok(Event::Incoming(Packet::SubAck(_))) => *subscribed.lock().unwrap() = true,
                        Ok(Event::Incoming(Packet::Publish(p))) => messages.lock().unwrap().push(Message {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                        }),
                        Ok(_) => {}
                        Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    }
                }
            });
        }
        let until = Instant::now() + Duration::from_secs(10);
        while !*subscribed.lock().unwrap() {
            assert!(Instant::now() < until, "subscription not acknowledged");
            std::thread::sleep(Duration::from_millis(20));
        }
        Recorder { messages, client }
    }

    /// A copy of everything received so far.
    pub fn messages(&self) -> Vec<Message> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for the messages, or the timeout passes; returns whether it held.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&[Message]) -> bool) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if pred(&self.messages.lock().unwrap()) {
                return true;
            }
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Publishes a message (for remote-config tests).
    #[allow(dead_code)]
    pub fn publish(&self, topic: &str, payload: &str, retain: bool) {
        self.client.publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec()).unwrap();
    }
}
