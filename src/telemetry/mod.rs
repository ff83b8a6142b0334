//! Telemetry: logging, latency histograms and the pipeline's counters.

pub mod calibration_stats;
pub mod latency;
pub mod logging;
pub mod pipeline_stats;

pub use calibration_stats::{CalibrationReading, CalibrationStats};
pub use latency::{LatencyHistogram, LatencySnapshot};
pub use pipeline_stats::{PipelineStats, STAGES, Stage};
