//! The keypoint model's manifest: the TOML beside the model saying how to feed it and read its
//! heatmaps (`models/pitch_keypoints_640x384.toml`).

use std::path::Path;

use serde::Deserialize;

use crate::infer::manifest::{ColorOrder, Layout, ManifestError};
use crate::pitch::keypoints::KEYPOINTS;

/// The one output format: per keypoint a sigmoid heatmap at `stride` input pixels per cell.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HeatmapFormat {
    /// `[N, K, H / stride, W / stride]`, values in `[0, 1]`.
    Heatmaps,
}

/// A parsed and checked keypoint-model manifest.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeypointManifest {
    /// Model name.
    pub name: String,
    /// Licence of the weights.
    pub license: String,
    /// Expected sha256 of the model file (hex); checked on load when present.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Whether the batch dimension is symbolic.
    #[serde(default)]
    pub dynamic_batch: bool,
    /// Output decoder.
    pub format: HeatmapFormat,
    /// Input width in pixels.
    pub input_width: u32,
    /// Input height in pixels.
    pub input_height: u32,
    /// Input layout.
    pub layout: Layout,
    /// Input channel order.
    pub color_order: ColorOrder,
    /// Pixel (0..255) multiplier before mean/std.
    pub scale: f32,
    /// Per-channel mean, in the model's channel order.
    pub mean: [f32; 3],
    /// Per-channel standard deviation, in the model's channel order.
    pub std: [f32; 3],
    /// Letterbox padding value, 0..255.
    pub pad_value: u8,
    /// Input pixels per heatmap cell.
    pub stride: u32,
    /// Heatmaps (keypoints) the model outputs, in the order of [`crate::pitch::keypoints`].
    pub keypoints: usize,
    /// Peaks below this are not keypoints.
    pub min_score: f32,
    /// What one run costs (for people sizing a device; not acted on).
    #[serde(default)]
    pub cost: Option<toml::Table>,
    /// How the weights were made (for people and audits; not acted on).
    #[serde(default)]
    pub training: Option<toml::Table>,
}

impl KeypointManifest {
    /// Loads and checks the manifest beside `model` (same path, `.toml`), and the model's hash.
    pub fn load_beside(model: &Path) -> Result<Self, ManifestError> {
        crate::infer::manifest::load_beside(model, Self::check, |m: &Self| m.sha256.as_deref())
    }

    fn check(&self) -> Result<(), String> {
        if self.keypoints != KEYPOINTS {
            return Err(format!("keypoints = {}: footrackd's pitch model has {KEYPOINTS}", self.keypoints));
        }
        if !(32..=4096).contains(&self.input_width) || !(32..=4096).contains(&self.input_height) {
            return Err(format!("input {}x{} is outside 32..=4096", self.input_width, self.input_height));
        }
        if !(1..=32).contains(&self.stride)
            || !self.input_width.is_multiple_of(self.stride)
            || !self.input_height.is_multiple_of(self.stride)
        {
            return Err(format!("stride {} must be in 1..=32 and divide the input size", self.stride));
        }
        crate::infer::manifest::check_std(self.std)?;
        if !(self.min_score.is_finite() && (0.0..1.0).contains(&self.min_score)) {
            return Err(format!("min_score {} must be in 0..1", self.min_score));
        }
        Ok(())
    }

    /// Heatmap size `(width, height)` in cells.
    pub fn heatmap_size(&self) -> (usize, usize) {
        ((self.input_width / self.stride) as usize, (self.input_height / self.stride) as usize)
    }

    /// Per input channel (model order): multiplier and offset so that value = pixel * mul + add.
    pub fn normalisation(&self) -> ([f32; 3], [f32; 3]) {
        crate::infer::manifest::normalisation(self.scale, self.mean, self.std)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_manifest_loads_and_a_wrong_count_is_refused() {
        let model = Path::new("models/pitch_keypoints_640x384.onnx");
        let m = KeypointManifest::load_beside(model).unwrap();
        assert_eq!((m.heatmap_size(), m.keypoints), ((160, 96), 32));
        let text =
            std::fs::read_to_string(model.with_extension("toml")).unwrap().replace("keypoints = 32", "keypoints = 17");
        let m: KeypointManifest = toml::from_str(&text).unwrap();
        assert!(m.check().unwrap_err().contains("17"));
    }
}
