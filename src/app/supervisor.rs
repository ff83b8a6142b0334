//! The supervisor: the control loop of a run. It turns intents (signals, reloads, remote
//! config) into actions, feeds the systemd watchdog while frames progress, throttles, publishes
//! health, and applies every new configuration between frames through one path: sent to the
//! inference thread, and taken as current (echoed, put on probation, persisted) only once that
//! thread has answered that it applied it.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rumqttc::QoS;

use super::RunOptions;
use super::face::CameraFace;
use super::health::{HealthReporter, HealthSources};
use super::probation::{Probation, ProbationEnd, RateWindow, Verdict};
use super::processor::ApplyRefused;
use super::worker::WorkerCommand;
use crate::config::diff::changes_needing_restart;
use crate::config::{self, Config, remote};
use crate::control::Intent;
use crate::control::sensors::{Readings, Sensors};
use crate::control::systemd::Notifier;
use crate::control::throttle::{Throttle, ThrottleInputs};
use crate::infer::InferError;
use crate::publish::{IncomingMessage, Publisher, Topics};
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
    pub(super) warmup_stage_ns: Option<[u64; crate::telemetry::STAGES.len()]>,
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
    /// The processing rate before a change.
    pub(super) rate: RateWindow,
    /// The change sent to the inference thread and not yet answered, if any.
    pub(super) pending: Option<PendingChange>,
    /// The remote change on probation, if any.
    pub(super) probation: Option<Probation>,
    /// What the daemon runs on.
    pub(super) platform: crate::control::platform::Platform,
    /// This camera's topics (the device's with one camera).
    pub(super) topics: Topics,
    /// With several cameras: this camera's id (remote changes limited to its own keys) and the
    /// new configurations the appliance's reloads send it.
    pub(super) camera: Option<CameraLink>,
    /// This camera on the HTTP face (its health and configuration kept there), when it is on.
    pub(super) face: Option<Arc<CameraFace>>,
}

/// What ties one camera of several to the appliance.
pub(super) struct CameraLink {
    /// The camera's id.
    pub(super) id: String,
    /// New configurations from a reload.
    pub(super) configs: Receiver<Box<Config>>,
    /// Whether frames progress (or the source waits for its camera): the appliance feeds the
    /// systemd watchdog only while every camera is alive.
    pub(super) alive: Arc<std::sync::atomic::AtomicBool>,
}

/// What follows once the inference thread has applied a change.
#[derive(Debug)]
enum AfterApply {
    /// A reload from the file: nothing more.
    Nothing,
    /// A remote change: probation, judged against the rate before it.
    Probation { previous: Box<Config>, patch: serde_json::Value },
    /// A rollback: report why on `config/error`.
    RolledBack(remote::RemoteError),
}

