//! The ball check's manifest: the TOML beside the model saying how to cut and feed the window
//! around a ball candidate (`models/ball_check_32.toml`).

use std::path::Path;

use serde::Deserialize;

use crate::infer::manifest::{ColorOrder, Layout, ManifestError};

/// A parsed and checked ball-check manifest.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BallCheckManifest {
    /// Model name.
    pub name: String,
    /// Licence of the weights.
    pub license: String,
    /// Expected sha256 of the model file (hex); checked on load when present.
    #[serde(default)]
    pub sha256: Option<String>,
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
    /// The window cut around a candidate: a square of this many times the candidate's larger
    /// side, centred on it, ...
    pub window_factor: f32,
    /// ... at least this many pixels ...
    pub window_min: f32,
    /// ... and at most this many, as in training.
    pub window_max: f32,
    /// What one run costs (for people sizing a device; not acted on).
    #[serde(default)]
    pub cost: Option<toml::Table>,
    /// How the weights were made (for people and audits; not acted on).
    #[serde(default)]
    pub training: Option<toml::Table>,
}

impl BallCheckManifest {
    /// Loads and checks the manifest beside `model` (same path, `.toml`), and the model's hash.
    pub fn load_beside(model: &Path) -> Result<Self, ManifestError> {
        crate::infer::manifest::load_beside(model, Self::check, |m: &Self| m.sha256.as_deref())
    }

    fn check(&self) -> Result<(), String> {
        crate::infer::crops::check_input(self.input_width, self.input_height, self.std)?;
        let w = (self.window_factor, self.window_min, self.window_max);
        if !(w.0.is_finite() && w.0 > 0.0 && w.1.is_finite() && w.1 >= 1.0 && w.2.is_finite() && w.2 >= w.1) {
            return Err(format!("window {w:?} must be a positive factor and 1 <= window_min <= window_max"));
        }
        Ok(())
    }

    /// The window's side for a candidate whose larger side is `size` pixels.
    pub fn window(&self, size: f32) -> f32 {
        (self.window_factor * size).clamp(self.window_min, self.window_max)
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
    fn the_shipped_manifest_loads_and_a_bad_window_is_refused() {
        let model = Path::new("models/ball_check_32.onnx");
        let m = BallCheckManifest::load_beside(model).unwrap();
        assert_eq!(m.window(12.0), 72.0);
        assert_eq!(m.window(2.0), m.window_min);
        let text = std::fs::read_to_string(model.with_extension("toml")).unwrap();
        let m: BallCheckManifest = toml::from_str(&text.replace("window_min = 32.0", "window_min = 200.0")).unwrap();
        assert!(m.check().unwrap_err().contains("window"));
    }
}
