//! Data types shared by every stage: frame metadata, boxes, detections and tracks.

use serde::Serialize;

/// What a detection or track is. The detector's own classes are mapped onto these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectClass {
    /// An outfield player (COCO `person` maps here).
    Player,
    /// A goalkeeper (only from football-specific models).
    Goalkeeper,
    /// A referee (only from football-specific models).
    Referee,
    /// The ball (COCO `sports ball` maps here).
    Ball,
}

impl ObjectClass {
    /// The lowercase name used in payloads and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectClass::Player => "player",
            ObjectClass::Goalkeeper => "goalkeeper",
            ObjectClass::Referee => "referee",
            ObjectClass::Ball => "ball",
        }
    }

    /// Parses a manifest class name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "player" => ObjectClass::Player,
            "goalkeeper" => ObjectClass::Goalkeeper,
            "referee" => ObjectClass::Referee,
            "ball" => ObjectClass::Ball,
            _ => return None,
        })
    }

    /// Whether this class is a person (tracked by the multi-object tracker, not the ball tracker).
    pub fn is_person(self) -> bool {
        !matches!(self, ObjectClass::Ball)
    }
}

/// Which side a player plays for: kit A (the darker kit, unless the config pins the colours) or B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Team {
    /// The first kit.
    A,
    /// The second kit.
    B,
}

impl Team {
    /// `"A"` or `"B"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Team::A => "A",
            Team::B => "B",
        }
    }
}

/// An axis-aligned box in frame pixels, corners inclusive-exclusive: `(x1, y1)` top-left, `(x2, y2)` bottom-right.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize)]
pub struct BBox {
    /// Left edge, pixels.
    pub x1: f32,
    /// Top edge, pixels.
    pub y1: f32,
    /// Right edge, pixels.
    pub x2: f32,
    /// Bottom edge, pixels.
    pub y2: f32,
}

impl BBox {
    /// Builds a box from its centre and size.
    pub fn from_cxcywh(cx: f32, cy: f32, w: f32, h: f32) -> Self {
        BBox { x1: cx - w / 2.0, y1: cy - h / 2.0, x2: cx + w / 2.0, y2: cy + h / 2.0 }
    }

    /// Builds a box from its top-left corner and size (MOTChallenge's layout).
    pub fn from_xywh(x: f32, y: f32, w: f32, h: f32) -> Self {
        BBox { x1: x, y1: y, x2: x + w, y2: y + h }
    }

    /// Width in pixels (0 for an inverted box).
    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    /// Height in pixels (0 for an inverted box).
    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    /// Area in square pixels.
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// Centre point.
    pub fn center(&self) -> (f32, f32) {
        ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }

    /// Bottom-centre point: where a standing player touches the pitch.
    pub fn foot(&self) -> (f32, f32) {
        ((self.x1 + self.x2) / 2.0, self.y2)
    }

    /// Intersection over union; 0 when either box is empty.
    pub fn iou(&self, other: &BBox) -> f32 {
        let iw = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let ih = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The box grown by `frac` of its own size on every side (C-BIoU's buffered box).
    pub fn expanded(&self, frac: f32) -> BBox {
        let dw = self.width() * frac;
        let dh = self.height() * frac;
        BBox { x1: self.x1 - dw, y1: self.y1 - dh, x2: self.x2 + dw, y2: self.y2 + dh }
    }

    /// The box clipped to `[0, width) x [0, height)`.
    pub fn clipped(&self, width: f32, height: f32) -> BBox {
        BBox {
            x1: self.x1.clamp(0.0, width),
            y1: self.y1.clamp(0.0, height),
            x2: self.x2.clamp(0.0, width),
            y2: self.y2.clamp(0.0, height),
        }
    }
}

/// One object found by the detector in one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// Box in frame pixels.
    pub bbox: BBox,
    /// Confidence in `[0, 1]`.
    pub score: f32,
    /// What was found.
    pub class: ObjectClass,
}

/// A tracked object as of the latest frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Track {
    /// Stable identity, unique for the life of the tracker.
    pub id: u64,
    /// Class of the detections it was built from.
    pub class: ObjectClass,
    /// Box in frame pixels (the filtered state, not the raw detection).
    pub bbox: BBox,
    /// Score of the detection matched in this frame, or the last one when coasting.
    pub score: f32,
    /// Frames since the track last matched a detection (0 = matched in this frame).
    pub frames_since_seen: u32,
}

