//! The configuration as written: every stage's section, assembled, with defaults; unknown
//! keys refused.
//!
//! Every option carries its unit in its name. Each section type belongs to the stage that reads
//! it; only the sections of the appliance as a whole (`[device]`, `[log]`) live here.

use serde::{Deserialize, Serialize};

pub use crate::control::{ControlSection, ThrottleSection};
pub use crate::infer::InferSection;
pub use crate::pitch::PitchSection;
pub use crate::publish::PublishSection;
pub use crate::publish::http::HttpSection;
pub use crate::ring::RingSection;
pub use crate::source::SourceSection;
pub use crate::track::TrackSection;

/// The whole configuration file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Identity of this appliance.
    pub device: DeviceSection,
    /// Where video comes from.
    pub source: SourceSection,
    /// The frame ring between decode and inference.
    pub ring: RingSection,
    /// The detector.
    pub infer: InferSection,
    /// The tracker.
    pub track: TrackSection,
    /// MQTT output.
    pub publish: PublishSection,
    /// Health reporting and remote control.
    pub control: ControlSection,
    /// Self-throttling against temperature and memory.
    pub throttle: ThrottleSection,
    /// Image-to-pitch calibration.
    pub pitch: PitchSection,
    /// The local HTTP face: metrics, health, live view (off by default).
    pub http: HttpSection,
    /// Logging.
    pub log: LogSection,
}

/// `[device]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceSection {
    /// Name used in MQTT topics: `footrack/<id>/...`. Letters, digits, `-` and `_`.
    pub id: String,
}

impl Default for DeviceSection {
    fn default() -> Self {
        DeviceSection { id: "footrackd".into() }
    }
}

/// `[log]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// `tracing` filter, e.g. `info` or `footrackd=debug`.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { level: "info".into() }
    }
}
