//! Telemetry: logging, latency histograms, the pipeline's counters and their Prometheus text.

pub mod calibration_stats;
pub mod latency;
pub mod logging;
pub mod pipeline_stats;
pub mod prometheus;

pub use calibration_stats::{CalibrationReading, CalibrationStats};
pub use latency::{LatencyHistogram, LatencySnapshot};
pub use pipeline_stats::{PipelineStats, STAGES, Stage};