/// A change sent to the inference thread, waiting for its answer.
#[derive(Debug)]
pub(super) struct PendingChange {
    config: Box<Config>,
    origin: &'static str,
    reply: Receiver<Result<(), ApplyRefused>>,
    then: AfterApply,
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
        if self.camera.is_none() {
            tracing::info!("Ready: waiting for frames.");
        }
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
                        let _refusal_is_logged = self.apply(new_cfg, "SIGHUP", AfterApply::Nothing);
                    }
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "Reload refused; the running configuration stays.")
                    }
                },
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
            }
            if let Some(new_cfg) = self.camera.as_ref().and_then(|c| c.configs.try_recv().ok()) {
                let _refusal_is_logged = self.apply(*new_cfg, "SIGHUP", AfterApply::Nothing);
            }
            self.poll_pending();
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
            if let Some(c) = &self.camera {
                c.alive.store(alive || worker.is_finished(), Relaxed);
            }
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
        self.rate.sample(self.pipeline_stats.processed.load(Relaxed));
        if self.probation.as_ref().is_some_and(|p| p.is_due(self.current.control.remote_probation_secs)) {
            self.end_probation(ProbationEnd::Due);
        }
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
                self.publisher.try_publish(&self.topics.health, QoS::AtMostOnce, false, json.as_bytes());
            }
            tracing::debug!(fps = snap.infer.fps_processed, "Health published.");
            if let Some(face) = &self.face {
                face.set_health(snap);
            }
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

    /// A `config/set` message: checked, then sent to the inference thread; once applied it is
    /// kept on probation (persisted once it has proved itself, rolled back if frames nearly
    /// stop). A refusal, here or by the inference thread, says why on `config/error`.
    fn remote_config(&mut self, payload: &[u8]) {
        if !self.current.control.remote_config {
            return;
        }
        if self.pending.is_some() {
            self.report_remote_error(&remote::RemoteError::Busy);
            return;
        }
        // A change arriving during another's probation: the earlier one has been running fine
        // so far; judge it now against the rate it had.
        if self.probation.is_some() {
            self.end_probation(ProbationEnd::Superseded);
        }
        let previous = Box::new(self.current.clone());
        let camera = self.camera.as_ref().map(|c| c.id.as_str());
        let result = remote::check_scoped(payload, &self.current, camera)
            .and_then(|(cfg, patch)| self.apply(cfg, "MQTT config/set", AfterApply::Probation { previous, patch }));
        if let Err(e) = result {
            self.report_remote_error(&e);
        }
    }

    fn report_remote_error(&self, e: &remote::RemoteError) {
        tracing::warn!(error = %e, "Remote configuration not (fully) taken.");
        let topic = self.topics.config_error.clone();
        self.publisher.try_publish(&topic, QoS::AtLeastOnce, false, e.to_payload().as_bytes());
    }

    /// Keeps (and persists) or rolls back the change on probation.
    fn end_probation(&mut self, why: ProbationEnd) {
        let Some(p) = self.probation.take() else { return };
        let processed = self.pipeline_stats.processed.load(Relaxed);
        match p.judge(why, processed, self.source_stats.state() == SourceState::Running) {
            Verdict::Keep(patch) => {
                if let Some(path) = &self.opts.config_path
                    && let Err(e) = remote::persist(&remote::overlay_path(path, self.current.raw()), &patch)
                {
                    self.report_remote_error(&e);
                }
            }
            Verdict::Discard => tracing::warn!("A remote change that nearly stopped frames is not kept."),
            Verdict::RollBack(previous, e) => {
                tracing::error!(error = %e, "Remote change rolled back.");
                if let Err(busy) = self.apply(*previous, "rollback", AfterApply::RolledBack(e)) {
                    tracing::error!(error = %busy, "Rollback not applied.");
                }
            }
        }
    }

    /// The one path for every new configuration (SIGHUP, remote, rollback): sent to the
    /// inference thread, applied between frames; [`Supervisor::poll_pending`] takes its answer.
    /// Refused (nothing changes) while an earlier change is still waiting for its answer.
    fn apply(&mut self, new_cfg: Config, origin: &'static str, then: AfterApply) -> Result<(), remote::RemoteError> {
        if self.pending.is_some() {
            tracing::warn!(origin, "Not applied: the inference thread is busy with an earlier change.");
            return Err(remote::RemoteError::Busy);
        }
        let (reply_tx, reply) = sync_channel(1);
        let cmd = WorkerCommand { config: Box::new(new_cfg.clone()), reply: reply_tx };
        if self.cmd_tx.try_send(cmd).is_err() {
            tracing::warn!(origin, "Not applied: the inference thread is busy with earlier changes.");
            return Err(remote::RemoteError::Busy);
        }
        self.pending = Some(PendingChange { config: Box::new(new_cfg), origin, reply, then });
        Ok(())
    }

    /// Takes the inference thread's answer to the pending change, if it has come: applied
    /// changes become current (echoed on `config/state`, then probation or a rollback report);
    /// refused ones are reported and leave everything as it was.
    fn poll_pending(&mut self) {
        let answer = match self.pending.as_ref().map(|p| p.reply.try_recv()) {
            None | Some(Err(TryRecvError::Empty)) => return,
            Some(Ok(answer)) => answer,
            Some(Err(TryRecvError::Disconnected)) => {
                Err(ApplyRefused { key: "infer", reason: "the inference thread has stopped".into() })
            }
        };
        let Some(p) = self.pending.take() else { return };
        match answer {
            Ok(()) => self.commit(p),
            Err(refused) => {
                tracing::error!(origin = p.origin, error = %refused, "Configuration refused by the inference thread; the running one stays.");
                match p.then {
                    AfterApply::Nothing => {}
                    AfterApply::Probation { .. } => {
                        self.report_remote_error(&remote::RemoteError::NotApplied(refused.to_string()))
                    }
                    AfterApply::RolledBack(e) => {
                        self.report_remote_error(&e);
                        self.report_remote_error(&remote::RemoteError::NotApplied(format!("rollback: {refused}")));
                    }
                }
            }
        }
    }

    /// Makes an applied change current.
    fn commit(&mut self, p: PendingChange) {
        let new_cfg = *p.config;
        for change in changes_needing_restart(&self.current, &new_cfg) {
            tracing::warn!(key = change, origin = p.origin, "Changed, but only applied at restart.");
        }
        self.throttle.reconfigure(&new_cfg.throttle, self.source_stats.fps().unwrap_or(30.0));
        if new_cfg.log.level != self.current.log.level {
            crate::telemetry::logging::set_level(&new_cfg.log.level);
        }
        self.current = new_cfg;
        self.apply_rate();
        let topic = self.topics.config_state.clone();
        let state = remote::state_payload(self.current.raw());
        self.publisher.try_publish(&topic, QoS::AtLeastOnce, true, state.as_bytes());
        if let Some(face) = &self.face {
            face.set_config_state(state);
        }
        tracing::info!(origin = p.origin, "Configuration applied.");
        match p.then {
            AfterApply::Nothing => {}
            AfterApply::Probation { previous, patch } => {
                let processed = self.pipeline_stats.processed.load(Relaxed);
                self.probation = Some(Probation::start(*previous, patch, processed, self.rate.rate()));
            }
            AfterApply::RolledBack(e) => self.report_remote_error(&e),
        }
    }
}

/// The file read again for a daemon started with one camera (its topics are the device's).
fn reload(opts: &RunOptions) -> Result<Config> {
    let path = opts.config_path.as_ref().context("no configuration file to reload (started without -c)")?;
    let cameras = config::load_cameras(path, opts.with_env)?;
    anyhow::ensure!(
        !cameras.several(),
        "the file now has {} cameras; a daemon started with one camera publishes on the device's own topics, so adding cameras needs a restart",
        cameras.len()
    );
    Ok(cameras.into_vec().swap_remove(0))
}
