//! The supervisor: the control loop of a run. It turns intents (signals, reloads, remote
//! config) into actions, feeds the systemd watchdog while frames progress, throttles, publishes
//! health, and applies every new configuration between frames through one path.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rumqttc::QoS;

use super::RunOptions;
use super::health::{HealthReporter, HealthSources};
use super::worker::WorkerCommand;
use crate::config::{self, Config, remote};
use crate::control::Intent;
use crate::control::sensors::{Readings, Sensors};
use crate::control::systemd::Notifier;
use crate::control::throttle::{Throttle, ThrottleInputs};
use crate::infer::InferError;
use crate::publish::{IncomingMessage, Publisher};
use crate::ring::FrameRing;
use crate::shutdown::Shutdown;
use crate::source::{SourceState, SourceStats};
use crate::telemetry::{LatencySnapshot, PipelineStats};

/// When the pipeline first delivered frames, for the summary.
#[derive(Clone, Debug, Default)]
pub(super) struct Progress {
    /// When the first frame was published end to end.
    pub(super) first_frame_at: Option<Instant>,
    /// When the 10th frame was, and how many were processed then (start of the steady state).
    pub(super) steady_from: Option<(Instant, u64)>,
    /// The latency histogram at that moment: warm-up latency, and the base of the steady one.
    pub(super) warmup_latency: Option<LatencySnapshot>,
    /// Each stage's total time at that moment, ns: the base of the steady per-stage means.
    pub(super) warmup_stage_ns: Option<[u64; 5]>,
}

/// The control loop's state: health reporting, throttling, and applying new configurations.
pub(super) struct Supervisor {
    pub(super) throttle: Throttle,
    pub(super) throttle_ceiling_known: bool,
    pub(super) health: HealthReporter,
    pub(super) sensors: Sensors,
    pub(super) readings: Readings,
    pub(super) last_health: Instant,
    pub(super) last_throttle: Instant,
    pub(super) last_status: Instant,
    pub(super) publisher: Arc<Publisher>,
    pub(super) source_stats: Arc<SourceStats>,
    pub(super) pipeline_stats: Arc<PipelineStats>,
    pub(super) ring: Arc<FrameRing>,
    pub(super) decoder: &'static str,
    pub(super) cmd_tx: SyncSender<WorkerCommand>,
    pub(super) opts: RunOptions,
    pub(super) current: Config,
    pub(super) shutdown: Shutdown,
    /// Processed-frame counts sampled about once a second (the rate before a change).
    pub(super) rate_samples: std::collections::VecDeque<(Instant, u64)>,
    /// The remote change on probation, if any.
    pub(super) probation: Option<Probation>,
    /// What the daemon runs on.
    pub(super) platform: crate::control::platform::Platform,
}

/// A remote change that was applied but not yet kept: the configuration before it, the patch to
/// persist once it has proved itself, and the processing rate before it.
/// Why a probation ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProbationEnd {
    /// Its time is up: keep or roll back.
    Due,
    /// A newer change arrived: keep it (it has run so far) and judge the newer one.
    Superseded,
    /// The daemon stops: keep (persist) unless frames nearly stopped; nothing to roll back.
    Stopping,
}

pub(super) struct Probation {
    previous: Config,
    patch: serde_json::Value,
    since: Instant,
    processed_at: u64,
    fps_before: f64,
}

