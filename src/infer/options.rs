//! The `[infer]` section, its checks, and the options a detector is built with.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ball_check::BallCheckManifest;
use super::ball_finder::{BallFinderManifest, BallFinderOptions};
use super::manifest::ModelManifest;
use super::roles::RoleManifest;
use super::tiling::TilePlan;
use crate::frame::ObjectClass;
use crate::problems::{Problems, is_unit};

/// An execution provider: the hardware the model runs on.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// ONNX Runtime on the CPU.
    Cpu,
    /// ONNX Runtime's CUDA provider.
    Cuda,
    /// ONNX Runtime's TensorRT provider (engine cache on disk).
    Tensorrt,
    /// footrackd's own TensorRT 10 engine runner (feature `tensorrt`, `.engine` models); never configured.
    #[serde(skip)]
    TensorrtNative,
}

impl Provider {
    /// Name in logs, health and bench reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::Tensorrt => "tensorrt",
            Provider::TensorrtNative => "tensorrt-native",
        }
    }

    /// Whether the model runs on a GPU.
    pub fn is_gpu(self) -> bool {
        !matches!(self, Provider::Cpu)
    }
}

/// Where pre-processing (letterboxing) runs.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// On the CPU, into host memory.
    Cpu,
    /// On the GPU (NVRTC kernel), into device memory the model reads in place.
    Gpu,
}

impl Device {
    /// Name in logs and bench reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
        }
    }
}

/// How frames reach the GPU pre-processor (CUDA builds with a GPU provider).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum GpuInput {
    /// Ring slots are page-locked and device-mapped; the kernel reads them in place.
    #[default]
    Mapped,
    /// Ordinary ring slots; one explicit host-to-device copy per frame.
    Copy,
}

/// Whether several cameras share one detector (one model session, batched calls) or each has
/// its own.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DetectorSharing {
    /// footrackd's choice: shared on a GPU when there are two cameras or more (one batched call,
    /// one model session), one per camera on a CPU (side by side is faster on 2 cores):
    /// docs/cameras.md.
    #[default]
    Auto,
    /// One detector for every camera.
    Shared,
    /// One detector per camera.
    PerCamera,
}

