//! Telemetry: logging, latency histograms and the pipeline's counters.

pub mod latency;
pub mod logging;
pub mod pipeline_stats;

pub use latency::{LatencyHistogram, LatencySnapshot};
pub use pipeline_stats::{PipelineStats, STAGES, Stage};
