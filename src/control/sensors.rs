//! Readings of the device's condition: thermal zones, memory, and this process's CPU and RSS.
//! Roots are configurable so that tests drive them with fake trees.

use std::path::{Path, PathBuf};

use super::nvml::{GpuReading, Nvml};

/// One temperature sensor.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Temperature {
    /// Zone type as the kernel names it (e.g. `CPU-therm`, `GPU-therm` on Jetson, `x86_pkg_temp`).
    pub zone: String,
    /// Degrees Celsius.
    pub celsius: f32,
}

/// What the sensors said at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Readings {
    /// Every thermal zone that could be read.
    pub temperatures: Vec<Temperature>,
    /// `MemAvailable`, MiB.
    pub mem_available_mb: Option<u64>,
    /// This process's resident set, MiB.
    pub rss_mb: Option<f64>,
    /// This process's CPU time so far (user + system), seconds.
    pub cpu_secs: Option<f64>,
    /// GPUs seen through NVML (empty without it).
    pub gpus: Vec<GpuReading>,
    /// `"ok"`, or why there are no GPU readings (no NVML library, no driver, turned off).
    pub nvml: String,
}

impl Readings {
    /// The hottest zone, °C.
    pub fn max_celsius(&self) -> Option<f32> {
        self.temperatures.iter().map(|t| t.celsius).fold(None, |m, c| Some(m.map_or(c, |m: f32| m.max(c))))
    }
}

/// A memory figure of this process from `<procfs>/self/status` (`VmRSS:`, `VmHWM:` ...), MiB.
pub fn process_memory_mb(procfs: &Path, key: &str) -> Option<f64> {
    let status = std::fs::read_to_string(procfs.join("self/status")).ok()?;
    meminfo_kb(&status, key).map(|kb| kb as f64 / 1024.0)
}

/// Reads sensors under configurable roots.
#[derive(Clone, Debug)]
pub struct Sensors {
    sysfs: PathBuf,
    procfs: PathBuf,
    ticks_per_sec: f64,
    nvml: Result<Nvml, String>,
}

impl Sensors {
    /// Sensors under `sysfs` (normally `/sys`) and `procfs` (normally `/proc`).
    pub fn new(sysfs: &Path, procfs: &Path) -> Self {
        // /proc reports CPU time in USER_HZ ticks, which Linux fixes at 100 on every architecture.
        let ticks = 100.0;
        Sensors {
            sysfs: sysfs.to_path_buf(),
            procfs: procfs.to_path_buf(),
            ticks_per_sec: ticks,
            nvml: Err("not loaded".into()),
        }
    }

    /// Also reads GPUs through NVML from `library` (empty = off). Absent or failing NVML is kept
    /// as a reason ([`Sensors::nvml_status`]), never an error.
    pub fn with_nvml(mut self, library: &str) -> Self {
        self.nvml =
            if library.is_empty() { Err("off (throttle.nvml_library is empty)".into()) } else { Nvml::load(library) };
        match &self.nvml {
            Ok(n) => tracing::info!(
                gpus = n.devices(),
                "NVML loaded: GPU temperature, memory and utilisation in health and the throttle."
            ),
            Err(why) => tracing::debug!(%why, "No NVML: GPU readings absent from health."),
        }
        self
    }

    /// `"ok"`, or why there are no NVML readings.
    pub fn nvml_status(&self) -> &str {
        match &self.nvml {
            Ok(_) => "ok",
            Err(why) => why,
        }
    }

    /// Reads everything; unreadable sensors are simply absent.
    pub fn read(&self) -> Readings {
        let mut r =
            Readings { temperatures: self.thermal_zones(), nvml: self.nvml_status().to_string(), ..Default::default() };
        if let Ok(nvml) = &self.nvml {
            r.gpus = nvml.read();
            // GPU temperatures join the thermal zones: the throttle sees the hottest of all.
            r.temperatures.extend(r.gpus.iter().filter_map(|g| {
                Some(Temperature { zone: format!("GPU{} (NVML)", g.index), celsius: g.temperature_c? })
            }));
        }
        if let Ok(meminfo) = std::fs::read_to_string(self.procfs.join("meminfo")) {
            r.mem_available_mb = meminfo_kb(&meminfo, "MemAvailable:").map(|kb| kb / 1024);
        }
        r.rss_mb = process_memory_mb(&self.procfs, "VmRSS:");
        if let Ok(stat) = std::fs::read_to_string(self.procfs.join("self/stat")) {
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                if let (Some(u), Some(s)) =
                    (f.get(11).and_then(|v| v.parse::<f64>().ok()), f.get(12).and_then(|v| v.parse::<f64>().ok()))
                {
                    r.cpu_secs = Some((u + s) / self.ticks_per_sec);
                }
            }
        }
        r
    }

    fn thermal_zones(&self) -> Vec<Temperature> {
        let dir = self.sysfs.join("class/thermal");
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut zones: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("thermal_zone")))
            .collect();
        zones.sort();
        zones
            .into_iter()
            .filter_map(|z| {
                let milli: f64 = std::fs::read_to_string(z.join("temp")).ok()?.trim().parse().ok()?;
                let zone = std::fs::read_to_string(z.join("type"))
                    .map(|t| t.trim().to_string())
                    .unwrap_or_else(|_| z.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
                // Some drivers report -273 °C or absurd values for absent sensors: skip them.
                let celsius = (milli / 1000.0) as f32;
                (-40.0..200.0).contains(&celsius).then_some(Temperature { zone, celsius })
            })
            .collect()
    }
}

fn meminfo_kb(text: &str, key: &str) -> Option<u64> {
    text.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_fake_jetson_tree() {
        let root = tempfile::tempdir().unwrap();
        let sys = root.path().join("sys");
        let proc_ = root.path().join("proc");
        for (i, (name, milli)) in
            [("CPU-therm", "51500"), ("GPU-therm", "63000"), ("PMIC-Die", "-273000")].iter().enumerate()
        {
            let z = sys.join(format!("class/thermal/thermal_zone{i}"));
            std::fs::create_dir_all(&z).unwrap();
            std::fs::write(z.join("type"), format!("{name}\n")).unwrap();
            std::fs::write(z.join("temp"), format!("{milli}\n")).unwrap();
        }
        std::fs::create_dir_all(proc_.join("self")).unwrap();
        std::fs::write(
            proc_.join("meminfo"),
            "MemTotal:       7999999 kB\nMemFree: 1 kB\nMemAvailable:    2097152 kB\n",
        )
        .unwrap();
        std::fs::write(proc_.join("self/status"), "Name: x\nVmRSS:\t  204800 kB\n").unwrap();
        std::fs::write(proc_.join("self/stat"), "42 (foot rack) S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 0 0 0")
            .unwrap();
        let r = Sensors::new(&sys, &proc_).read();
        assert_eq!(r.temperatures.len(), 2, "the -273 °C zone is skipped");
        assert_eq!(r.max_celsius(), Some(63.0));
        assert_eq!(r.temperatures[0].zone, "CPU-therm");
        assert_eq!(r.mem_available_mb, Some(2048));
        assert_eq!(r.rss_mb, Some(200.0));
        assert!(r.cpu_secs.unwrap() > 0.0);
    }

    #[test]
    fn missing_trees_give_empty_readings_not_errors() {
        let r = Sensors::new(Path::new("/nonexistent/sys"), Path::new("/nonexistent/proc")).read();
        assert_eq!(r, Readings { nvml: "not loaded".into(), ..Readings::default() });
    }
}
