//! The control plane: signals as intents, systemd notification, sensor readings and the
//! self-throttle. Each part is small and synchronous; `app` drives them from its supervisor loop.

pub mod nvml;
mod options;
pub mod platform;
pub mod sensors;
pub mod signals;
pub mod systemd;
pub mod throttle;

pub use options::{ControlSection, ThrottleSection};
pub use signals::Intent;