/// `[infer]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InferSection {
    /// ONNX model path. Its manifest is the same path with `.toml` in place of `.onnx`.
    pub model: String,
    /// Detections below this score are discarded before tracking.
    pub score_threshold: f32,
    /// IoU above which overlapping detections are merged (people across roles, the ball apart).
    pub nms_iou_threshold: f32,
    /// Tile columns over the frame (1 = no horizontal tiling).
    pub tile_columns: u32,
    /// Tile rows over the frame.
    pub tile_rows: u32,
    /// Overlap between neighbouring tiles as a fraction of tile size (0.0..0.5).
    pub tile_overlap_frac: f32,
    /// With tiles, also run the model on the whole frame (finds players too large for one tile).
    pub full_frame: bool,
    /// CPU threads for ONNX Runtime's intra-op pool (0 = one per core).
    pub threads: usize,
    /// CPU threads of each crop model (the role model, the ball check), per camera: 1 leaves the
    /// other cores to the detector on a CPU; where the detector runs on a GPU and cores are idle,
    /// more shorten each frame's pixel stage (docs/cameras.md).
    pub crop_threads: usize,
    /// Execution providers to try in order: `cpu`, `cuda`, `tensorrt`.
    pub providers: Vec<Provider>,
    /// Highest inference rate; frames beyond it are skipped at ingress (0 = as fast as possible).
    pub max_fps: f32,
    /// With a GPU provider: `mapped` (zero-copy pinned ring slots) or `copy` (one upload per frame).
    pub gpu_input: GpuInput,
    /// With a GPU provider, letterbox on the GPU (false: on the CPU, input copied by ONNX Runtime).
    pub gpu_preprocess: bool,
    /// With a GPU provider, run through ONNX Runtime's IoBinding (input and output in device
    /// tensors of the session's own, bound once). Off by default until measured to pay (docs/gpu.md).
    pub io_binding: bool,
    /// With IoBinding, let ONNX Runtime capture the model into a CUDA graph and replay it
    /// (fixed shapes and addresses; the ball's second look, whose batch varies, never does).
    pub cuda_graph: bool,
    /// Frames worked on at once: 2 = the model runs on the next frame while a thread of its own
    /// finishes this one (host pixels, teams, calibration, tracking, publishing), in frame order;
    /// 1 = one after the other on the inference thread.
    pub frames_in_flight: usize,
    /// With several cameras: one detector for all of them, or one each (docs/cameras.md).
    pub detector_sharing: DetectorSharing,
    /// With a shared detector: once one camera's frame waits, how long the call waits for the
    /// other cameras' frames (milliseconds; 0 = it runs whatever waits at once). Cameras whose
    /// frames arrive a little apart otherwise settle into two half-full calls per frame period.
    pub shared_gather_ms: f32,
    /// With a shared detector on a GPU: most frames in one model call, the shape every call is
    /// padded to (0 = every camera served). A call of one frame at a shape of eight costs what
    /// eight do; a smaller shape costs less per call and splits a full batch into several.
    pub shared_call_frames: usize,
    /// The model of the ball's second look (a detector with a `ball` class and a small input:
    /// the football model's own weights at 320x320 by default).
    pub ball_focus_model: String,
    /// Regions of the second look per frame, centred where the ball is expected (the tracker's
    /// prediction) and on the whole-frame pass's best ball candidates (0 = no second look).
    pub ball_focus_regions: u32,
    /// Frame pixels per model pixel inverted: 1.0 looks at the frame's own pixels (a 320x320
    /// region for the 320 model), 2.0 at a region half as wide, enlarged twice.
    pub ball_focus_zoom: f32,
    /// The role model: a second look at each person's crop that decides player, goalkeeper or
    /// referee on the CPU ("": the detector's roles stand).
    pub role_model: String,
    /// The ball check: a third look at each ball candidate's window that scales its score by how
    /// likely it is the ball, on the CPU ("": the detector's scores stand).
    pub ball_check_model: String,
    /// The ball finder: a small network that looks for the ball alone in the whole frame at its
    /// own resolution and adds its peaks to the ball candidates, where the detector runs ("": off).
    pub ball_finder_model: String,
}

impl Default for InferSection {
    fn default() -> Self {
        InferSection {
            model: "models/football_nano_1280x736.onnx".into(),
            score_threshold: 0.25,
            nms_iou_threshold: 0.5,
            tile_columns: 1,
            tile_rows: 1,
            tile_overlap_frac: 0.15,
            full_frame: false,
            threads: 0,
            crop_threads: 1,
            providers: vec![Provider::Cuda, Provider::Cpu],
            max_fps: 0.0,
            gpu_input: GpuInput::Mapped,
            gpu_preprocess: true,
            io_binding: false,
            cuda_graph: false,
            frames_in_flight: 2,
            detector_sharing: DetectorSharing::Auto,
            shared_gather_ms: 0.0,
            shared_call_frames: 0,
            ball_focus_model: "models/football_nano_320.onnx".into(),
            ball_focus_regions: 0,
            ball_focus_zoom: 1.0,
            role_model: "models/roles_32x64.onnx".into(),
            ball_check_model: "models/ball_check_32.onnx".into(),
            ball_finder_model: "models/ball_finder.onnx".into(),
        }
    }
}

impl InferSection {
    /// The regions plan of this section.
    pub fn tiles(&self) -> TilePlan {
        TilePlan {
            columns: self.tile_columns,
            rows: self.tile_rows,
            overlap_frac: self.tile_overlap_frac,
            full_frame: self.full_frame,
        }
    }

