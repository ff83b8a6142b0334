//! The control plane: signals, systemd notification.

pub mod health;
pub mod remote;
pub mod sensors;
pub mod signals;
pub mod systemd;
pub mod throttle;

pub use signals::Intent;