/// A track's place on the pitch (with a calibrated camera).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PitchPos {
    /// Along the touchline, metres.
    pub x_m: f32,
    /// Across the pitch, metres.
    pub y_m: f32,
    /// Smoothed speed, metres per second.
    pub speed_mps: f32,
    /// Smoothed velocity along x and y, metres per second.
    pub velocity_mps: (f32, f32),
    /// Distance covered since the track began, metres.
    pub distance_m: f32,
    /// Whether it is on the pitch (within the margin); `true` when no area is set.
    pub on_pitch: bool,
}

/// What is known of the ball beyond its track.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BallState {
    /// Not seen in this frame: the position is the tracker's prediction.
    pub predicted: bool,
}

/// Everything known about one tracked object in one frame: the unit of the game state. Made
/// once per frame by the inference thread, each stage filling its own field (the tracker the
/// track, the teams the team, the pitch mapper the place), and read as a whole by everything
/// that reports it: the MQTT payload, the annotated video and the snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackRecord {
    /// Identity, role (`class`), box, score and age.
    pub track: Track,
    /// The player's team, when teams are assigned and the kit is known.
    pub team: Option<Team>,
    /// Place, speed and distance on the pitch, while the camera is calibrated.
    pub pitch: Option<PitchPos>,
    /// The ball's own state (`None` for people).
    pub ball: Option<BallState>,
}

impl TrackRecord {
    /// A record of `track` alone, before teams and pitch positions are known.
    pub fn of(track: Track) -> Self {
        let ball = (track.class == ObjectClass::Ball).then_some(BallState { predicted: track.frames_since_seen > 0 });
        TrackRecord { track, team: None, pitch: None, ball }
    }

    /// Whether reports leave it out: a place known to be off the pitch.
    pub fn off_pitch(&self) -> bool {
        self.pitch.is_some_and(|p| !p.on_pitch)
    }
}

/// Timing and identity of one decoded frame, carried beside its pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameMeta {
    /// Sequence number assigned by the source, from 0, counting every decoded frame (dropped ones too).
    pub number: u64,
    /// Presentation timestamp from the stream, nanoseconds, if the stream had one.
    pub pts_ns: Option<u64>,
    /// Wall-clock capture time, nanoseconds since the Unix epoch.
    pub capture_unix_ns: u64,
    /// Monotonic capture time, nanoseconds since the process's clock origin (for latency).
    pub capture_mono_ns: u64,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
}

/// Pixel layout of a frame slot: planar YUV 4:2:0 in one of its two common forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PixelFormat {
    /// Y plane, then U, then V (each chroma plane quarter size).
    #[default]
    I420,
    /// Y plane, then interleaved UV.
    Nv12,
}

/// Where the planes of a 4:2:0 frame lie in its buffer: row strides and the chroma plane's
/// offset. Host copies are tightly packed; frames kept in decoder (GPU) memory keep its pitch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PlaneLayout {
    /// Bytes from one luma row to the next.
    pub y_stride: u32,
    /// Bytes from one chroma row to the next (of the U plane for I420, of the UV plane for NV12).
    pub uv_stride: u32,
    /// Bytes from the start of the buffer to the first chroma plane; for I420 the V plane
    /// follows the U plane at `uv_stride * ceil(height / 2)`.
    pub uv_offset: usize,
}

impl PlaneLayout {
    /// The layout of a tightly packed frame.
    pub fn packed(width: u32, height: u32, format: PixelFormat) -> Self {
        let cw = width.div_ceil(2);
        let uv_stride = match format {
            PixelFormat::I420 => cw,
            PixelFormat::Nv12 => cw * 2,
        };
        PlaneLayout { y_stride: width, uv_stride, uv_offset: width as usize * height as usize }
    }

    /// Bytes the frame spans with this layout.
    pub fn bytes(&self, height: u32, format: PixelFormat) -> usize {
        let ch = height.div_ceil(2) as usize;
        let chroma_planes = if format == PixelFormat::I420 { 2 } else { 1 };
        self.uv_offset + chroma_planes * self.uv_stride as usize * ch
    }
}

