//! The throttle: picks the inference rate from temperature and memory.
//!
//! Back off fast (halve the rate at once when hot or short of memory; straight to the minimum
//! when critical), recover slowly (one tenth of the range per interval, only after conditions
//! have been good for two intervals), with hysteresis between the cut and resume thresholds.
//! Pure: it is fed readings and returns a rate, so tests drive it directly.

use super::options::ThrottleSection;

/// Why the rate is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleState {
    /// Running at the ceiling.
    Nominal,
    /// Cut because of temperature.
    Thermal,
    /// Cut because of memory.
    Memory,
    /// Cut lifted, climbing back.
    Recovering,
}

/// Inputs of one decision.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ThrottleInputs {
    /// Hottest zone, °C.
    pub max_celsius: Option<f32>,
    /// MemAvailable, MiB.
    pub mem_available_mb: Option<u64>,
}

/// The controller.
#[derive(Clone, Debug)]
pub struct Throttle {
    cfg: ThrottleSection,
    ceiling: f32,
    rate: f32,
    state: ThrottleState,
    good_intervals: u32,
}

impl Throttle {
    /// A throttle whose rate when cool is `ceiling_fps` (the source rate, or a configured maximum).
    pub fn new(cfg: &ThrottleSection, ceiling_fps: f32) -> Self {
        let ceiling = Self::ceiling_for(cfg, ceiling_fps);
        Throttle { cfg: cfg.clone(), ceiling, rate: ceiling, state: ThrottleState::Nominal, good_intervals: 0 }
    }

    fn ceiling_for(cfg: &ThrottleSection, ceiling_fps: f32) -> f32 {
        let c = if cfg.max_fps > 0.0 { cfg.max_fps.min(ceiling_fps.max(cfg.min_fps)) } else { ceiling_fps };
        c.max(cfg.min_fps)
    }

    /// Changes the settings (keeps the current rate within the new bounds).
    pub fn reconfigure(&mut self, cfg: &ThrottleSection, ceiling_fps: f32) {
        self.cfg = cfg.clone();
        self.ceiling = Self::ceiling_for(cfg, ceiling_fps);
        self.rate = self.rate.clamp(self.cfg.min_fps, self.ceiling);
    }

    /// The current rate, fps.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// The rate when nothing is wrong, fps.
    pub fn ceiling(&self) -> f32 {
        self.ceiling
    }

    /// The current state.
    pub fn state(&self) -> ThrottleState {
        self.state
    }

    /// One decision; returns the new rate.
    pub fn update(&mut self, inputs: ThrottleInputs) -> f32 {
        let c = &self.cfg;
        let min = c.min_fps;
        let temp = inputs.max_celsius;
        let mem = inputs.mem_available_mb;
        let critical = temp.is_some_and(|t| t >= c.temp_critical_c);
        let hot = temp.is_some_and(|t| t >= c.temp_high_c);
        let short = mem.is_some_and(|m| m < c.mem_min_available_mb);
        let cool = temp.is_none_or(|t| t < c.temp_resume_c);
        let roomy = mem.is_none_or(|m| m >= c.mem_resume_available_mb);
        if critical {
            self.rate = min;
            self.state = ThrottleState::Thermal;
            self.good_intervals = 0;
        } else if hot || short {
            self.rate = (self.rate * 0.5).max(min);
            self.state = if hot { ThrottleState::Thermal } else { ThrottleState::Memory };
            self.good_intervals = 0;
        } else if cool && roomy && self.rate < self.ceiling {
            self.good_intervals += 1;
            if self.good_intervals >= 2 {
                self.rate = (self.rate + (self.ceiling - min) / 10.0).min(self.ceiling);
                self.state = if self.rate >= self.ceiling { ThrottleState::Nominal } else { ThrottleState::Recovering };
            }
        } else if self.rate >= self.ceiling {
            self.state = ThrottleState::Nominal;
        }
        // Between resume and high thresholds: hold (hysteresis).
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &mut Throttle, temps: &[f32]) -> Vec<f32> {
        temps.iter().map(|&c| t.update(ThrottleInputs { max_celsius: Some(c), mem_available_mb: Some(4096) })).collect()
    }

    #[test]
    fn a_temperature_ramp_lowers_the_rate_and_a_cool_down_restores_it_slowly() {
        let mut t = Throttle::new(&ThrottleSection::default(), 25.0);
        let up = run(&mut t, &[60.0, 70.0, 78.0, 81.0, 84.0, 86.0]);
        assert_eq!(&up[..3], &[25.0, 25.0, 25.0]);
        assert_eq!(up[3], 12.5, "halved at once above 80 °C");
        assert_eq!(up[5], 3.125);
        assert_eq!(t.state(), ThrottleState::Thermal);
        assert_eq!(run(&mut t, &[91.0]), vec![2.0], "critical goes to the minimum");
        // 75 °C: below high but above resume: hold.
        assert_eq!(run(&mut t, &[75.0, 75.0, 75.0]), vec![2.0, 2.0, 2.0]);
        // Cool: climbs by a tenth of the range per interval after two good intervals.
        let down = run(&mut t, &[60.0; 14]);
        assert_eq!(down[0], 2.0);
        assert!((down[1] - 4.3).abs() < 1e-4, "{down:?}");
        assert!(down.windows(2).all(|w| w[1] >= w[0]), "monotonic recovery {down:?}");
        assert_eq!(*down.last().unwrap(), 25.0);
        assert_eq!(t.state(), ThrottleState::Nominal);
    }

    #[test]
    fn a_memory_squeeze_lowers_the_rate_and_relief_restores_it() {
        let mut t = Throttle::new(&ThrottleSection::default(), 20.0);
        let m = |t: &mut Throttle, mb: u64| {
            t.update(ThrottleInputs { max_celsius: Some(50.0), mem_available_mb: Some(mb) })
        };
        assert_eq!(m(&mut t, 1000), 20.0);
        assert_eq!(m(&mut t, 200), 10.0);
        assert_eq!(t.state(), ThrottleState::Memory);
        assert_eq!(m(&mut t, 100), 5.0);
        // 400 MiB: above the cut but below resume: hold.
        assert_eq!(m(&mut t, 400), 5.0);
        assert_eq!(m(&mut t, 400), 5.0);
        let mut last = 5.0;
        for _ in 0..20 {
            last = m(&mut t, 2000);
        }
        assert_eq!(last, 20.0);
    }

    #[test]
    fn no_sensors_means_no_throttling() {
        let mut t = Throttle::new(&ThrottleSection::default(), 30.0);
        assert_eq!(t.update(ThrottleInputs::default()), 30.0);
        assert_eq!(t.state(), ThrottleState::Nominal);
    }
}
