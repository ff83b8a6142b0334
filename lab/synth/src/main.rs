//! `footrackd-synth`: renders a broadcast-style clip with exact ground truth (docs/synth.md).
//! A lab tool: it is built only on request and is not part of the appliance.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use footrackd_synth::{SynthOptions, generate};

/// Generate a broadcast-style clip with exact ground truth (see docs/synth.md).
#[derive(Parser)]
#[command(name = "footrackd-synth", version)]
struct Cli {
    /// Output folder (clip.mp4, gt/gt.txt, pitch.csv, homography.csv, meta.json).
    #[arg(short, long)]
    out: PathBuf,
    /// Seed of the model of play and the looks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Clip length, seconds.
    #[arg(long, default_value_t = 20.0)]
    seconds: f32,
    /// Frame rate.
    #[arg(long, default_value_t = 25)]
    fps: u32,
    /// Frame width.
    #[arg(long, default_value_t = 1280)]
    width: u32,
    /// Frame height.
    #[arg(long, default_value_t = 720)]
    height: u32,
    /// H.264 bitrate, kbit/s.
    #[arg(long, default_value_t = 1200)]
    bitrate_kbps: u32,
    /// Roboflow football-players-detection folder (the cut-outs).
    #[arg(long, default_value = "../shared/data/roboflow-football-players-detection")]
    dataset: PathBuf,
    /// Use real trajectories from a TRACAB folder instead of the procedural model.
    #[arg(long)]
    tracab: Option<PathBuf>,
    /// Start time in the TRACAB data, seconds.
    #[arg(long, default_value_t = 0.0)]
    tracab_start_secs: f32,
    /// Ground truth only, no video (fast).
    #[arg(long)]
    no_video: bool,
}

fn main() -> ExitCode {
    let c = Cli::parse();
    let opts = SynthOptions {
        out_dir: c.out.clone(),
        seed: c.seed,
        seconds: c.seconds,
        fps: c.fps,
        width: c.width,
        height: c.height,
        dataset: c.dataset,
        tracab: c.tracab.map(|t| (t, c.tracab_start_secs)),
        bitrate_kbps: c.bitrate_kbps,
        video: !c.no_video,
    };
    match generate(&opts) {
        Ok(s) => {
            println!(
                "{}: {} frames, {} boxes, {:.1} visible people per frame",
                c.out.display(),
                s.frames,
                s.boxes,
                s.mean_visible_players
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
