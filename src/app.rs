//! Builds the stages from a [`Config`], runs them, turns intents into actions, and shuts down
//! in order: stop the source, let the inference thread drain the ring, publish `stopped`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::{self, Config};
use crate::control::Intent;
use crate::control::systemd::Notifier;
use crate::infer::{DetectorOptions, OnnxDetector};
use crate::publish::Publisher;
use crate::ring::{FrameRing, FrameSlot};
use crate::source::{self, SourceOptions};
use crate::telemetry::{PipelineStats, STAGES};
use crate::worker::{Worker, WorkerCommand};

/// Options of one run that are not part of the configuration.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop after this many decoded frames.
    pub max_frames: Option<u64>,
    /// The file to re-read on SIGHUP.
    pub config_path: Option<PathBuf>,
    /// Whether `FOOTRACKD_*` overrides apply on reload.
    pub with_env: bool,
}

/// What a run did, for the closing summary and `bench`.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// Wall time from first frame to the end, seconds.
    pub wall_secs: f64,
    /// Frames decoded.
    pub decoded: u64,
    /// Frames processed end to end.
    pub processed: u64,
    /// Frames dropped by the ring (drop_oldest).
    pub dropped_ring: u64,
    /// Frames skipped by the ingress rate limit.
    pub skipped_rate: u64,
    /// Track messages dropped at the MQTT queue.
    pub dropped_publish: u64,
    /// Per-stage time, ms per processed frame, in pipeline order.
    pub stage_ms: Vec<(&'static str, f64)>,
    /// Capture-to-publish latency p50/p95/p99, ms.
    pub latency_ms: [Option<f64>; 3],
    /// Decoder used.
    pub decoder: &'static str,
}

impl RunSummary {
    /// Processed frames per second of wall time.
    pub fn fps(&self) -> f64 {
        if self.wall_secs > 0.0 { self.processed as f64 / self.wall_secs } else { 0.0 }
    }

    /// Human-readable lines.
    pub fn render(&self) -> String {
        let mut s = format!(
            "frames: decoded {} processed {} dropped_ring {} skipped_rate {} dropped_publish {}\nthroughput: {:.2} fps processed over {:.1} s (decoder {})\n",
            self.decoded, self.processed, self.dropped_ring, self.skipped_rate, self.dropped_publish, self.fps(), self.wall_secs, self.decoder
        );
        let total: f64 = self.stage_ms.iter().map(|(_, ms)| ms).sum();
        s.push_str("per frame:");
        for (name, ms) in &self.stage_ms {
            let share = if total > 0.0 { 100.0 * ms / total } else { 0.0 };
            s.push_str(&format!(" {name} {ms:.2} ms ({share:.0}%)"));
        }
        let f = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.0}"));
        s.push_str(&format!(
            "\nlatency capture->publish ms: p50 {} p95 {} p99 {}",
            f(self.latency_ms[0]),
            f(self.latency_ms[1]),
            f(self.latency_ms[2])
        ));
        s
    }
}

