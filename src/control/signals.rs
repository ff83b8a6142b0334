//! Unix signals as intents: SIGTERM = graceful stop, SIGINT = fast stop, SIGHUP = reload.
//!
//! The signals are blocked in every thread (the mask is inherited, so [`install`] must run
//! before any thread is spawned) and received synchronously by one thread with `sigwait`,
//! which turns each into an [`Intent`] on a channel. No async-signal-safety concerns arise.

use std::sync::mpsc::{Receiver, Sender, channel};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

/// What the daemon is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Stop the source, drain the pipeline, publish `stopped`, exit (SIGTERM).
    Stop,
    /// Stop quickly without draining (SIGINT, or a second SIGTERM).
    FastStop,
    /// Re-read and apply the configuration file (SIGHUP).
    Reload,
}

/// Blocks SIGTERM, SIGINT and SIGHUP in this thread (and threads spawned later) and starts the
/// receiving thread. Returns the channel of intents and a sender so other parts (tests, the
/// input ending) can post intents too.
pub fn install() -> nix::Result<(Sender<Intent>, Receiver<Intent>)> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.add(Signal::SIGHUP);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    let (tx, rx) = channel();
    let sender = tx.clone();
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
        let mut stops = 0;
        loop {
            let Ok(sig) = set.wait() else { continue };
            let intent = match sig {
                Signal::SIGHUP => Intent::Reload,
                Signal::SIGINT => Intent::FastStop,
                _ => {
                    stops += 1;
                    if stops > 1 { Intent::FastStop } else { Intent::Stop }
                }
            };
            tracing::info!(signal = ?sig, intent = ?intent, "Signal received.");
            if tx.send(intent).is_err() {
                return;
            }
        }
    });
    if spawned.is_err() {
        return Err(nix::errno::Errno::EAGAIN);
    }
    Ok((sender, rx))
}