    /// Checks the section into `p`; loads and returns the model's manifest when it is usable.
    pub fn check(&self, p: &mut Problems) -> Option<ModelManifest> {
        p.check(is_unit(self.score_threshold), "infer.score_threshold", || {
            format!("{} must be in 0..=1", self.score_threshold)
        });
        p.check(is_unit(self.nms_iou_threshold), "infer.nms_iou_threshold", || {
            format!("{} must be in 0..=1", self.nms_iou_threshold)
        });
        p.check((1..=8).contains(&self.tile_columns), "infer.tile_columns", || {
            format!("{} must be in 1..=8", self.tile_columns)
        });
        p.check((1..=8).contains(&self.tile_rows), "infer.tile_rows", || {
            format!("{} must be in 1..=8", self.tile_rows)
        });
        p.check(
            self.tile_overlap_frac.is_finite() && (0.0..0.5).contains(&self.tile_overlap_frac),
            "infer.tile_overlap_frac",
            || format!("{} must be in 0..0.5", self.tile_overlap_frac),
        );
        p.check(self.threads <= 256, "infer.threads", || format!("{} is more than 256", self.threads));
        p.check((1..=16).contains(&self.crop_threads), "infer.crop_threads", || {
            format!("{} must be in 1..=16", self.crop_threads)
        });
        // A floor: a rate near zero starves the pipeline and the watchdog restarts it for ever.
        p.check(self.max_fps.is_finite() && (self.max_fps == 0.0 || self.max_fps >= 1.0), "infer.max_fps", || {
            format!("{} must be 0 (as fast as possible) or at least 1", self.max_fps)
        });
        p.check(!self.cuda_graph || self.io_binding, "infer.cuda_graph", || {
            "needs infer.io_binding = true (a CUDA graph replays fixed device addresses)".into()
        });
        p.check((0.0..=100.0).contains(&self.shared_gather_ms), "infer.shared_gather_ms", || {
            format!("{} must be 0..=100 milliseconds", self.shared_gather_ms)
        });
        p.check(self.shared_call_frames <= 64, "infer.shared_call_frames", || {
            format!("{} must be 0 (every camera) to 64 frames", self.shared_call_frames)
        });
        p.check((1..=MAX_FRAMES_IN_FLIGHT).contains(&self.frames_in_flight), "infer.frames_in_flight", || {
            format!("{} must be 1 or 2", self.frames_in_flight)
        });
        p.check(!self.providers.is_empty(), "infer.providers", || "must name at least one provider (\"cpu\")".into());
        let path = PathBuf::from(&self.model);
        let is_engine = matches!(path.extension().and_then(|e| e.to_str()), Some("engine" | "plan"));
        p.check(!is_engine || cfg!(feature = "tensorrt"), "infer.model", || {
            format!("{} is a TensorRT engine, but this binary was built without the `tensorrt` feature", self.model)
        });
        match ModelManifest::load_beside(&path) {
            Ok(m) => Some(m),
            Err(e) => {
                p.check(false, "infer.model", || e.to_string());
                None
            }
        }
    }

    /// Checks the ball's second look into `p`; loads and returns its model's manifest when it is
    /// on and usable (`None` when off or refused).
    pub fn check_ball_focus(&self, p: &mut Problems) -> Option<ModelManifest> {
        p.check(self.ball_focus_regions <= MAX_FOCUS_REGIONS, "infer.ball_focus_regions", || {
            format!("{} must be in 0..={MAX_FOCUS_REGIONS} (0: no second look at the ball)", self.ball_focus_regions)
        });
        p.check(
            self.ball_focus_zoom.is_finite() && (0.5..=4.0).contains(&self.ball_focus_zoom),
            "infer.ball_focus_zoom",
            || format!("{} must be in 0.5..=4", self.ball_focus_zoom),
        );
        if self.ball_focus_regions == 0 {
            return None;
        }
        let off = "(or set infer.ball_focus_regions = 0)";
        match ModelManifest::load_beside(std::path::Path::new(&self.ball_focus_model)) {
            Ok(m) if m.class_table().contains(&Some(ObjectClass::Ball)) => Some(m),
            Ok(_) => {
                p.check(false, "infer.ball_focus_model", || {
                    format!("{} has no ball class {off}", self.ball_focus_model)
                });
                None
            }
            Err(e) => {
                p.check(false, "infer.ball_focus_model", || format!("{e} {off}"));
                None
            }
        }
    }

    /// Checks the ball check into `p`; loads and returns its manifest when it is on and usable.
    pub fn check_ball_check(&self, p: &mut Problems) -> Option<BallCheckManifest> {
        if self.ball_check_model.is_empty() {
            return None;
        }
        match BallCheckManifest::load_beside(std::path::Path::new(&self.ball_check_model)) {
            Ok(m) => Some(m),
            Err(e) => {
                p.check(false, "infer.ball_check_model", || format!("{e} (or set infer.ball_check_model = \"\")"));
                None
            }
        }
    }

