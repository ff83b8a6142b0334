//! Problems found in a configuration: the key and what is wrong with its value.
//!
//! Every stage checks its own section into one [`Problems`] list, so that validation reports
//! every problem at once.

use std::fmt;

/// One thing wrong with a configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Dotted key, e.g. `infer.tile_columns`.
    pub key: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found in one configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Records a problem at `key` unless `ok`; the message is built only when needed.
    pub fn check(&mut self, ok: bool, key: &str, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(Problem { key: key.into(), message: message() });
        }
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// Whether `v` is a finite number in `0..=1`.
pub fn is_unit(v: f32) -> bool {
    v.is_finite() && (0.0..=1.0).contains(&v)
}

/// Whether `s` is usable as one MQTT topic level and an id: non-empty letters, digits, `-`, `_`.
pub fn is_topic_safe(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
