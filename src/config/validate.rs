//! Checks a [`RawConfig`] and resolves it into a [`Config`], reporting every problem at once.

use std::fmt;
use std::path::PathBuf;

use super::raw::RawConfig;
use super::source_uri::SourceUri;
use crate::infer::manifest::ModelManifest;

/// One thing wrong with a configuration: the key and what is wrong with its value.
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
#[derive(Clone, Debug, PartialEq)]
pub struct Problems(pub Vec<Problem>);

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

/// A configuration that passed validation, with its paths and URIs resolved.
///
/// Dereferences to the [`RawConfig`] it came from, so sections read as `config.infer.score_threshold`.
#[derive(Clone, Debug)]
pub struct Config {
    raw: RawConfig,
    /// The parsed source URI.
    pub source_uri: SourceUri,
    /// The model file.
    pub model_path: PathBuf,
    /// The model's manifest, loaded and checked.
    pub manifest: ModelManifest,
}

impl std::ops::Deref for Config {
    type Target = RawConfig;
    fn deref(&self) -> &RawConfig {
        &self.raw
    }
}

impl Config {
    /// The configuration as written (for echoing and merging remote changes).
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }
}

struct Collector(Vec<Problem>);

impl Collector {
    fn check(&mut self, ok: bool, key: &str, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(Problem { key: key.into(), message: message() });
        }
    }
}

