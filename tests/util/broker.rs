//! A mosquitto broker started for one test on a free loopback port, killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running mosquitto.
pub struct Broker {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    _dir: tempfile::TempDir,
}

fn mosquitto_binary() -> PathBuf {
    for p in ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"] {
        if std::path::Path::new(p).is_file() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("mosquitto")
}

/// A free TCP port on loopback (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Broker {
    /// Starts mosquitto and waits until it accepts connections.
    ///
    /// # Panics
    /// If mosquitto is not installed (run scripts/setup.sh) or does not start within 10 s.
    pub fn start() -> Broker {
        Self::start_on(free_port())
    }

    /// Starts mosquitto on a given loopback port (one a daemon already tries to reach).
    ///
    /// # Panics
    /// As [`Broker::start`].
    pub fn start_on(port: u16) -> Broker {
        Self::start_with(port, "")
    }

    /// Starts mosquitto on a loopback port with `extra` lines appended to its configuration
    /// (another listener, a bridge); waits for `port` only.
    ///
    /// # Panics
    /// As [`Broker::start`].
    pub fn start_with(port: u16, extra: &str) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}"))
            .unwrap();
        let child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto must be installed (scripts/setup.sh)");
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "mosquitto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker { child, port, _dir: dir }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
