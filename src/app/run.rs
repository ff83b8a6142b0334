//! Wiring and lifecycle of a run: one camera starts its pipeline on a detector of its own and
//! hands control to its [`Supervisor`](super::supervisor::Supervisor) here; several run in the
//! appliance (`appliance`), sharing one detector and one MQTT connection. Shut down in order:
//! stop the source, let the inference thread drain the ring, publish `stopped`.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use anyhow::{Context, Result};
use rumqttc::QoS;

use super::RunOptions;
use super::face::Face;
use super::pipeline::Pipeline;
use super::slots::{build_ring, gpu_frames_wanted, preprocesses_on_gpu};
use super::summary::RunSummary;
use crate::config::{Cameras, remote};
use crate::control::Intent;
use crate::control::systemd::Notifier;
use crate::infer::Detector;
use crate::publish::Publisher;
use crate::source;

/// Runs the daemon until input ends or a stop intent arrives; one summary per camera.
pub fn run(cameras: Cameras, intents: Receiver<Intent>, opts: RunOptions) -> Result<Vec<RunSummary>> {
    source::init().context("GStreamer")?;
    if cameras.several() {
        return super::appliance::run(cameras, intents, opts);
    }
    let cfg = cameras.into_vec().swap_remove(0);
    let mut notifier = Notifier::from_env();
    let (publisher, remote_in) =
        Publisher::start(&cfg.publish, &cfg.device.id, cfg.control.remote_config).context("MQTT publisher")?;
    let publisher = Arc::new(publisher);
    let topics = publisher.topics().clone();
    publisher.try_publish(&topics.config_state, QoS::AtLeastOnce, true, remote::state_payload(cfg.raw()).as_bytes());

    let face = Face::start(&cfg, &publisher, false)?;

    let detector = Detector::new(cfg.detector_options()).context("detector")?;
    let ring = build_ring(&cfg, preprocesses_on_gpu(&detector), gpu_frames_wanted(&cfg, &detector));
    let mut pipeline = Pipeline::start(cfg, (detector.into(), None), ring, &publisher, topics, &opts, false)?;
    let camera_face = face.as_ref().map(|(f, _)| f.join(pipeline.face()));
    let mut supervisor = pipeline.supervisor(&publisher, opts, None, camera_face)?;
    let progress = supervisor.run(&intents, &remote_in, &mut notifier, &pipeline.worker);
    drop(supervisor);
    if let Some((_, server)) = face {
        server.stop();
    }
    publisher.stop(Duration::from_secs(2));
    Ok(vec![pipeline.finish(&progress, &publisher)?])
}