impl Supervisor {
    /// Runs until the worker has finished (input ended, or a stop drained it) or the shutdown
    /// deadline passed.
    pub(super) fn run(
        &mut self,
        intents: &Receiver<Intent>,
        remote_in: &Receiver<IncomingMessage>,
        notifier: &mut Notifier,
        worker: &JoinHandle<Result<(), InferError>>,
    ) -> Progress {
        let started = Instant::now();
        let mut progress = Progress::default();
        let mut last_processed = 0u64;
        let mut last_progress = Instant::now();
        let mut stop_deadline: Option<Instant> = None;
        let deadline = Duration::from_secs_f32(self.current.control.shutdown_deadline_secs);
        let watchdog_every = notifier.watchdog_period().map(|p| p / 2).unwrap_or(Duration::from_secs(5));
        let mut last_watchdog = Instant::now();
        // Ready once every thread runs: a camera that is offline at boot is waited for, with
        // progress in STATUS and health, not reported as a failed start.
        notifier.ready();
        tracing::info!("Ready: waiting for frames.");
        loop {
            match intents.recv_timeout(Duration::from_millis(50)) {
                Ok(Intent::Stop) => {
                    tracing::info!("Stopping: draining the pipeline.");
                    notifier.stopping();
                    self.shutdown.drain();
                    stop_deadline.get_or_insert(Instant::now() + deadline);
                }
                Ok(Intent::FastStop) => {
                    tracing::info!("Stopping now.");
                    notifier.stopping();
                    self.shutdown.abort();
                    stop_deadline.get_or_insert(Instant::now() + deadline.min(Duration::from_secs(1)));
                }
                Ok(Intent::Reload) => match reload(&self.opts) {
                    Ok(new_cfg) => {
                        let _refusal_is_logged = self.apply(new_cfg, "SIGHUP");
                    }
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "Reload refused; the running configuration stays.")
                    }
                },
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
            }
            while let Ok(msg) = remote_in.try_recv() {
                self.remote_config(&msg.payload);
            }

