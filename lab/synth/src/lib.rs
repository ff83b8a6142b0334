//! `footrackd synth`: broadcast-style football clips with exact ground truth.
//!
//! A pinhole camera above the near touchline pans and zooms to follow play over a rendered
//! 105 x 68 m pitch; 22 players, a referee and the ball move by a seeded model of play
//! ([`motion::ProceduralPlay`]) or real TRACAB trajectories ([`motion::TracabPlay`]). People are
//! real cut-outs from the Roboflow football frames (CC BY 4.0), drawn far to near so they occlude
//! one another. Written beside the MP4: MOTChallenge `gt/gt.txt` (with visibility), pitch
//! positions per frame, the image-to-pitch homography per frame, and `meta.json`.

pub mod camera;
pub mod encode;
pub mod motion;
pub mod render;
pub mod rng;
pub mod sprites;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use camera::Camera;
use motion::{Entity, Motion, ProceduralPlay, Role, TracabPlay};
use render::{DrawnBox, Renderer};

/// Credit line for the cut-outs, written into every generated clip and its metadata.
pub const CREDIT: &str = "Player cut-outs: Roboflow 'football-players-detection' dataset (workspace1-8owu3, version 1), CC BY 4.0, https://universe.roboflow.com/workspace1-8owu3/football-players-detection-3zvbc-bf79d/dataset/1";

