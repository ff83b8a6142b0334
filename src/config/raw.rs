//! The configuration as written: serde types with defaults, unknown keys refused.
//!
//! Every option carries its unit in its name. Values here are unchecked; [`super::validate`]
//! turns a [`RawConfig`] into a [`super::Config`] or reports every problem at once.

use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Identity of this appliance.
    pub device: DeviceSection,
    /// Where video comes from.
    pub source: SourceSection,
    /// The frame ring between decode and inference.
    pub ring: RingSection,
    /// The detector.
    pub infer: InferSection,
    /// The tracker.
    pub track: TrackSection,
    /// MQTT output.
    pub publish: PublishSection,
    /// Health reporting and remote control.
    pub control: ControlSection,
    /// Self-throttling against temperature and memory.
    pub throttle: ThrottleSection,
    /// Image-to-pitch calibration.
    pub pitch: PitchSection,
    /// Logging.
    pub log: LogSection,
}

/// `[device]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceSection {
    /// Name used in MQTT topics: `footrack/<id>/...`. Letters, digits, `-` and `_`.
    pub id: String,
}

impl Default for DeviceSection {
    fn default() -> Self {
        DeviceSection { id: "footrackd".into() }
    }
}

/// Which decoder GStreamer should use.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DecoderChoice {
    /// NVDEC when present (nvv4l2decoder on Jetson, nvh264dec/nvh265dec on GPU servers), software otherwise.
    #[default]
    Auto,
    /// Software decoding only (libav).
    Software,
    /// NVIDIA desktop/server NVDEC elements (`nvh264dec`, `nvh265dec`).
    Nvdec,
    /// Jetson's V4L2 decoder (`nvv4l2decoder`).
    Nvv4l2,
}

/// `[source]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSection {
    /// A file path, `file://`, `rtsp://`, `rtsps://`, `rtmp://`, `http(s)://` (HLS or progressive) or `v4l2:///dev/videoN`.
    pub uri: String,
    /// Stable name of this camera in payloads.
    pub id: String,
    /// Play files at their own frame rate, as a camera would. `false` reads them as fast as the pipeline takes them.
    pub realtime: bool,
    /// Decoder selection.
    pub decoder: DecoderChoice,
    /// A live source with no frame for this long is declared stalled and restarted.
    pub stall_timeout_ms: u64,
    /// First delay before reconnecting a lost stream; doubles on each failure.
    pub reconnect_initial_ms: u64,
    /// Longest delay between reconnect attempts.
    pub reconnect_max_ms: u64,
    /// RTSP transport: `tcp` (robust through NAT) or `udp` (lower latency).
    pub rtsp_transport: String,
    /// Network jitter buffer for RTSP, milliseconds.
    pub latency_ms: u64,
}

impl Default for SourceSection {
    fn default() -> Self {
        SourceSection {
            uri: String::new(),
            id: "camera-1".into(),
            realtime: true,
            decoder: DecoderChoice::Auto,
            stall_timeout_ms: 5_000,
            reconnect_initial_ms: 500,
            reconnect_max_ms: 30_000,
            rtsp_transport: "tcp".into(),
            latency_ms: 200,
        }
    }
}

/// What the ring does when the detector falls behind.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OverflowPolicy {
    /// Drop the oldest waiting frame and count it: the decode thread never waits (live sources).
    #[default]
    DropOldest,
    /// The decode thread waits for a free slot: every frame is processed (offline files, evaluation).
    Block,
}

/// `[ring]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RingSection {
    /// Preallocated frame slots between decode and inference (2..=16).
    pub slots: usize,
    /// Overflow policy when every slot is full.
    pub overflow: OverflowPolicy,
}

impl Default for RingSection {
    fn default() -> Self {
        RingSection { slots: 4, overflow: OverflowPolicy::DropOldest }
    }
}

/// How frames reach the GPU pre-processor (CUDA builds with a GPU provider).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum GpuInputMode {
    /// Ring slots are page-locked and device-mapped; the kernel reads them in place.
    #[default]
    Mapped,
    /// Ordinary ring slots; one explicit host-to-device copy per frame.
    Copy,
}

/// `[infer]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct InferSection {
    /// ONNX model path. Its manifest is the same path with `.toml` in place of `.onnx`.
    pub model: String,
    /// Detections below this score are discarded before tracking.
    pub score_threshold: f32,
    /// IoU above which overlapping detections of one class are merged.
    pub nms_iou_threshold: f32,
    /// Tile columns over the frame (1 = no horizontal tiling).
    pub tile_columns: u32,
    /// Tile rows over the frame.
    pub tile_rows: u32,
    /// Overlap between neighbouring tiles as a fraction of tile size (0.0..0.5).
    pub tile_overlap_frac: f32,
    /// Also run the model on the whole frame (finds players too large for one tile).
    pub full_frame: bool,
    /// CPU threads for ONNX Runtime's intra-op pool (0 = one per core).
    pub threads: usize,
    /// Execution providers to try in order: `cpu`, `cuda`, `tensorrt`.
    pub providers: Vec<String>,
    /// Highest inference rate; frames beyond it are skipped at ingress (0 = as fast as possible).
    pub max_fps: f32,
    /// With a GPU provider: `mapped` (zero-copy pinned ring slots) or `copy` (one upload per frame).
    pub gpu_input: GpuInputMode,
    /// With a GPU provider, letterbox on the GPU (false: on the CPU, input copied by ONNX Runtime).
    pub gpu_preprocess: bool,
}