/// Bytes a tightly packed YUV 4:2:0 frame of this size needs (`I420` or `NV12`).
pub fn yuv420_bytes(width: u32, height: u32) -> usize {
    let (w, h) = (width as usize, height as usize);
    w * h + 2 * (w.div_ceil(2) * h.div_ceil(2))
}

/// A borrowed, tightly packed YUV 4:2:0 frame.
#[derive(Clone, Copy, Debug)]
pub struct YuvFrame<'a> {
    /// Pixels: Y plane then chroma.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Chroma layout.
    pub format: PixelFormat,
    /// The GPU's address of the frame: of the same bytes (device-mapped pinned memory), or of
    /// the only copy (a frame kept in GPU memory; `data` is then empty).
    pub device: Option<u64>,
    /// Where the planes lie (tightly packed for host frames).
    pub layout: PlaneLayout,
}

impl<'a> YuvFrame<'a> {
    /// Wraps `data`, or `None` when it is too short for the size.
    pub fn new(data: &'a [u8], width: u32, height: u32, format: PixelFormat) -> Option<Self> {
        (width > 0 && height > 0 && data.len() >= yuv420_bytes(width, height)).then_some(YuvFrame {
            data,
            width,
            height,
            format,
            device: None,
            layout: PlaneLayout::packed(width, height, format),
        })
    }

    /// A frame that lives only in GPU memory at `device`, its planes as in `layout`.
    pub fn on_device(device: u64, width: u32, height: u32, format: PixelFormat, layout: PlaneLayout) -> Option<Self> {
        (width > 0 && height > 0 && device != 0).then_some(YuvFrame {
            data: &[],
            width,
            height,
            format,
            device: Some(device),
            layout,
        })
    }

    /// Whether the pixels can be read on the host.
    pub fn on_host(&self) -> bool {
        self.data.len() >= yuv420_bytes(self.width, self.height)
    }

    /// The same frame, also readable by the GPU at `device`.
    pub fn with_device(mut self, device: Option<u64>) -> Self {
        self.device = device;
        self
    }

    /// The Y, U and V bytes of pixel `(x, y)`; `None` outside the buffer.
    pub fn yuv(&self, x: u32, y: u32) -> Option<(u8, u8, u8)> {
        let l = &self.layout;
        let yv = *self.data.get(y as usize * l.y_stride as usize + x as usize)?;
        let (cx, cy) = ((x / 2) as usize, (y / 2) as usize);
        let (u, v) = match self.format {
            PixelFormat::I420 => {
                let ch = self.height.div_ceil(2) as usize;
                let u_at = l.uv_offset + cy * l.uv_stride as usize + cx;
                (*self.data.get(u_at)?, *self.data.get(u_at + ch * l.uv_stride as usize)?)
            }
            PixelFormat::Nv12 => {
                let at = l.uv_offset + cy * l.uv_stride as usize + 2 * cx;
                (*self.data.get(at)?, *self.data.get(at + 1)?)
            }
        };
        Some((yv, u, v))
    }

    /// The RGB (0..255, BT.601 limited range) of pixel `(x, y)`; `None` outside the buffer.
    pub fn rgb(&self, x: u32, y: u32) -> Option<[f32; 3]> {
        let (yv, u, v) = self.yuv(x, y)?;
        let yv = yv as f32;
        // BT.601 limited range, as decoders deliver SD/HD H.264 by default.
        let (c, d, e) = (yv - 16.0, u as f32 - 128.0, v as f32 - 128.0);
        let r = 1.164 * c + 1.596 * e;
        let g = 1.164 * c - 0.392 * d - 0.813 * e;
        let b = 1.164 * c + 2.017 * d;
        Some([r.clamp(0.0, 255.0), g.clamp(0.0, 255.0), b.clamp(0.0, 255.0)])
    }
}

/// Nanoseconds on a process-wide monotonic clock; used for latency across threads.
pub fn monotonic_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    Instant::now().saturating_duration_since(origin).as_nanos() as u64
}

/// Nanoseconds since the Unix epoch (0 if the system clock is before it).
pub fn unix_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_boxes_is_one_and_disjoint_is_zero() {
        let a = BBox::from_xywh(0.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        let b = BBox::from_xywh(20.0, 20.0, 10.0, 10.0);
        assert_eq!(a.iou(&b), 0.0);
        let c = BBox::from_xywh(5.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&c) - 50.0 / 150.0).abs() < 1e-6);
    }
}
