//! A TCP proxy on loopback that delays every chunk in each direction (a slow WAN or cellular
//! link in front of the broker), and that can cut the link (an outage). Bounded: each connection's pumps end when either side closes,
//! and the listener stops with the proxy.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running proxy from `port` to the target.
pub struct DelayProxy {
    /// The port clients connect to.
    pub port: u16,
    stop: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl DelayProxy {
    /// Forwards 127.0.0.1:`port` to 127.0.0.1:`target`, holding every chunk `one_way` in each direction.
    pub fn start(target: u16, one_way: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (stopped, is_cut, streams) = (Arc::clone(&stop), Arc::clone(&cut), Arc::clone(&live));
        std::thread::spawn(move || {
            while !stopped.load(Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if is_cut.load(Relaxed) {
                            continue; // refused: dropped at once
                        }
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                        streams.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                        let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                        std::thread::spawn(move || pump(client, server, one_way));
                        std::thread::spawn(move || pump(s2, c2, one_way));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        DelayProxy { port, stop, cut, live }
    }

    /// Cuts every connection and refuses new ones (`true`), or lets them through again.
    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Relaxed);
        if cut {
            for s in self.live.lock().unwrap().drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                std::thread::sleep(delay);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}
