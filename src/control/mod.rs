//! The control plane: signals, systemd notification.

pub mod signals;
pub mod systemd;

pub use signals::Intent;