impl Default for InferSection {
    fn default() -> Self {
        InferSection {
            model: "models/yolox_nano.onnx".into(),
            score_threshold: 0.25,
            nms_iou_threshold: 0.5,
            tile_columns: 2,
            tile_rows: 2,
            tile_overlap_frac: 0.15,
            full_frame: true,
            threads: 0,
            providers: vec!["cpu".into()],
            max_fps: 0.0,
            gpu_input: GpuInputMode::Mapped,
            gpu_preprocess: true,
        }
    }
}

/// `[track]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrackSection {
    /// Detections at or above this score take part in the first association stage.
    pub high_score: f32,
    /// Detections between this and `high_score` take part only in the second stage.
    pub low_score: f32,
    /// An unmatched detection at or above this score starts a new track.
    pub new_track_score: f32,
    /// Lowest IoU for a first-stage match.
    pub match_iou: f32,
    /// Lowest IoU for a second-stage (low score) match.
    pub low_match_iou: f32,
    /// Boxes are grown by this fraction of their size before IoU (buffered IoU, for fast motion).
    pub iou_buffer_frac: f32,
    /// A lost track is kept this long for re-identification, in seconds of video.
    pub max_lost_secs: f32,
    /// Frames a new track needs before it is published.
    pub min_hits: u32,
    /// Estimate global camera motion from matched tracks and compensate predictions.
    pub camera_motion_compensation: bool,
    /// Re-link lost tracks to new detections by distance (after occlusions, when IoU fails).
    pub relink_lost: bool,
}

impl Default for TrackSection {
    fn default() -> Self {
        TrackSection {
            high_score: 0.35,
            low_score: 0.1,
            new_track_score: 0.45,
            match_iou: 0.2,
            low_match_iou: 0.3,
            iou_buffer_frac: 0.15,
            max_lost_secs: 1.5,
            min_hits: 2,
            camera_motion_compensation: true,
            relink_lost: false,
        }
    }
}

/// `[publish]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PublishSection {
    /// MQTT broker host name or address.
    pub broker_host: String,
    /// MQTT broker TCP port.
    pub broker_port: u16,
    /// MQTT client id (empty = `footrackd-<device id>`).
    pub client_id: String,
    /// First topic level.
    pub topic_prefix: String,
    /// MQTT keep-alive, seconds (at least 1).
    pub keep_alive_secs: u64,
    /// Messages that may wait for the broker; beyond this they are dropped and counted.
    pub queue_capacity: usize,
    /// Broker user name (empty = anonymous).
    pub username: String,
    /// Broker password. Never echoed in `config/state`.
    pub password: String,
    /// QoS of track messages (0 or 1).
    pub tracks_qos: u8,
}

impl Default for PublishSection {
    fn default() -> Self {
        PublishSection {
            broker_host: "127.0.0.1".into(),
            broker_port: 1883,
            client_id: String::new(),
            topic_prefix: "footrack".into(),
            keep_alive_secs: 10,
            queue_capacity: 256,
            username: String::new(),
            password: String::new(),
            tracks_qos: 0,
        }
    }
}

/// `[control]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSection {
    /// Period of `health` messages, seconds.
    pub health_interval_secs: f32,
    /// Accept partial configs on `config/set`.
    pub remote_config: bool,
    /// SIGTERM grace: longest wait for the pipeline to drain, seconds.
    pub shutdown_deadline_secs: f32,
    /// Where accepted remote changes are kept (TOML overlay applied over the config file at start).
    /// Empty = `<config file stem>.remote.toml` beside the config file.
    pub remote_overrides_path: String,
}

impl Default for ControlSection {
    fn default() -> Self {
        ControlSection { health_interval_secs: 5.0, remote_config: true, shutdown_deadline_secs: 5.0, remote_overrides_path: String::new() }
    }
}

/// `[log]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// `tracing` filter, e.g. `info` or `footrackd=debug`.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection { level: "info".into() }
    }
}

/// `[throttle]`: self-throttling against temperature and memory.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleSection {
    /// Adjust the inference rate to temperature and memory.
    pub enabled: bool,
    /// Lowest inference rate the throttle goes down to.
    pub min_fps: f32,
    /// Highest inference rate (the rate when cool; 0 = the source's own rate).
    pub max_fps: f32,
    /// How often sensors are read and the rate adjusted.
    pub interval_secs: f32,
    /// Above this temperature (any zone) the rate is cut.
    pub temp_high_c: f32,
    /// Above this temperature the rate goes straight to `min_fps`.
    pub temp_critical_c: f32,
    /// Below this temperature the rate may recover (hysteresis).
    pub temp_resume_c: f32,
    /// Below this much available memory the rate is cut.
    pub mem_min_available_mb: u64,
    /// Above this much available memory the rate may recover.
    pub mem_resume_available_mb: u64,
    /// Root of sysfs (thermal zones); a fake tree in tests.
    pub sysfs_root: String,
    /// Root of procfs (meminfo, the process's stat); a fake tree in tests.
    pub procfs_root: String,
}

impl Default for ThrottleSection {
    fn default() -> Self {
        ThrottleSection {
            enabled: true,
            min_fps: 2.0,
            max_fps: 0.0,
            interval_secs: 2.0,
            temp_high_c: 80.0,
            temp_critical_c: 90.0,
            temp_resume_c: 72.0,
            mem_min_available_mb: 256,
            mem_resume_available_mb: 512,
            sysfs_root: "/sys".into(),
            procfs_root: "/proc".into(),
        }
    }
}

/// `[pitch]`: image-to-pitch calibration of a fixed camera.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PitchSection {
    /// Homography from image pixels to pitch metres, 9 numbers row-major (empty = no pitch
    /// positions). Tracks then carry `pitch: [x, y]` in metres and `speed_mps`.
    pub image_to_pitch: Vec<f64>,
}
