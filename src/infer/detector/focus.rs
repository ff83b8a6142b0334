//! The ball's second look. The whole frame, shrunk to the model's input, leaves a 1080p ball a
//! few pixels wide; a small model run on the frame's own pixels where the ball is expected (the
//! tracker's prediction) and where the whole-frame pass saw weak ball candidates finds many of
//! the balls the first pass scored too low or missed. Only balls come out of it.

use super::{DetectTiming, Detector};
use crate::frame::{Detection, ObjectClass};
use crate::infer::error::InferError;
use crate::infer::options::{BallFocusOptions, DetectorOptions};
use crate::infer::pre::{Region, YuvFrame};
use crate::infer::tiling::TilePlan;

/// The weakest whole-frame ball that still earns a second look (and is dropped after it).
pub(super) const CANDIDATE_SCORE: f32 = 0.01;

/// The whole-frame pass must shrink the frame below this share of the second look's scale for
/// the second look to run.
const MIN_GAIN: f32 = 0.8;

/// The second-look model and its per-frame buffers.
pub(super) struct BallFocus {
    detector: Detector,
    regions: Vec<Region>,
    found: Vec<Detection>,
    max_regions: usize,
    /// Region size in frame pixels (the model's input over the zoom).
    size: (u32, u32),
    /// Model pixels per frame pixel in a region.
    zoom: f32,
}

impl BallFocus {
    /// Loads the second-look model with the main detector's providers and threads.
    pub(super) fn new(main: &DetectorOptions, focus: &BallFocusOptions) -> Result<Self, InferError> {
        let opts = DetectorOptions {
            model: focus.model.clone(),
            manifest: focus.manifest.clone(),
            tiles: TilePlan { columns: 1, rows: 1, overlap_frac: 0.0, full_frame: true },
            ball_focus: None,
            ball_finder: None,
            // One to `regions` images per call on the CPU: no fixed shape for a graph to replay.
            cuda_graph: false,
            ..main.clone()
        };
        let m = &focus.manifest;
        let size =
            ((m.input_width as f32 / focus.zoom).round() as u32, (m.input_height as f32 / focus.zoom).round() as u32);
        let max_regions = focus.regions.max(1) as usize;
        let mut detector = Detector::build(opts, true)?;
        detector.hold_batch_images(max_regions);
        Ok(BallFocus {
            detector,
            regions: Vec::with_capacity(max_regions),
            found: Vec::with_capacity(64),
            max_regions,
            size,
            zoom: focus.zoom,
        })
    }

    /// Whether a second look adds detail to a whole-frame pass that sees the frame at `scale`
    /// model pixels per frame pixel: not at 720p into a 1280-wide model (nothing to gain but the
    /// cost), yes at 1080p (a 12 px ball seen at 8 px).
    pub(super) fn adds_detail(&self, scale: f32) -> bool {
        scale < MIN_GAIN * self.zoom
    }

    /// Follows the main detector's score threshold.
    pub(super) fn set_score_threshold(&mut self, score_threshold: f32, nms_iou_threshold: f32) {
        let tiles = self.detector.opts.tiles;
        self.detector.set_options(score_threshold, nms_iou_threshold, tiles);
    }

    /// Looks again around `hint` (where the ball is expected) and the best ball candidates of
    /// `dets` (the whole-frame pass, sorted by score), and appends the balls found to `dets`.
    pub(super) fn look(
        &mut self,
        frame: &YuvFrame<'_>,
        hint: Option<(f32, f32)>,
        dets: &mut Vec<Detection>,
    ) -> Result<DetectTiming, InferError> {
        self.regions.clear();
        let balls = dets.iter().filter(|d| d.class == ObjectClass::Ball).map(|d| d.bbox.center());
        for (x, y) in hint.into_iter().chain(balls) {
            if self.regions.len() == self.max_regions {
                break;
            }
            if !self.regions.iter().any(|r| holds_near_middle(r, x, y)) {
                self.regions.push(centred(x, y, self.size, frame.width, frame.height));
            }
        }
        if self.regions.is_empty() {
            return Ok(DetectTiming::default());
        }
        let timing = self.detector.detect_regions(frame, &self.regions, &mut self.found)?;
        dets.extend(self.found.iter().filter(|d| d.class == ObjectClass::Ball));
        Ok(timing)
    }
}

/// A `size` region centred on (x, y) as far as the frame allows.
fn centred(x: f32, y: f32, size: (u32, u32), width: u32, height: u32) -> Region {
    let (w, h) = (size.0.min(width).max(1), size.1.min(height).max(1));
    let left = (x - w as f32 / 2.0).round().clamp(0.0, (width - w) as f32) as u32;
    let top = (y - h as f32 / 2.0).round().clamp(0.0, (height - h) as f32) as u32;
    Region { x: left, y: top, w, h }
}

/// Whether (x, y) lies in the middle half of `r` (a point nearer the edge earns its own region).
fn holds_near_middle(r: &Region, x: f32, y: f32) -> bool {
    let (qx, qy) = (r.w as f32 / 4.0, r.h as f32 / 4.0);
    x >= r.x as f32 + qx && x <= (r.x + r.w) as f32 - qx && y >= r.y as f32 + qy && y <= (r.y + r.h) as f32 - qy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_stay_inside_the_frame_and_keep_their_size() {
        assert_eq!(centred(960.0, 540.0, (320, 320), 1920, 1080), Region { x: 800, y: 380, w: 320, h: 320 });
        assert_eq!(centred(5.0, 1079.0, (320, 320), 1920, 1080), Region { x: 0, y: 760, w: 320, h: 320 });
        assert_eq!(centred(1919.0, 0.0, (320, 320), 1920, 1080), Region { x: 1600, y: 0, w: 320, h: 320 });
        // A frame smaller than the region: the whole frame.
        assert_eq!(centred(100.0, 100.0, (320, 320), 200, 150), Region { x: 0, y: 0, w: 200, h: 150 });
    }

    #[test]
    fn the_second_look_runs_only_where_the_whole_frame_pass_shrinks_the_frame() {
        let gain = |scale: f32, zoom: f32| scale < MIN_GAIN * zoom;
        // 1280x736 model: 1080p is shrunk to 0.67, 720p seen whole, 4K to 0.33.
        assert!(gain(1280.0 / 1920.0, 1.0));
        assert!(!gain(1.0, 1.0));
        assert!(gain(1280.0 / 3840.0, 1.0));
        assert!(!gain(1280.0 / 1920.0, 0.5));
    }

    #[test]
    fn a_point_near_a_region_middle_needs_no_region_of_its_own() {
        let r = Region { x: 800, y: 380, w: 320, h: 320 };
        assert!(holds_near_middle(&r, 960.0, 540.0));
        assert!(holds_near_middle(&r, 1040.0, 460.0));
        assert!(!holds_near_middle(&r, 1100.0, 540.0));
        assert!(!holds_near_middle(&r, 700.0, 540.0));
    }
}