fn is_topic_safe(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Validates `raw`, returning the resolved config or every problem found.
///
/// `require_source` is false for `validate` runs where the source URI is given later on the command line.
pub fn validate(raw: RawConfig, require_source: bool) -> Result<Config, Problems> {
    let mut c = Collector(Vec::new());

    c.check(is_topic_safe(&raw.device.id), "device.id", || {
        format!("{:?} must be non-empty letters, digits, '-' or '_' (it is an MQTT topic level)", raw.device.id)
    });
    c.check(is_topic_safe(&raw.source.id), "source.id", || {
        format!("{:?} must be non-empty letters, digits, '-' or '_'", raw.source.id)
    });

    let source_uri = if raw.source.uri.trim().is_empty() {
        c.check(!require_source, "source.uri", || "is empty: give a file path or a stream URI".into());
        None
    } else {
        match SourceUri::parse(&raw.source.uri) {
            Ok(u) => Some(u),
            Err(e) => {
                c.check(false, "source.uri", || e.to_string());
                None
            }
        }
    };
    let s = &raw.source;
    c.check(s.stall_timeout_ms >= 500, "source.stall_timeout_ms", || {
        format!("{} is below the minimum of 500", s.stall_timeout_ms)
    });
    c.check(s.reconnect_initial_ms >= 10, "source.reconnect_initial_ms", || {
        format!("{} is below the minimum of 10", s.reconnect_initial_ms)
    });
    c.check(s.reconnect_max_ms >= s.reconnect_initial_ms, "source.reconnect_max_ms", || {
        format!("{} is below source.reconnect_initial_ms ({})", s.reconnect_max_ms, s.reconnect_initial_ms)
    });
    c.check(matches!(s.rtsp_transport.as_str(), "tcp" | "udp"), "source.rtsp_transport", || {
        format!("{:?} must be \"tcp\" or \"udp\"", s.rtsp_transport)
    });

    c.check((2..=crate::ring::MAX_SLOTS).contains(&raw.ring.slots), "ring.slots", || {
        format!("{} must be between 2 and {}", raw.ring.slots, crate::ring::MAX_SLOTS)
    });

    let i = &raw.infer;
    let unit = |v: f32| v.is_finite() && (0.0..=1.0).contains(&v);
    c.check(unit(i.score_threshold), "infer.score_threshold", || format!("{} must be in 0..=1", i.score_threshold));
    c.check(unit(i.nms_iou_threshold), "infer.nms_iou_threshold", || {
        format!("{} must be in 0..=1", i.nms_iou_threshold)
    });
    c.check((1..=8).contains(&i.tile_columns), "infer.tile_columns", || format!("{} must be in 1..=8", i.tile_columns));
    c.check((1..=8).contains(&i.tile_rows), "infer.tile_rows", || format!("{} must be in 1..=8", i.tile_rows));
    c.check(i.tile_overlap_frac.is_finite() && (0.0..0.5).contains(&i.tile_overlap_frac), "infer.tile_overlap_frac", || {
        format!("{} must be in 0..0.5", i.tile_overlap_frac)
    });
    c.check(i.full_frame || i.tile_columns * i.tile_rows > 1 || i.tile_columns == 1, "infer.full_frame", || {
        "at least one of full_frame or tiling must be on".into()
    });
    c.check(i.threads <= 256, "infer.threads", || format!("{} is more than 256", i.threads));
    c.check(i.max_fps.is_finite() && i.max_fps >= 0.0, "infer.max_fps", || format!("{} must be 0 or positive", i.max_fps));
    c.check(!i.providers.is_empty(), "infer.providers", || "must name at least one provider (\"cpu\")".into());
    for p in &i.providers {
        c.check(matches!(p.as_str(), "cpu" | "cuda" | "tensorrt"), "infer.providers", || {
            format!("{p:?} is not one of \"cpu\", \"cuda\", \"tensorrt\"")
        });
    }
    let model_path = PathBuf::from(&i.model);
    let is_engine = matches!(model_path.extension().and_then(|e| e.to_str()), Some("engine" | "plan"));
    c.check(!is_engine || cfg!(feature = "tensorrt"), "infer.model", || {
        format!("{} is a TensorRT engine, but this binary was built without the `tensorrt` feature", i.model)
    });
    let manifest = match ModelManifest::load_beside(&model_path) {
        Ok(m) => Some(m),
        Err(e) => {
            c.check(false, "infer.model", || e.to_string());
            None
        }
    };

    let t = &raw.track;
    c.check(unit(t.high_score), "track.high_score", || format!("{} must be in 0..=1", t.high_score));
    c.check(unit(t.low_score) && t.low_score <= t.high_score, "track.low_score", || {
        format!("{} must be in 0..=track.high_score", t.low_score)
    });
    c.check(unit(t.new_track_score), "track.new_track_score", || format!("{} must be in 0..=1", t.new_track_score));
    c.check(unit(t.match_iou), "track.match_iou", || format!("{} must be in 0..=1", t.match_iou));
    c.check(unit(t.low_match_iou), "track.low_match_iou", || format!("{} must be in 0..=1", t.low_match_iou));
    c.check(t.iou_buffer_frac.is_finite() && (0.0..=2.0).contains(&t.iou_buffer_frac), "track.iou_buffer_frac", || {
        format!("{} must be in 0..=2", t.iou_buffer_frac)
    });
    c.check(t.max_lost_secs.is_finite() && (0.0..=60.0).contains(&t.max_lost_secs), "track.max_lost_secs", || {
        format!("{} must be in 0..=60", t.max_lost_secs)
    });
    c.check(t.min_hits <= 30, "track.min_hits", || format!("{} must be at most 30", t.min_hits));

    let p = &raw.publish;
    c.check(!p.broker_host.trim().is_empty(), "publish.broker_host", || "is empty".into());
    c.check(p.broker_port != 0, "publish.broker_port", || "0 is not a usable port".into());
    c.check(is_topic_safe(&p.topic_prefix), "publish.topic_prefix", || {
        format!("{:?} must be non-empty letters, digits, '-' or '_'", p.topic_prefix)
    });
    // rumqttc asserts keep-alive >= 1 s: refuse it here instead of panicking later.
    c.check((1..=3600).contains(&p.keep_alive_secs), "publish.keep_alive_secs", || {
        format!("{} must be in 1..=3600", p.keep_alive_secs)
    });
    c.check((1..=65_535).contains(&p.queue_capacity), "publish.queue_capacity", || {
        format!("{} must be in 1..=65535", p.queue_capacity)
    });
    c.check(p.tracks_qos <= 1, "publish.tracks_qos", || format!("{} must be 0 or 1", p.tracks_qos));
    c.check(p.password.is_empty() || !p.username.is_empty(), "publish.password", || {
        "is set but publish.username is empty".into()
    });

    let k = &raw.control;
    c.check(k.health_interval_secs.is_finite() && (0.1..=3600.0).contains(&k.health_interval_secs), "control.health_interval_secs", || {
        format!("{} must be in 0.1..=3600", k.health_interval_secs)
    });
    c.check(k.shutdown_deadline_secs.is_finite() && (0.1..=120.0).contains(&k.shutdown_deadline_secs), "control.shutdown_deadline_secs", || {
        format!("{} must be in 0.1..=120", k.shutdown_deadline_secs)
    });
    let hp = &raw.pitch.image_to_pitch;
    c.check(hp.is_empty() || crate::pitch::Homography::from_row_major(hp).is_some(), "pitch.image_to_pitch", || {
        format!("needs 9 finite numbers forming an invertible matrix, found {} values", hp.len())
    });
    let th = &raw.throttle;
    let fin = |v: f32| v.is_finite();
    c.check(fin(th.min_fps) && th.min_fps > 0.0 && th.min_fps <= 120.0, "throttle.min_fps", || format!("{} must be in (0, 120]", th.min_fps));
    c.check(fin(th.max_fps) && th.max_fps >= 0.0 && (th.max_fps == 0.0 || th.max_fps >= th.min_fps), "throttle.max_fps", || {
        format!("{} must be 0 or at least throttle.min_fps ({})", th.max_fps, th.min_fps)
    });
    c.check(fin(th.interval_secs) && (0.1..=600.0).contains(&th.interval_secs), "throttle.interval_secs", || format!("{} must be in 0.1..=600", th.interval_secs));
    c.check(fin(th.temp_resume_c) && th.temp_resume_c < th.temp_high_c, "throttle.temp_resume_c", || {
        format!("{} must be below throttle.temp_high_c ({})", th.temp_resume_c, th.temp_high_c)
    });
    c.check(fin(th.temp_critical_c) && th.temp_critical_c > th.temp_high_c, "throttle.temp_critical_c", || {
        format!("{} must be above throttle.temp_high_c ({})", th.temp_critical_c, th.temp_high_c)
    });
    c.check(th.mem_resume_available_mb >= th.mem_min_available_mb, "throttle.mem_resume_available_mb", || {
        format!("{} must be at least throttle.mem_min_available_mb ({})", th.mem_resume_available_mb, th.mem_min_available_mb)
    });
    c.check(!th.sysfs_root.is_empty() && !th.procfs_root.is_empty(), "throttle.sysfs_root", || "sysfs_root and procfs_root must not be empty".into());
    c.check(tracing_subscriber::EnvFilter::try_new(&raw.log.level).is_ok(), "log.level", || {
        format!("{:?} is not a valid filter (try \"info\" or \"footrackd=debug\")", raw.log.level)
    });

    if !c.0.is_empty() {
        return Err(Problems(c.0));
    }
    // Both are Some: every None path above pushed a problem.
    match (manifest, source_uri) {
        (Some(manifest), source_uri) => Ok(Config {
            source_uri: source_uri.unwrap_or(SourceUri::Unset),
            raw,
            model_path,
            manifest,
        }),
        (None, _) => Err(Problems(vec![Problem { key: "infer.model".into(), message: "manifest missing".into() }])),
    }
}
