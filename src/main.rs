//! The `footrackd` command line: run, validate, generate-config, bench, detect, calibrate, pitch-map, track-mot.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use footrackd::config::{self, ConfigError};
use footrackd::{app, cmd, control, telemetry};

/// Exit code for an invalid configuration (sysexits EX_CONFIG).
const EXIT_CONFIG: u8 = 78;

#[derive(Parser)]
#[command(
    name = "footrackd",
    version,
    about = "Football player and ball tracking daemon: video in, tracks out over MQTT"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline until the input ends or SIGTERM/SIGINT.
    Run {
        /// Configuration file (TOML).
        #[arg(short, long)]
        config: PathBuf,
        /// Override source.uri (a file path or stream URI).
        #[arg(long)]
        input: Option<String>,
        /// Stop after this many decoded frames.
        #[arg(long)]
        max_frames: Option<u64>,
        /// Ignore FOOTRACKD_* environment overrides.
        #[arg(long)]
        no_env: bool,
        /// Also write an annotated video (boxes, ids, teams, roles, ball trail, minimap) to this MP4.
        #[arg(long)]
        annotate: Option<PathBuf>,
    },
    /// Check a configuration file and print every problem found.
    Validate {
        /// Configuration file (TOML).
        #[arg(short, long)]
        config: PathBuf,
        /// Ignore FOOTRACKD_* environment overrides.
        #[arg(long)]
        no_env: bool,
    },
    /// Print the commented default configuration, naming the shipped models by absolute path.
    GenerateConfig,
    /// Run a clip as fast as possible and report per-stage time, fps, latency and memory.
    Bench {
        /// Configuration file (TOML).
        #[arg(short, long)]
        config: PathBuf,
        /// The clip (overrides source.uri).
        #[arg(long)]
        input: String,
        /// Frames to process.
        #[arg(long, default_value_t = 300)]
        frames: u64,
        /// Repetitions of the inference-only measurement.
        #[arg(long, default_value_t = 30)]
        inference_runs: u32,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also run N copies of the clip through one batched detector (aggregate fps, streams at 25 fps).
        #[arg(long, default_value_t = 0)]
        streams: usize,
        /// The end-to-end pass plays the clip at its own rate and drops the oldest frame when
        /// behind, as a live camera: capture-to-publish latency as a deployment sees it (the
        /// default pass runs every frame as fast as possible, so frames queue in the ring).
        #[arg(long)]
        live: bool,
    },
    /// Run the configured detector (model, tiling, thresholds) and role model on still images; one JSON line per image.
    Detect {
        /// Configuration file (TOML); its [infer] section is used.
        #[arg(short, long)]
        config: PathBuf,
        /// Images (JPEG, PNG, or anything GStreamer decodes).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Output: {"image", "width", "height", "detections": [{"bbox", "score", "class", "class_score"}]} per line.
        #[arg(long)]
        out: PathBuf,
    },
    /// Calibrate still images from their pitch markings (the keypoint model and the daemon's fit rules); one JSON line per image.
    Calibrate {
        /// Configuration file (TOML); its [pitch] section (keypoint_model, size, max_error_m) is used.
        #[arg(short, long)]
        config: PathBuf,
        /// Images (JPEG, PNG, or anything GStreamer decodes).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Output: {"image", "width", "height", "keypoints", "homography", "inliers", "error_m"} per line.
        #[arg(long)]
        out: PathBuf,
    },
    /// Map MOTChallenge boxes (frame,id,x,y,w,h) through the config's pitch calibration to metres.
    PitchMap {
        /// Configuration file (TOML) with a [pitch] calibration.
        #[arg(short, long)]
        config: PathBuf,
        /// Boxes: frame,id,x,y,w,h[,...] per line.
        #[arg(long)]
        mot: PathBuf,
        /// Output CSV: frame,id,x_m,y_m (box bottom-centre on the pitch).
        #[arg(long)]
        out: PathBuf,
    },
    /// Track MOTChallenge detections with the daemon's tracker and write MOTChallenge results.
    TrackMot {
        /// Detections: frame,-1,x,y,w,h,score[,...] per line.
        #[arg(long)]
        det: PathBuf,
        /// Results: frame,id,x,y,w,h,score,-1,-1,-1 per line.
        #[arg(long)]
        out: PathBuf,
        /// Frame rate of the detections.
        #[arg(long, default_value_t = 25.0)]
        fps: f32,
        /// Take [track] settings from this config file (defaults otherwise).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Homographies per frame: frame,h11,...,h33 per line (row-major, image pixels to pitch
        /// metres, origin and axes as docs/pitch.md); a frame without a line has no calibration.
        #[arg(long)]
        homography: Option<PathBuf>,
        /// The detections' 8th column is the team: 1 (A), 2 (B), 0 unknown.
        #[arg(long)]
        teams: bool,
        /// Frame width and height in pixels, WxH (where the view ends, with --homography).
        #[arg(long, default_value = "1920x1080")]
        frame_size: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::GenerateConfig => {
            // The shipped models by absolute path: the config runs from any folder.
            print!("{}", config::models::generated_config(config::DEFAULT_CONFIG_TOML));
            ExitCode::SUCCESS
        }
        Command::Validate { config: path, no_env } => match config::load_for_validate(&path, !no_env, false) {
            Ok((cameras, overlay_problem)) => {
                if let Some(p) = overlay_problem {
                    eprintln!(
                        "warning: the remote overlay makes the configuration invalid; `run` will set it aside and start on the file:\n{p}"
                    );
                }
                for cfg in cameras.all() {
                    let camera = if cameras.several() { format!("camera {}: ", cfg.source.id) } else { String::new() };
                    println!(
                        "{}: {camera}ok (model {}, source {})",
                        path.display(),
                        cfg.manifest.name,
                        cfg.source_uri.redacted()
                    );
                    if let Some(Ok(c)) = cfg.pitch.calibration() {
                        println!(
                            "{camera}pitch calibration: {} point pairs, {} kept, error {:.2} m RMS, {:.2} m largest",
                            c.points, c.inliers, c.rms_error_m, c.max_error_m
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => config_failure(&e),
        },
        Command::Run { config: path, input, max_frames, no_env, annotate } => {
            run(path, input, max_frames, !no_env, annotate)
        }
        Command::Bench { config: path, input, frames, inference_runs, json, streams, live } => {
            let mut raw = match load_one(&path, true) {
                Ok(r) => r,
                Err(e) => return config_failure(&e),
            };
            raw.source.uri = input;
            raw.source.realtime = live;
            raw.ring.overflow =
                if live { footrackd::ring::OverflowPolicy::DropOldest } else { footrackd::ring::OverflowPolicy::Block };
            let cfg = match config::validate(raw, true) {
                Ok(c) => c,
                Err(problems) => {
                    return config_failure(&ConfigError::Invalid { path: path.display().to_string(), problems });
                }
            };
            telemetry::logging::init("warn");
            match cmd::bench::run(cfg, cmd::bench::BenchOptions { frames, inference_runs, streams }) {
                Ok(report) => {
                    println!("{}", report.render());
                    if let Some(p) = json
                        && let Err(e) = std::fs::write(&p, serde_json::to_string_pretty(&report).unwrap_or_default())
                    {
                        eprintln!("error: cannot write {}: {e}", p.display());
                        return ExitCode::FAILURE;
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Detect { config: path, images, out } => detect(&path, &images, &out),
        Command::Calibrate { config: path, images, out } => calibrate(&path, &images, &out),
        Command::PitchMap { config: path, mot, out } => {
            let raw = match load_one(&path, true) {
                Ok(r) => r,
                Err(e) => return config_failure(&e),
            };
            let mut problems = footrackd::problems::Problems::default();
            raw.pitch.check(&mut problems);
            if !problems.is_empty() {
                return config_failure(&ConfigError::Invalid { path: path.display().to_string(), problems });
            }
            let Some(h) = raw.pitch.homography() else {
                eprintln!("error: {} has no [pitch] calibration (image_to_pitch or points)", path.display());
                return ExitCode::from(EXIT_CONFIG);
            };
            match cmd::pitch_map::map_file(&h, &mot, &out) {
                Ok(n) => {
                    println!("{}: {n} positions", out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::TrackMot { det, out, fps, config: cfg_path, homography, teams, frame_size } => {
            let section = match cfg_path.map(|p| load_one(&p, false)) {
                Some(Ok(raw)) => raw.track,
                Some(Err(e)) => return config_failure(&e),
                None => footrackd::track::TrackSection::default(),
            };
            if !(fps.is_finite() && fps > 0.0 && fps <= 240.0) {
                eprintln!("error: --fps must be in (0, 240]");
                return ExitCode::from(2);
            }
            let opts = footrackd::track::TrackerOptions::from_section(&section, fps);
            let Some(size) = frame_size
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse::<f32>().ok()?, h.parse::<f32>().ok()?)))
                .filter(|(w, h)| *w >= 1.0 && *h >= 1.0 && w.is_finite() && h.is_finite())
            else {
                eprintln!("error: --frame-size must be WIDTHxHEIGHT in pixels, e.g. 1920x1080");
                return ExitCode::from(2);
            };
            let pitch = match homography.map(|p| cmd::track_mot::read_homographies(&p)).transpose() {
                Ok(h) => h.map(|homographies| cmd::track_mot::PitchInput { homographies, frame_size: size }),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match cmd::track_mot::track_file(&det, &out, opts, teams, pitch.as_ref()) {
                Ok(n) => {
                    println!("{}: {n} track boxes", out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The configuration of a command that works on one camera: the first, said on stderr, when the
/// file has several.
fn load_one(path: &std::path::Path, with_env: bool) -> Result<config::RawConfig, ConfigError> {
    let (raw, cameras) = config::load_first_camera(path, with_env)?;
    if cameras > 1 {
        eprintln!(
            "note: {} has {cameras} cameras ([[source]]); this command uses the first, {:?}",
            path.display(),
            raw.source.id
        );
    }
    Ok(raw)
}

/// The configuration of an offline command on still images: no camera needed.
fn still_config(path: &std::path::Path) -> Result<config::Config, ExitCode> {
    let raw = load_one(path, true).map_err(|e| config_failure(&e))?;
    let cfg = config::validate(raw, false)
        .map_err(|problems| config_failure(&ConfigError::Invalid { path: path.display().to_string(), problems }))?;
    telemetry::logging::init("warn");
    Ok(cfg)
}

fn calibrate(path: &std::path::Path, images: &[PathBuf], out: &std::path::Path) -> ExitCode {
    let cfg = match still_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match cmd::calibrate::run(&cfg, images, out) {
        Ok(s) => {
            for e in &s.failed {
                eprintln!("error: {e}");
            }
            println!(
                "{}: {} images, {} calibrated; per image {:.1} ms keypoint model, {:.1} ms fit{}",
                out.display(),
                s.images,
                s.calibrated,
                s.model_ms,
                s.fit_ms,
                if s.failed.is_empty() { String::new() } else { format!(", {} images failed", s.failed.len()) }
            );
            if s.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn detect(path: &std::path::Path, images: &[PathBuf], out: &std::path::Path) -> ExitCode {
    let cfg = match still_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match cmd::detect::run(&cfg, images, out) {
        Ok(s) => {
            for e in &s.failed {
                eprintln!("error: {e}");
            }
            println!(
                "{}: {} images, {} detections, {:.1} ms per image ({}{}{}{}){}",
                out.display(),
                s.images,
                s.detections,
                s.mean_ms,
                cfg.manifest.name,
                cfg.role_manifest.as_ref().map_or(String::new(), |m| format!(", roles by {}", m.name)),
                cfg.ball_finder_manifest.as_ref().map_or(String::new(), |m| format!(", balls found by {}", m.name)),
                cfg.ball_check_manifest.as_ref().map_or(String::new(), |m| format!(", balls checked by {}", m.name)),
                if s.failed.is_empty() { String::new() } else { format!(", {} images failed", s.failed.len()) }
            );
            if s.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config_failure(e: &ConfigError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(EXIT_CONFIG)
}

fn run(
    path: PathBuf,
    input: Option<String>,
    max_frames: Option<u64>,
    with_env: bool,
    annotate: Option<PathBuf>,
) -> ExitCode {
    // Signals must be blocked before any thread starts, so every thread inherits the mask.
    let (_intent_tx, intents) = match control::signals::install() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: cannot install signal handling: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (cameras, set_aside) = match config::load_for_run(&path, with_env, input.as_deref()) {
        Ok(c) => c,
        Err(e) => return config_failure(&e),
    };
    let target = telemetry::logging::init(&cameras.first().log.level);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), log = ?target, config = %path.display(), "footrackd starting.");
    if let Some(s) = set_aside {
        tracing::error!(moved_to = %s.moved_to.display(), reason = %s.reason, "The remote configuration overlay was invalid and is set aside; starting on the configuration file.");
    }
    let opts = app::RunOptions { max_frames, config_path: Some(path), with_env, annotate };
    match app::run(cameras, intents, opts) {
        Ok(summaries) => {
            tracing::info!("Stopped cleanly.");
            let several = summaries.len() > 1;
            for summary in summaries {
                if several {
                    eprintln!("camera {}:", summary.camera);
                }
                eprintln!("{}", summary.render());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "footrackd failed.");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
