//! A lock-free latency histogram with fixed log-spaced buckets: recording is one atomic add,
//! and percentiles are read without stopping writers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const BUCKETS: usize = 96;
/// Lower edge of the first bucket, microseconds.
const MIN_US: f64 = 100.0;
/// Buckets per factor of 10.
const PER_DECADE: f64 = 16.0;

/// Histogram of durations from 0.1 ms to about 100 s.
#[derive(Debug)]
pub struct LatencyHistogram {
    counts: [AtomicU64; BUCKETS],
    sum_ns: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { counts: std::array::from_fn(|_| AtomicU64::new(0)), sum_ns: AtomicU64::new(0) }
    }
}

fn bucket_of(us: f64) -> usize {
    if us <= MIN_US {
        return 0;
    }
    (((us / MIN_US).log10() * PER_DECADE) as usize + 1).min(BUCKETS - 1)
}

fn upper_edge_us(b: usize) -> f64 {
    MIN_US * 10f64.powf(b as f64 / PER_DECADE)
}

/// An edge in seconds to four significant digits (1e-3, not 0.0009999999).
fn round_edge(secs: f64) -> f64 {
    let scale = 10f64.powi(3 - secs.log10().floor() as i32);
    (secs * scale).round() / scale
}

/// Counts of a histogram at one moment, for computing percentiles and differences.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencySnapshot {
    counts: [u64; BUCKETS],
    sum_ns: u64,
}

impl LatencyHistogram {
    /// Records one duration in nanoseconds.
    pub fn record_ns(&self, ns: u64) {
        self.counts[bucket_of(ns as f64 / 1000.0)].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> LatencySnapshot {
        LatencySnapshot {
            counts: std::array::from_fn(|i| self.counts[i].load(Relaxed)),
            sum_ns: self.sum_ns.load(Relaxed),
        }
    }
}

impl LatencySnapshot {
    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Samples recorded since `earlier`.
    pub fn since(&self, earlier: &LatencySnapshot) -> LatencySnapshot {
        LatencySnapshot {
            counts: std::array::from_fn(|i| self.counts[i].saturating_sub(earlier.counts[i])),
            sum_ns: self.sum_ns.saturating_sub(earlier.sum_ns),
        }
    }

    /// The sum of every recorded duration, seconds.
    pub fn sum_secs(&self) -> f64 {
        self.sum_ns as f64 / 1e9
    }

    /// Cumulative counts at every `step`-th bucket's upper edge (seconds), below the last bucket
    /// (whose edge is no bound): the buckets of a Prometheus histogram.
    pub fn cumulative(&self, step: usize) -> impl Iterator<Item = (f64, u64)> + '_ {
        let step = step.max(1);
        let mut seen = 0u64;
        self.counts[..BUCKETS - 1].iter().enumerate().filter_map(move |(b, &c)| {
            seen += c;
            b.is_multiple_of(step).then(|| (round_edge(upper_edge_us(b) / 1e6), seen))
        })
    }

    /// The `q`-quantile (0..1) in milliseconds (the upper edge of its bucket, within 15 %), or `None` if empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(upper_edge_us(b) / 1000.0);
            }
        }
        Some(upper_edge_us(BUCKETS - 1) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_a_bucket_of_the_truth() {
        let h = LatencyHistogram::default();
        for ms in 1..=100u64 {
            h.record_ns(ms * 1_000_000);
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 100);
        let p50 = s.quantile_ms(0.5).unwrap();
        let p99 = s.quantile_ms(0.99).unwrap();
        assert!((50.0..50.0 * 1.16).contains(&p50), "{p50}");
        assert!((99.0..99.0 * 1.16).contains(&p99), "{p99}");
        assert!(LatencyHistogram::default().snapshot().quantile_ms(0.5).is_none());
    }
}
