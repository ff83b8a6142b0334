//! The `[control]` and `[throttle]` sections: health, remote control, shutdown and self-throttling.

use serde::{Deserialize, Serialize};

use crate::problems::Problems;

/// `[control]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSection {
    /// Period of `health` messages, seconds.
    pub health_interval_secs: f32,
    /// Accept partial configs on `config/set` (off by default: turn on only with a broker whose
    /// ACL lets no one but the operator publish there, see docs/security.md).
    pub remote_config: bool,
    /// SIGTERM grace: longest wait for the pipeline to drain, seconds.
    pub shutdown_deadline_secs: f32,
    /// Where accepted remote changes are kept (TOML overlay applied over the config file at start).
    /// Empty = `<config file stem>.remote.toml` beside the config file.
    pub remote_overrides_path: String,
    /// A remote change is on probation this long: if frames then flow at less than a fifth of
    /// the rate before it (the camera still delivering), it is rolled back and reported on
    /// `config/error`; otherwise it is kept and persisted.
    pub remote_probation_secs: f32,
}

impl Default for ControlSection {
    fn default() -> Self {
        ControlSection {
            health_interval_secs: 5.0,
            remote_config: false,
            shutdown_deadline_secs: 5.0,
            remote_overrides_path: String::new(),
            remote_probation_secs: 10.0,
        }
    }
}

impl ControlSection {
    /// Checks the section into `p`.
    pub fn check(&self, p: &mut Problems) {
        p.check(
            self.remote_probation_secs.is_finite() && (1.0..=600.0).contains(&self.remote_probation_secs),
            "control.remote_probation_secs",
            || format!("{} must be in 1..=600", self.remote_probation_secs),
        );
        p.check(
            self.health_interval_secs.is_finite() && (0.1..=3600.0).contains(&self.health_interval_secs),
            "control.health_interval_secs",
            || format!("{} must be in 0.1..=3600", self.health_interval_secs),
        );
        p.check(
            self.shutdown_deadline_secs.is_finite() && (0.1..=120.0).contains(&self.shutdown_deadline_secs),
            "control.shutdown_deadline_secs",
            || format!("{} must be in 0.1..=120", self.shutdown_deadline_secs),
        );
    }
}

/// `[throttle]`: self-throttling against temperature and memory.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleSection {
    /// Adjust the inference rate to temperature and memory.
    pub enabled: bool,
    /// Lowest inference rate the throttle goes down to.
    pub min_fps: f32,
    /// Highest inference rate (the rate when cool; 0 = the source's own rate).
    pub max_fps: f32,
    /// How often sensors are read and the rate adjusted.
    pub interval_secs: f32,
    /// Above this temperature (any zone) the rate is cut.
    pub temp_high_c: f32,
    /// Above this temperature the rate goes straight to `min_fps`.
    pub temp_critical_c: f32,
    /// Below this temperature the rate may recover (hysteresis).
    pub temp_resume_c: f32,
    /// Below this much available memory the rate is cut.
    pub mem_min_available_mb: u64,
    /// Above this much available memory the rate may recover.
    pub mem_resume_available_mb: u64,
    /// Root of sysfs (thermal zones); a fake tree in tests.
    pub sysfs_root: String,
    /// Root of procfs (meminfo, the process's stat); a fake tree in tests.
    pub procfs_root: String,
    /// NVIDIA's management library, loaded at start for GPU temperature (fed to the throttle),
    /// memory and utilisation in health; absent is fine (reported). Empty = do not load it.
    pub nvml_library: String,
}

impl Default for ThrottleSection {
    fn default() -> Self {
        ThrottleSection {
            enabled: true,
            min_fps: 2.0,
            max_fps: 0.0,
            interval_secs: 2.0,
            temp_high_c: 80.0,
            temp_critical_c: 90.0,
            temp_resume_c: 72.0,
            mem_min_available_mb: 256,
            mem_resume_available_mb: 512,
            sysfs_root: "/sys".into(),
            procfs_root: "/proc".into(),
            nvml_library: "libnvidia-ml.so.1".into(),
        }
    }
}

impl ThrottleSection {
    /// Checks the section into `p`.
    pub fn check(&self, p: &mut Problems) {
        let fin = |v: f32| v.is_finite();
        p.check(fin(self.min_fps) && self.min_fps > 0.0 && self.min_fps <= 120.0, "throttle.min_fps", || {
            format!("{} must be in (0, 120]", self.min_fps)
        });
        p.check(
            fin(self.max_fps) && self.max_fps >= 0.0 && (self.max_fps == 0.0 || self.max_fps >= self.min_fps),
            "throttle.max_fps",
            || format!("{} must be 0 or at least throttle.min_fps ({})", self.max_fps, self.min_fps),
        );
        p.check(
            fin(self.interval_secs) && (0.1..=600.0).contains(&self.interval_secs),
            "throttle.interval_secs",
            || format!("{} must be in 0.1..=600", self.interval_secs),
        );
        p.check(fin(self.temp_resume_c) && self.temp_resume_c < self.temp_high_c, "throttle.temp_resume_c", || {
            format!("{} must be below throttle.temp_high_c ({})", self.temp_resume_c, self.temp_high_c)
        });
        p.check(
            fin(self.temp_critical_c) && self.temp_critical_c > self.temp_high_c,
            "throttle.temp_critical_c",
            || format!("{} must be above throttle.temp_high_c ({})", self.temp_critical_c, self.temp_high_c),
        );
        p.check(self.mem_resume_available_mb >= self.mem_min_available_mb, "throttle.mem_resume_available_mb", || {
            format!(
                "{} must be at least throttle.mem_min_available_mb ({})",
                self.mem_resume_available_mb, self.mem_min_available_mb
            )
        });
        p.check(!self.sysfs_root.is_empty() && !self.procfs_root.is_empty(), "throttle.sysfs_root", || {
            "sysfs_root and procfs_root must not be empty".into()
        });
    }
}