/// What to generate.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Output folder (created).
    pub out_dir: PathBuf,
    /// Seed of the model of play and the looks.
    pub seed: u64,
    /// Clip length.
    pub seconds: f32,
    /// Frame rate.
    pub fps: u32,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Roboflow dataset folder (with `train/images` and `train/labels`).
    pub dataset: PathBuf,
    /// Real trajectories instead of the procedural model: TRACAB folder and start time.
    pub tracab: Option<(PathBuf, f32)>,
    /// H.264 bitrate.
    pub bitrate_kbps: u32,
    /// Write the MP4 (false: ground truth only, much faster).
    pub video: bool,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Cut-outs could not be loaded.
    #[error(transparent)]
    Sprites(#[from] sprites::SpriteError),
    /// TRACAB data could not be loaded.
    #[error(transparent)]
    Tracab(#[from] motion::TracabError),
    /// Encoding failed.
    #[error(transparent)]
    Encode(#[from] encode::EncodeError),
    /// Writing output failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Bad options.
    #[error("{0}")]
    Options(String),
}

/// Summary of a generated clip.
#[derive(Clone, Debug)]
pub struct SynthSummary {
    /// Frames written.
    pub frames: u32,
    /// Ground-truth boxes written.
    pub boxes: usize,
    /// Mean visible players per frame (visibility >= 0.5).
    pub mean_visible_players: f32,
}

/// Follows play like a broadcast camera operator: smooth pan to the ball, slow zoom.
struct Operator {
    target: (f64, f64),
    t: f64,
}

/// Camera position: above and behind the near touchline at the halfway line.
const CAMERA_POSITION: [f64; 3] = [52.5, -32.0, 18.0];

impl Operator {
    fn camera(&mut self, ball: (f32, f32), dt: f64, width: u32, height: u32) -> Camera {
        self.t += dt;
        let k = 1.0 - (-dt / 0.8).exp();
        let want = ((ball.0 as f64).clamp(18.0, 87.0), 34.0 + (ball.1 as f64 - 34.0) * 0.35);
        self.target.0 += (want.0 - self.target.0) * k;
        self.target.1 += (want.1 - self.target.1) * k;
        let target = [self.target.0, self.target.1, 0.0];
        let d = ((target[0] - CAMERA_POSITION[0]).powi(2)
            + (target[1] - CAMERA_POSITION[1]).powi(2)
            + CAMERA_POSITION[2].powi(2))
        .sqrt();
        // Horizontal field of view at the target: 34..46 m, drifting slowly (zoom).
        let field_m = 40.0 + 6.0 * (self.t * 0.21).sin();
        Camera::look_at(CAMERA_POSITION, target, width as f64 * d / field_m, width, height)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io { path: path.to_path_buf(), source }
}

/// One generated frame: what was drawn and where everything is.
#[derive(Clone, Debug)]
pub struct FrameTruth {
    /// Frame number, from 1.
    pub number: u32,
    /// Every object's state.
    pub entities: Vec<Entity>,
    /// Drawn boxes (index into `entities`), clipped to the frame, with visibility.
    pub boxes: Vec<DrawnBox>,
    /// The camera.
    pub camera: Camera,
}

/// Renders frames one by one (no files): the engine behind [`generate`] and the tests.
pub struct Scene {
    bank: sprites::SpriteBank,
    motion: Box<dyn Motion>,
    renderer: Renderer,
    operator: Operator,
    fps: u32,
    width: u32,
    height: u32,
    threads: usize,
    number: u32,
}

impl Scene {
    /// A scene as described by `opts` (the output folder and video flags are ignored here).
    pub fn new(opts: &SynthOptions) -> Result<Self, SynthError> {
        if opts.width < 64 || opts.height < 64 || !opts.width.is_multiple_of(2) || !opts.height.is_multiple_of(2) {
            return Err(SynthError::Options("width and height must be even and at least 64".into()));
        }
        if !((1..=60).contains(&opts.fps) && opts.seconds > 0.0 && opts.seconds <= 600.0) {
            return Err(SynthError::Options("fps must be 1..=60 and seconds 0..=600".into()));
        }
        let bank = sprites::load(&opts.dataset, 40.0)?;
        let frames = (opts.seconds * opts.fps as f32).round() as usize;
        let motion: Box<dyn Motion> = match &opts.tracab {
            Some((dir, start)) => Box::new(TracabPlay::load(dir, *start, frames, opts.fps as f32, &[1, 101])?),
            None => Box::new(ProceduralPlay::new(opts.seed, opts.fps as f32)),
        };
        let mut renderer = Renderer::new(opts.width, opts.height);
        // Each person keeps one cut-out for the clip, chosen from the seed.
        let mut rng = rng::Rng::new(opts.seed ^ 0x5EED);
        renderer.sprite_of = (0..=128u32).map(|id| (id, rng.below(1 << 16))).collect();
        Ok(Scene {
            bank,
            motion,
            renderer,
            operator: Operator { target: (52.5, 34.0), t: 0.0 },
            fps: opts.fps,
            width: opts.width,
            height: opts.height,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            number: 0,
        })
    }

    /// Renders the next frame; its pixels are in [`Scene::rgb`] and [`Scene::i420`].
    pub fn next_frame(&mut self) -> FrameTruth {
        self.number += 1;
        let entities: Vec<Entity> = self.motion.step().to_vec();
        let ball = entities.iter().find(|e| e.role == Role::Ball).map_or((52.5, 34.0), |b| (b.x, b.y));
        let camera = self.operator.camera(ball, 1.0 / self.fps as f64, self.width, self.height);
        self.renderer.draw_pitch(&camera, self.threads);
        let mut boxes = Vec::new();
        self.renderer.draw_objects(&camera, &entities, &self.bank, &mut boxes);
        FrameTruth { number: self.number, entities, boxes, camera }
    }

    /// RGB pixels of the last frame.
    pub fn rgb(&self) -> &[u8] {
        &self.renderer.rgb
    }

    /// The last frame as I420, into `out`.
    pub fn i420(&self, out: &mut Vec<u8>) {
        self.renderer.to_i420(out);
    }

    /// The video id the team kits came from.
    pub fn kit_source(&self) -> &str {
        &self.bank.kit_source
    }
}

/// Generates a clip and its ground truth.
pub fn generate(opts: &SynthOptions) -> Result<SynthSummary, SynthError> {
    let mut scene = Scene::new(opts)?;
    let frames = (opts.seconds * opts.fps as f32).round() as u32;
    let gt_dir = opts.out_dir.join("gt");
    std::fs::create_dir_all(&gt_dir).map_err(io_err(&gt_dir))?;
    let video_path = opts.out_dir.join("clip.mp4");
    let mut writer = if opts.video {
        let comment = format!(
            "footrackd synth seed {} ({}). {CREDIT}",
            opts.seed,
            if opts.tracab.is_some() { "TRACAB trajectories" } else { "procedural play" }
        );
        Some(encode::Mp4Writer::create(
            &video_path,
            opts.width,
            opts.height,
            opts.fps,
            opts.bitrate_kbps,
            &comment,
            "Generated by footrackd; cut-outs CC BY 4.0 Roboflow",
        )?)
    } else {
        None
    };
    let mut gt = String::new();
    let mut pitch = String::from("frame,id,team,role,x_m,y_m,z_m,speed_mps\n");
    let mut homog = String::from("frame,h00,h01,h02,h10,h11,h12,h20,h21,h22\n");
    let mut i420 = Vec::new();
    let mut total_boxes = 0usize;
    let mut visible_players = 0usize;
    for _ in 0..frames {
        let truth = scene.next_frame();
        let f = truth.number;
        for b in &truth.boxes {
            let e = &truth.entities[b.entity];
            let _ = writeln!(
                gt,
                "{f},{},{:.2},{:.2},{:.2},{:.2},1,{},{:.3}",
                e.id,
                b.x,
                b.y,
                b.w,
                b.h,
                e.role.mot_class(),
                b.visibility
            );
            if e.role != Role::Ball && b.visibility >= 0.5 {
                visible_players += 1;
            }
        }
        total_boxes += truth.boxes.len();
        for e in &truth.entities {
            let _ = writeln!(
                pitch,
                "{f},{},{},{},{:.3},{:.3},{:.3},{:.2}",
                e.id,
                e.team,
                e.role.as_str(),
                e.x,
                e.y,
                e.z,
                e.speed
            );
        }
        let h = truth.camera.image_to_pitch();
        let _ = write!(homog, "{f}");
        for row in &h {
            for v in row {
                let _ = write!(homog, ",{v:.9e}");
            }
        }
        homog.push('\n');
        if let Some(w) = writer.as_mut() {
            scene.i420(&mut i420);
            w.push(&i420)?;
        }
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let write = |path: PathBuf, text: &str| -> Result<(), SynthError> {
        let mut f = std::fs::File::create(&path).map_err(io_err(&path))?;
        f.write_all(text.as_bytes()).map_err(io_err(&path))
    };
    write(gt_dir.join("gt.txt"), &gt)?;
    write(opts.out_dir.join("pitch.csv"), &pitch)?;
    write(opts.out_dir.join("homography.csv"), &homog)?;
    let meta = serde_json::json!({
        "generator": "footrackd synth",
        "version": env!("CARGO_PKG_VERSION"),
        "seed": opts.seed,
        "width": opts.width,
        "height": opts.height,
        "fps": opts.fps,
        "frames": frames,
        "motion": if opts.tracab.is_some() { "tracab" } else { "procedural" },
        "camera_position_m": CAMERA_POSITION,
        "pitch_m": [motion::PITCH_LENGTH_M, motion::PITCH_WIDTH_M],
        "gt_format": "MOTChallenge: frame,id,x,y,w,h,1,class(1 player,2 goalkeeper,3 referee,4 ball),visibility",
        "pitch_format": "frame,id,team(0 A,1 B,2 none),role,x_m,y_m,z_m,speed_mps; origin at a corner, x along the near touchline",
        "homography": "image pixels -> pitch metres, row-major h00..h22",
        "kit_source_video": scene.kit_source(),
        "credits": CREDIT,
    });
    write(opts.out_dir.join("meta.json"), &serde_json::to_string_pretty(&meta).unwrap_or_default())?;
    Ok(SynthSummary { frames, boxes: total_boxes, mean_visible_players: visible_players as f32 / frames.max(1) as f32 })
}