            let processed = self.pipeline_stats.processed.load(Relaxed);
            if progress.steady_from.is_none() && processed >= 10 {
                progress.steady_from = Some((Instant::now(), processed));
                progress.warmup_latency = Some(self.pipeline_stats.latency.snapshot());
                progress.warmup_stage_ns = Some(crate::telemetry::STAGES.map(|st| self.pipeline_stats.stage_ns(st)));
            }
            if processed > last_processed {
                last_processed = processed;
                last_progress = Instant::now();
                if progress.first_frame_at.is_none() {
                    progress.first_frame_at = Some(Instant::now());
                    tracing::info!(
                        startup_ms = started.elapsed().as_millis() as u64,
                        "First frame published end to end."
                    );
                }
            }
            // WATCHDOG while frames make progress, or while the source waits for its camera
            // (reconnecting or not yet started: the daemon is doing what it should). Frames that
            // stop while the source says it is running mean a stuck pipeline: no WATCHDOG, and
            // systemd restarts the daemon.
            let source_waiting = matches!(self.source_stats.state(), SourceState::Retrying | SourceState::Starting);
            let alive = last_progress.elapsed() < watchdog_every * 2 || source_waiting;
            if notifier.is_ready() && alive && last_watchdog.elapsed() >= watchdog_every {
                notifier.watchdog();
                last_watchdog = Instant::now();
            }
            self.tick(notifier);
            // Stopping: a change still on probation is judged on what it showed so far.
            if stop_deadline.is_some() || worker.is_finished() {
                self.end_probation(ProbationEnd::Stopping);
            }
            if worker.is_finished() {
                self.shutdown.drain();
                return progress;
            }
            if let Some(d) = stop_deadline
                && Instant::now() > d
            {
                tracing::warn!("Shutdown deadline passed; abandoning frames still in flight.");
                self.shutdown.abort();
                return progress;
            }
        }
    }

    /// Periodic work: probation of a remote change, throttle, health, systemd STATUS.
    fn tick(&mut self, notifier: &Notifier) {
        self.sample_rate();
        self.judge_probation();
        let cfg = &self.current;
        if !self.throttle_ceiling_known
            && let Some(fps) = self.source_stats.fps()
        {
            self.throttle.reconfigure(&cfg.throttle, fps);
            self.throttle_ceiling_known = true;
        }
        if self.last_throttle.elapsed() >= Duration::from_secs_f32(cfg.throttle.interval_secs) {
            self.last_throttle = Instant::now();
            self.readings = self.sensors.read();
            if cfg.throttle.enabled {
                let before = self.throttle.rate();
                let rate = self.throttle.update(ThrottleInputs {
                    max_celsius: self.readings.max_celsius(),
                    mem_available_mb: self.readings.mem_available_mb,
                });
                if (rate - before).abs() > f32::EPSILON {
                    tracing::info!(from_fps = before, to_fps = rate, state = ?self.throttle.state(), max_celsius = ?self.readings.max_celsius(), mem_available_mb = ?self.readings.mem_available_mb, "Throttle changed the inference rate.");
                }
                self.apply_rate();
            }
        }
        if self.last_health.elapsed() >= Duration::from_secs_f32(cfg.control.health_interval_secs) {
            self.last_health = Instant::now();
            let snap = self.health.snapshot(&HealthSources {
                device: &cfg.device.id,
                source_id: &cfg.source.id,
                decoder: self.decoder,
                source: &self.source_stats,
                pipeline: &self.pipeline_stats,
                ring: &self.ring,
                publish: self.publisher.stats(),
                tracks_dropped: self.publisher.tracks_dropped(),
                readings: &self.readings,
                throttle: &self.throttle,
                throttle_enabled: cfg.throttle.enabled,
                platform: &self.platform,
            });
            if let Ok(json) = serde_json::to_string(&snap) {
                self.publisher.try_publish(&self.publisher.topics().health, QoS::AtMostOnce, false, json.as_bytes());
            }
            tracing::debug!(fps = snap.infer.fps_processed, "Health published.");
        }
        if self.last_status.elapsed() >= Duration::from_secs(2) {
            self.last_status = Instant::now();
            let lat = self.pipeline_stats.latency.snapshot().quantile_ms(0.5).unwrap_or(0.0);
            notifier.status(&format!(
                "{} frames processed, source {}, throttle {:.1} fps, latency p50 {:.0} ms",
                self.pipeline_stats.processed.load(Relaxed),
                self.source_stats.state().as_str(),
                self.throttle.rate(),
                lat
            ));
        }
    }

    /// Sets the ingress rate limit from the throttle and `infer.max_fps`.
    fn apply_rate(&self) {
        let cap = self.current.infer.max_fps;
        let throttled = self.current.throttle.enabled && self.throttle.rate() < self.throttle.ceiling() - 0.01;
        let rate = match (throttled, cap > 0.0) {
            (true, true) => self.throttle.rate().min(cap),
            (true, false) => self.throttle.rate(),
            (false, _) => cap,
        };
        self.source_stats.set_max_fps(rate);
    }

    /// A `config/set` message: check and apply, then keep it on probation (persisted once it
    /// has proved itself, rolled back if frames nearly stop); or refuse with the reason on
    /// `config/error`.
    fn remote_config(&mut self, payload: &[u8]) {
        if !self.current.control.remote_config {
            return;
        }
        // A change arriving during another's probation: the earlier one has been running fine
        // so far; judge it now against the rate it had.
        if self.probation.is_some() {
            self.end_probation(ProbationEnd::Superseded);
        }
        let previous = self.current.clone();
        let result = remote::check(payload, &self.current).and_then(|(cfg, patch)| {
            self.apply(cfg, "MQTT config/set")?;
            Ok(patch)
        });
        match result {
            Ok(patch) => {
                let processed = self.pipeline_stats.processed.load(Relaxed);
                let fps_before = self.recent_rate();
                self.probation =
                    Some(Probation { previous, patch, since: Instant::now(), processed_at: processed, fps_before });
            }
            Err(e) => self.report_remote_error(&e),
        }
    }

    fn report_remote_error(&self, e: &remote::RemoteError) {
        tracing::warn!(error = %e, "Remote configuration not (fully) taken.");
        let topic = self.publisher.topics().config_error.clone();
        self.publisher.try_publish(&topic, QoS::AtLeastOnce, false, e.to_payload().as_bytes());
    }

    /// Samples the processed-frame count about once a second, keeping 10 s.
    fn sample_rate(&mut self) {
        let now = Instant::now();
        if self.rate_samples.back().is_none_or(|(t, _)| now.duration_since(*t) >= Duration::from_secs(1)) {
            self.rate_samples.push_back((now, self.pipeline_stats.processed.load(Relaxed)));
            while self.rate_samples.len() > 11 {
                self.rate_samples.pop_front();
            }
        }
    }

    /// Frames processed per second over the last samples (0 without enough of them).
    fn recent_rate(&self) -> f64 {
        match (self.rate_samples.front(), self.rate_samples.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1.duration_since(*t0) >= Duration::from_millis(900) => {
                n1.saturating_sub(*n0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    fn judge_probation(&mut self) {
        let due = self
            .probation
            .as_ref()
            .is_some_and(|p| p.since.elapsed() >= Duration::from_secs_f32(self.current.control.remote_probation_secs));
        if due {
            self.end_probation(ProbationEnd::Due);
        }
    }

    /// Keeps (and persists) or rolls back the change on probation.
    fn end_probation(&mut self, why: ProbationEnd) {
        let Some(p) = self.probation.take() else { return };
        let secs = p.since.elapsed().as_secs_f64().max(1e-3);
        let fps_after = self.pipeline_stats.processed.load(Relaxed).saturating_sub(p.processed_at) as f64 / secs;
        let camera_delivers = self.source_stats.state() == SourceState::Running;
        let starved = why != ProbationEnd::Superseded
            && camera_delivers
            && secs >= 1.0
            && p.fps_before >= 0.5
            && fps_after < 0.2 * p.fps_before;
        if starved && why == ProbationEnd::Stopping {
            tracing::warn!(
                fps_before = p.fps_before,
                fps_after,
                "A remote change that nearly stopped frames is not kept."
            );
            return;
        }
        if starved {
            let e = remote::RemoteError::RolledBack { secs: secs as f32, fps_before: p.fps_before, fps_after };
            tracing::error!(error = %e, "Remote change rolled back.");
            // The inference thread may still be busy with the change: retry on the next ticks.
            if self.apply(p.previous.clone(), "rollback").is_err() {
                self.probation = Some(p);
                return;
            }
            self.report_remote_error(&e);
            return;
        }
        if let Some(path) = &self.opts.config_path
            && let Err(e) = remote::persist(&remote::overlay_path(path, self.current.raw()), &p.patch)
        {
            self.report_remote_error(&e);
        }
    }

    /// The one path for every new configuration (SIGHUP or remote): applied between frames.
    /// Refused (nothing changes) while the inference thread still has earlier changes to apply.
    fn apply(&mut self, new_cfg: Config, origin: &str) -> Result<(), remote::RemoteError> {
        for change in changes_needing_restart(&self.current, &new_cfg) {
            tracing::warn!(key = change, origin, "Changed, but only applied at restart.");
        }
        if self.cmd_tx.try_send(WorkerCommand::Apply(Box::new(new_cfg.clone()))).is_err() {
            tracing::warn!(origin, "Not applied: the inference thread is busy with earlier changes.");
            return Err(remote::RemoteError::Busy);
        }
        self.throttle.reconfigure(&new_cfg.throttle, self.source_stats.fps().unwrap_or(30.0));
        if new_cfg.log.level != self.current.log.level {
            crate::telemetry::logging::set_level(&new_cfg.log.level);
        }
        self.current = new_cfg;
        self.apply_rate();
        let topic = self.publisher.topics().config_state.clone();
        self.publisher.try_publish(
            &topic,
            QoS::AtLeastOnce,
            true,
            remote::state_payload(self.current.raw()).as_bytes(),
        );
        tracing::info!(origin, "Configuration accepted.");
        Ok(())
    }
}

fn reload(opts: &RunOptions) -> Result<Config> {
    let path = opts.config_path.as_ref().context("no configuration file to reload (started without -c)")?;
    Ok(config::load(path, opts.with_env, true)?)
}

/// Keys whose change takes effect only after a restart.
fn changes_needing_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    if old.source != new.source {
        out.push("source");
    }
    if old.publish != new.publish {
        out.push("publish");
    }
    if old.ring != new.ring {
        out.push("ring");
    }
    if old.infer.providers != new.infer.providers || old.infer.threads != new.infer.threads {
        out.push("infer.providers/threads");
    }
    if old.throttle.sysfs_root != new.throttle.sysfs_root || old.throttle.procfs_root != new.throttle.procfs_root {
        out.push("throttle.sysfs_root/procfs_root");
    }
    out
}