/// Runs the daemon until input ends or a stop intent arrives.
pub fn run(cfg: Config, intents: Receiver<Intent>, opts: RunOptions) -> Result<RunSummary> {
    let mut notifier = Notifier::from_env();
    source::gst::init().context("GStreamer")?;

    let (publisher, _remote) =
        Publisher::start(&cfg.publish, &cfg.device.id, cfg.control.remote_config).context("MQTT publisher")?;
    let publisher = Arc::new(publisher);

    let detector = OnnxDetector::new(DetectorOptions::from_config(&cfg)).context("detector")?;
    let ring = FrameRing::new(cfg.ring.slots, FrameSlot::bytes_for(1920, 1080), cfg.ring.overflow);
    let pipeline_stats = Arc::new(PipelineStats::default());
    let source_stats = Arc::new(source::SourceStats::default());
    source_stats.set_max_fps(cfg.infer.max_fps);
    let abort = Arc::new(AtomicBool::new(false));
    let (cmd_tx, cmd_rx) = sync_channel::<WorkerCommand>(4);

    let worker = Worker {
        ring: Arc::clone(&ring),
        detector,
        publisher: Arc::clone(&publisher),
        stats: Arc::clone(&pipeline_stats),
        source: Arc::clone(&source_stats),
        commands: cmd_rx,
        abort: Arc::clone(&abort),
        config: cfg.clone(),
    };
    let worker_thread = std::thread::Builder::new().name("infer".into()).spawn(move || worker.run()).context("spawning the inference thread")?;

    let source = source::spawn(SourceOptions::from_config(&cfg, opts.max_frames), Arc::clone(&ring), worker_thread.thread().clone(), Arc::clone(&source_stats))
        .context("source")?;

    let started = Instant::now();
    let mut first_frame_at: Option<Instant> = None;
    let mut last_processed = 0u64;
    let mut last_progress = Instant::now();
    let mut stop_deadline: Option<Instant> = None;
    let deadline = Duration::from_secs_f32(cfg.control.shutdown_deadline_secs);
    let mut current = cfg;
    let watchdog_every = notifier.watchdog_period().map(|p| p / 2).unwrap_or(Duration::from_secs(5));
    let mut last_watchdog = Instant::now();

    loop {
        match intents.recv_timeout(Duration::from_millis(100)) {
            Ok(Intent::Stop) => {
                tracing::info!("Stopping: draining the pipeline.");
                notifier.stopping();
                source.request_stop();
                stop_deadline.get_or_insert(Instant::now() + deadline);
            }
            Ok(Intent::FastStop) => {
                tracing::info!("Stopping now.");
                notifier.stopping();
                source.request_stop();
                abort.store(true, Relaxed);
                stop_deadline.get_or_insert(Instant::now() + deadline.min(Duration::from_secs(1)));
            }
            Ok(Intent::Reload) => match reload(&opts) {
                Ok(new_cfg) => {
                    for change in changes_needing_restart(&current, &new_cfg) {
                        tracing::warn!(key = change, "Changed on reload but only applied at restart.");
                    }
                    current = new_cfg.clone();
                    if cmd_tx.try_send(WorkerCommand::Apply(Box::new(new_cfg))).is_err() {
                        tracing::warn!("Reload not applied: the inference thread is busy with earlier changes.");
                    }
                }
                Err(e) => tracing::error!(error = %e, "Reload refused; the running configuration stays."),
            },
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }

        let processed = pipeline_stats.processed.load(Relaxed);
        if processed > last_processed {
            last_processed = processed;
            last_progress = Instant::now();
            if first_frame_at.is_none() {
                first_frame_at = Some(Instant::now());
                tracing::info!(startup_ms = started.elapsed().as_millis() as u64, "First frame published end to end.");
                notifier.ready();
            }
        }
        // WATCHDOG only while frames make progress: a stalled pipeline gets restarted by systemd.
        if notifier.is_ready() && last_progress.elapsed() < watchdog_every * 2 && last_watchdog.elapsed() >= watchdog_every {
            notifier.watchdog();
            last_watchdog = Instant::now();
        }
        if worker_thread.is_finished() {
            source.request_stop();
            break;
        }
        if let Some(d) = stop_deadline
            && Instant::now() > d
        {
            tracing::warn!("Shutdown deadline passed; abandoning frames still in flight.");
            abort.store(true, Relaxed);
            break;
        }
    }

    let worker_result = if worker_thread.is_finished() {
        worker_thread.join().map_err(|_| anyhow::anyhow!("inference thread panicked"))?
    } else {
        Ok(())
    };
    let source_decoder = source.decoder().as_str();
    let source_result = if source.is_finished() { source.join() } else { Ok(()) };
    publisher.stop(Duration::from_secs(2));

    let summary = summarize(&pipeline_stats, &source_stats, &ring, first_frame_at, source_decoder);
    worker_result.context("inference")?;
    source_result.context("source")?;
    Ok(summary)
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
    if old.infer.model != new.infer.model || old.infer.providers != new.infer.providers || old.infer.threads != new.infer.threads {
        out.push("infer.model/providers/threads");
    }
    out
}

fn summarize(p: &PipelineStats, s: &source::SourceStats, ring: &FrameRing, first: Option<Instant>, decoder: &'static str) -> RunSummary {
    let processed = p.processed.load(Relaxed);
    let per = |ns: u64| if processed > 0 { ns as f64 / 1e6 / processed as f64 } else { 0.0 };
    let lat = p.latency.snapshot();
    RunSummary {
        wall_secs: first.map_or(0.0, |f| f.elapsed().as_secs_f64()),
        decoded: s.decoded.load(Relaxed),
        processed,
        dropped_ring: ring.stats().snapshot().dropped_oldest,
        skipped_rate: s.skipped_rate.load(Relaxed),
        dropped_publish: p.publish_dropped.load(Relaxed),
        stage_ms: STAGES.iter().map(|&st| (st.as_str(), per(p.stage_ns(st)))).collect(),
        latency_ms: [lat.quantile_ms(0.5), lat.quantile_ms(0.95), lat.quantile_ms(0.99)],
        decoder,
    }
}
