//! The Prometheus text exposition format (version 0.0.4), written into a `String`: metric
//! families with `# HELP` and `# TYPE`, samples with escaped labels, and histograms from
//! [`LatencySnapshot`]s in seconds.

use std::fmt::Write;

use super::latency::LatencySnapshot;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (names end in `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Writes families into `out`; every family's samples must follow its header.
pub struct Exposition<'a> {
    out: &'a mut String,
}

impl<'a> Exposition<'a> {
    /// Appends to `out`.
    pub fn new(out: &'a mut String) -> Self {
        Exposition { out }
    }

    /// Starts a family.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        let _ = writeln!(self.out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
        self
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.out.push_str(name);
        write_labels(self.out, labels, None);
        self.out.push(' ');
        write_value(self.out, value);
        self.out.push('\n');
        self
    }

    /// A family of one sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.family(name, kind, help).sample(name, labels, value)
    }

    /// One histogram of the current family (durations, in seconds): cumulative buckets at four
    /// edges per decade from 0.1 ms to 100 s, `+Inf`, `_sum` and `_count`.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &LatencySnapshot) -> &mut Self {
        let mut le = String::with_capacity(16);
        for (edge_secs, count) in h.cumulative(4) {
            le.clear();
            write_value(&mut le, edge_secs);
            self.bucket(name, labels, &le, count);
        }
        self.bucket(name, labels, "+Inf", h.count());
        self.sample(&format!("{name}_sum"), labels, h.sum_secs());
        self.sample(&format!("{name}_count"), labels, h.count() as f64)
    }

    fn bucket(&mut self, name: &str, labels: &[(&str, &str)], le: &str, count: u64) {
        let _ = write!(self.out, "{name}_bucket");
        write_labels(self.out, labels, Some(le));
        let _ = writeln!(self.out, " {count}");
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (k, v) in labels.iter().copied().chain(le.map(|le| ("le", le))) {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::LatencyHistogram;

    #[test]
    fn families_samples_and_histograms_are_in_the_text_format() {
        let h = LatencyHistogram::default();
        for us in [500u64, 2_000, 40_000, 40_000, 900_000] {
            h.record_ns(us * 1_000);
        }
        let mut out = String::new();
        let mut e = Exposition::new(&mut out);
        e.single("x_total", Kind::Counter, "Things.\nMore", &[("camera", "a\"b\\c")], 3.0);
        e.family("lat_seconds", Kind::Histogram, "Latency.").histogram(
            "lat_seconds",
            &[("camera", "a")],
            &h.snapshot(),
        );
        assert!(
            out.starts_with(
                "# HELP x_total Things.\\nMore\n# TYPE x_total counter\nx_total{camera=\"a\\\"b\\\\c\"} 3\n"
            ),
            "{out}"
        );
        assert!(out.contains("lat_seconds_bucket{camera=\"a\",le=\"0.001\"} 1\n"), "{out}");
        assert!(out.contains("lat_seconds_bucket{camera=\"a\",le=\"0.1\"} 4\n"), "{out}");
        assert!(out.contains("lat_seconds_bucket{camera=\"a\",le=\"+Inf\"} 5\n"), "{out}");
        assert!(out.contains("lat_seconds_count{camera=\"a\"} 5\n"), "{out}");
        let sum: f64 = out
            .lines()
            .find(|l| l.starts_with("lat_seconds_sum"))
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 0.9825).abs() < 1e-6, "{sum}");
        // Buckets never decrease.
        let counts: Vec<u64> = out
            .lines()
            .filter(|l| l.starts_with("lat_seconds_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]) && counts.len() == 25, "{counts:?}");
    }
}
