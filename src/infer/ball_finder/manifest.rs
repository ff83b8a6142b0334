//! The ball finder's manifest: the TOML beside the model saying how to feed it the frame and read
//! its peaks (`models/ball_finder.toml`).

use std::path::Path;

use serde::Deserialize;

use crate::infer::manifest::{ColorOrder, Layout, ManifestError};

/// A parsed and checked ball-finder manifest.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BallFinderManifest {
    /// Model name.
    pub name: String,
    /// Licence of the weights.
    pub license: String,
    /// Expected sha256 of the model file (hex); checked on load when present.
    #[serde(default)]
    pub sha256: Option<String>,
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
    /// Padding value (0..255) beyond the frame's right and bottom edges.
    pub pad_value: u8,
    /// Input pixels per output cell.
    pub stride: u32,
    /// The input's width and height are padded up to a multiple of this.
    pub size_multiple: u32,
    /// Frames wider than this are shrunk to it (the scales it was trained on).
    pub max_width: u32,
    /// Most peaks kept per frame, best first ...
    pub top_k: usize,
    /// ... of those at least this likely.
    pub min_score: f32,
    /// Most frames of one size run in one call (a shared detector's cameras, on a GPU); 1 when
    /// absent: ONNX Runtime's CUDA convolutions set up again at every change of input shape, which
    /// costs more than batching saves when the batch varies (docs/cameras.md).
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// What one run costs (for people sizing a device; not acted on).
    #[serde(default)]
    pub cost: Option<toml::Table>,
    /// How the weights were made (for people and audits; not acted on).
    #[serde(default)]
    pub training: Option<toml::Table>,
}

fn default_max_batch() -> usize {
    1
}

impl BallFinderManifest {
    /// Loads and checks the manifest beside `model` (same path, `.toml`), and the model's hash.
    pub fn load_beside(model: &Path) -> Result<Self, ManifestError> {
        crate::infer::manifest::load_beside(model, Self::check, |m: &Self| m.sha256.as_deref())
    }

    fn check(&self) -> Result<(), String> {
        crate::infer::manifest::check_std(self.std)?;
        if !matches!(self.stride, 1..=32)
            || !matches!(self.size_multiple, 1..=64)
            || !self.size_multiple.is_multiple_of(self.stride)
        {
            return Err(format!(
                "stride {} must be 1..=32 and divide size_multiple {} (1..=64)",
                self.stride, self.size_multiple
            ));
        }
        if !(64..=7680).contains(&self.max_width) {
            return Err(format!("max_width {} is outside 64..=7680", self.max_width));
        }
        if !((1..=64).contains(&self.top_k) && self.min_score > 0.0 && self.min_score < 1.0) {
            return Err(format!("top_k {} must be 1..=64 and min_score {} in (0, 1)", self.top_k, self.min_score));
        }
        if !(1..=64).contains(&self.max_batch) {
            return Err(format!("max_batch {} is outside 1..=64", self.max_batch));
        }
        Ok(())
    }

    /// The model's input size for a `width` x `height` frame: shrunk to `max_width` if wider,
    /// padded up to `size_multiple`.
    pub fn input_size(&self, width: u32, height: u32) -> (u32, u32) {
        let scale = (self.max_width as f32 / width.max(1) as f32).min(1.0);
        let fit = |side: u32| ((side as f32 * scale).round().max(1.0) as u32).next_multiple_of(self.size_multiple);
        (fit(width), fit(height))
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
    fn the_shipped_manifest_loads_sizes_frames_and_a_bad_stride_or_batch_is_refused() {
        let model = Path::new("models/ball_finder.onnx");
        let m = BallFinderManifest::load_beside(model).unwrap();
        assert_eq!(m.input_size(1920, 1080), (1920, 1080));
        assert_eq!(m.input_size(1366, 767), (1368, 768));
        assert_eq!(m.input_size(3840, 2160), (1920, 1080));
        let text = std::fs::read_to_string(model.with_extension("toml")).unwrap();
        let m: BallFinderManifest = toml::from_str(&text.replace("stride = 4", "stride = 3")).unwrap();
        assert!(m.check().unwrap_err().contains("stride"));
        // One frame a call as shipped, and when the line is absent; none a call is refused.
        assert_eq!(BallFinderManifest::load_beside(model).unwrap().max_batch, 1);
        let m: BallFinderManifest = toml::from_str(&text.replace("max_batch = 1\n", "")).unwrap();
        assert_eq!(m.max_batch, 1);
        let m: BallFinderManifest = toml::from_str(&text.replace("max_batch = 1", "max_batch = 0")).unwrap();
        assert!(m.check().unwrap_err().contains("max_batch"));
    }
}