    /// Checks the ball finder into `p`; loads and returns its manifest when it is on and usable.
    pub fn check_ball_finder(&self, p: &mut Problems) -> Option<BallFinderManifest> {
        if self.ball_finder_model.is_empty() {
            return None;
        }
        match BallFinderManifest::load_beside(std::path::Path::new(&self.ball_finder_model)) {
            Ok(m) => Some(m),
            Err(e) => {
                p.check(false, "infer.ball_finder_model", || format!("{e} (or set infer.ball_finder_model = \"\")"));
                None
            }
        }
    }

    /// Checks the role model into `p`; loads and returns its manifest when it is on and usable.
    pub fn check_roles(&self, p: &mut Problems) -> Option<RoleManifest> {
        if self.role_model.is_empty() {
            return None;
        }
        match RoleManifest::load_beside(std::path::Path::new(&self.role_model)) {
            Ok(m) => Some(m),
            Err(e) => {
                p.check(false, "infer.role_model", || format!("{e} (or set infer.role_model = \"\")"));
                None
            }
        }
    }
}

/// Most second-look regions per frame.
const MAX_FOCUS_REGIONS: u32 = 8;

/// Most frames worked on at once: the model on one, the rest of the work on the one before.
const MAX_FRAMES_IN_FLIGHT: usize = 2;

/// The ball's second look: a small model run on regions where the ball is expected.
#[derive(Clone, Debug)]
pub struct BallFocusOptions {
    /// Model path.
    pub model: PathBuf,
    /// Its manifest.
    pub manifest: ModelManifest,
    /// Regions per frame (at least 1).
    pub regions: u32,
    /// Model pixels per frame pixel.
    pub zoom: f32,
}

/// Settings of a detector.
#[derive(Clone, Debug)]
pub struct DetectorOptions {
    /// Model path.
    pub model: PathBuf,
    /// Its manifest.
    pub manifest: ModelManifest,
    /// Score threshold.
    pub score_threshold: f32,
    /// NMS IoU threshold.
    pub nms_iou_threshold: f32,
    /// Regions to run.
    pub tiles: TilePlan,
    /// ONNX Runtime threads.
    pub threads: usize,
    /// Execution providers, in order of preference.
    pub providers: Vec<Provider>,
    /// Letterbox on the GPU when the provider is a GPU one.
    pub gpu_preprocess: bool,
    /// How frames reach the GPU.
    pub gpu_input: GpuInput,
    /// Run through IoBinding (GPU providers).
    pub io_binding: bool,
    /// Capture and replay a CUDA graph (with IoBinding).
    pub cuda_graph: bool,
    /// The ball's second look, when on.
    pub ball_focus: Option<BallFocusOptions>,
    /// The ball finder, when on: it runs on every frame the detector runs on, where the detector
    /// runs (one session however many cameras a shared detector serves).
    pub ball_finder: Option<BallFinderOptions>,
}

impl DetectorOptions {
    /// The options of a checked section and the manifests its checks loaded (the detector's, the
    /// second look's and the ball finder's).
    pub fn from_section(
        s: &InferSection,
        manifest: ModelManifest,
        focus: Option<ModelManifest>,
        finder: Option<BallFinderManifest>,
    ) -> Self {
        DetectorOptions {
            model: PathBuf::from(&s.model),
            manifest,
            score_threshold: s.score_threshold,
            nms_iou_threshold: s.nms_iou_threshold,
            tiles: s.tiles(),
            threads: s.threads,
            providers: s.providers.clone(),
            gpu_preprocess: s.gpu_preprocess,
            gpu_input: s.gpu_input,
            io_binding: s.io_binding,
            cuda_graph: s.cuda_graph,
            ball_focus: focus.map(|manifest| BallFocusOptions {
                model: PathBuf::from(&s.ball_focus_model),
                manifest,
                regions: s.ball_focus_regions,
                zoom: s.ball_focus_zoom,
            }),
            ball_finder: finder.map(|manifest| BallFinderOptions {
                model: PathBuf::from(&s.ball_finder_model),
                manifest,
                providers: s.providers.clone(),
            }),
        }
    }
}
