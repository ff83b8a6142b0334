//! The `[publish]` section: the broker, the client and what is queued for it.

use serde::{Deserialize, Serialize};

use crate::problems::{Problems, is_topic_safe};

/// `[publish]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PublishSection {
    /// MQTT broker host name or address.
    pub broker_host: String,
    /// MQTT broker TCP port.
    pub broker_port: u16,
    /// MQTT client id (empty = `footrackd-<device id>`).
    pub client_id: String,
    /// First topic level.
    pub topic_prefix: String,
    /// MQTT keep-alive, seconds (at least 1).
    pub keep_alive_secs: u64,
    /// Messages that may wait for the broker; beyond this they are dropped and counted.
    pub queue_capacity: usize,
    /// Broker user name (empty = anonymous).
    pub username: String,
    /// Broker password. Never echoed in `config/state`.
    pub password: String,
    /// QoS of track messages (0 or 1).
    pub tracks_qos: u8,
    /// Read the password from this file instead (a systemd credential:
    /// `${CREDENTIALS_DIRECTORY}/mqtt-password`); its content is never logged or echoed.
    pub password_file: String,
    /// Publish a JPEG of the annotated picture (boxes, teams, minimap), retained on
    /// `<prefix>/<device>/snapshot`, every this many seconds of video (0 = never).
    pub snapshot_every_secs: f64,
    /// Also write each snapshot to this file (empty = only MQTT).
    pub snapshot_path: String,
    /// Connect over TLS (rustls; the broker's TLS port is usually 8883).
    pub tls: bool,
    /// PEM file of the CA(s) to trust for the broker's certificate (empty = the system's bundle,
    /// `/etc/ssl/certs/ca-certificates.crt`).
    pub tls_ca_file: String,
    /// PEM client certificate (chain) for brokers that require one (with `tls_key_file`).
    pub tls_cert_file: String,
    /// PEM private key of the client certificate (a systemd credential:
    /// `${CREDENTIALS_DIRECTORY}/mqtt-key`); never logged.
    pub tls_key_file: String,
}

impl Default for PublishSection {
    fn default() -> Self {
        PublishSection {
            broker_host: "127.0.0.1".into(),
            broker_port: 1883,
            client_id: String::new(),
            topic_prefix: "footrack".into(),
            keep_alive_secs: 10,
            queue_capacity: 1024,
            username: String::new(),
            password: String::new(),
            tracks_qos: 0,
            password_file: String::new(),
            snapshot_every_secs: 0.0,
            snapshot_path: String::new(),
            tls: false,
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
        }
    }
}

impl PublishSection {
    /// The broker password: `password`, or the first line of `password_file`. The error names
    /// the file, never its content.
    pub fn password(&self) -> Result<String, String> {
        if self.password_file.is_empty() {
            return Ok(self.password.clone());
        }
        std::fs::read_to_string(&self.password_file)
            .map(|t| t.lines().next().unwrap_or("").to_string())
            .map_err(|e| format!("cannot read the password file {}: {e}", self.password_file))
    }

    /// Checks the section into `p`.
    pub fn check(&self, p: &mut Problems) {
        p.check(!self.broker_host.trim().is_empty(), "publish.broker_host", || "is empty".into());
        p.check(self.password.is_empty() || self.password_file.is_empty(), "publish.password_file", || {
            "give either password or password_file, not both".into()
        });
        if !self.password_file.is_empty()
            && let Err(e) = self.password()
        {
            p.check(false, "publish.password_file", || e);
        }
        p.check(
            self.snapshot_every_secs.is_finite()
                && (self.snapshot_every_secs == 0.0 || self.snapshot_every_secs >= 1.0),
            "publish.snapshot_every_secs",
            || format!("{} must be 0 (off) or at least 1", self.snapshot_every_secs),
        );
        p.check(self.broker_port != 0, "publish.broker_port", || "0 is not a usable port".into());
        p.check(is_topic_safe(&self.topic_prefix), "publish.topic_prefix", || {
            format!("{:?} must be non-empty letters, digits, '-' or '_'", self.topic_prefix)
        });
        // rumqttc asserts keep-alive >= 1 s: refuse it here instead of panicking later.
        p.check((1..=3600).contains(&self.keep_alive_secs), "publish.keep_alive_secs", || {
            format!("{} must be in 1..=3600", self.keep_alive_secs)
        });
        p.check((1..=super::queue::MAX_WAITING).contains(&self.queue_capacity), "publish.queue_capacity", || {
            format!("{} must be in 1..={}", self.queue_capacity, super::queue::MAX_WAITING)
        });
        p.check(self.tracks_qos <= 1, "publish.tracks_qos", || format!("{} must be 0 or 1", self.tracks_qos));
        p.check(self.password.is_empty() || !self.username.is_empty(), "publish.password", || {
            "is set but publish.username is empty".into()
        });
        p.check(self.tls_cert_file.is_empty() == self.tls_key_file.is_empty(), "publish.tls_key_file", || {
            "give both tls_cert_file and tls_key_file, or neither".into()
        });
        let tls_files_set = !self.tls_ca_file.is_empty() || !self.tls_cert_file.is_empty();
        p.check(self.tls || !tls_files_set, "publish.tls", || "TLS files are given but tls = false".into());
        if self.tls
            && self.tls_cert_file.is_empty() == self.tls_key_file.is_empty()
            && let Err(e) = super::tls::client_config(self)
        {
            p.check(false, "publish.tls", || e.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_comes_from_its_file_and_errors_never_show_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mqtt-password");
        std::fs::write(&file, "s3cret-pw\n").unwrap();
        let s =
            PublishSection { username: "cam".into(), password_file: file.display().to_string(), ..Default::default() };
        assert_eq!(s.password().unwrap(), "s3cret-pw");
        let mut p = Problems::default();
        s.check(&mut p);
        assert!(p.is_empty(), "{p:?}");
        let missing =
            PublishSection { username: "cam".into(), password_file: "/nonexistent/pw".into(), ..Default::default() };
        let mut p = Problems::default();
        missing.check(&mut p);
        let text = format!("{p:?}");
        assert!(text.contains("publish.password_file") && text.contains("/nonexistent/pw"), "{text}");
        let both = PublishSection {
            username: "cam".into(),
            password: "x".into(),
            password_file: file.display().to_string(),
            ..Default::default()
        };
        let mut p = Problems::default();
        both.check(&mut p);
        assert!(!format!("{p:?}").contains("s3cret-pw"));
        assert!(!p.is_empty());
    }
}
