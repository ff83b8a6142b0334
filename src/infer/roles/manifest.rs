//! The role model's manifest: the TOML beside the model saying how to cut and feed a person's
//! crop and what its outputs mean (`models/roles_32x64.toml`).

use std::path::Path;

use serde::Deserialize;

use crate::frame::ObjectClass;
use crate::infer::manifest::{ColorOrder, Layout, ManifestError};

/// A parsed and checked role-model manifest.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleManifest {
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
    /// The crop around a person's box: its width and height grown by this fraction (half on
    /// each side), as in training.
    pub margin: f32,
    /// The role of each output, in output order: `player`, `goalkeeper` or `referee`.
    pub roles: Vec<String>,
    /// The frame's context, when given: how much a kit unlike everyone else's in the frame
    /// speaks for a goalkeeper or referee against a player.
    #[serde(default)]
    pub kit_context: Option<KitContext>,
    /// What one run costs (for people sizing a device; not acted on).
    #[serde(default)]
    pub cost: Option<toml::Table>,
    /// How the weights were made (for people and audits; not acted on).
    #[serde(default)]
    pub training: Option<toml::Table>,
}

/// A goalkeeper's or referee's kit is unlike everyone else's in the frame; a player's matches
/// team-mates'. The log of the likelihood ratio, unique kit against player, is
/// `weights[0] ln(1 + d1) + weights[1] ln(1 + d2) + bias`, where d1 and d2 are the RGB distances
/// (0..255 a channel) from a person's kit to the two nearest other people's kits in the frame,
/// fitted on the training frames' labelled boxes.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KitContext {
    /// Weights of ln(1 + d1) and ln(1 + d2).
    pub weights: [f32; 2],
    /// The constant term.
    pub bias: f32,
    /// Frames with fewer people say nothing of who is unlike the rest: no context applied.
    pub min_people: usize,
    /// The log ratio is clamped to +- this: the model's own view of the crop keeps a say.
    pub max_log_ratio: f32,
}

impl RoleManifest {
    /// Loads and checks the manifest beside `model` (same path, `.toml`), and the model's hash.
    pub fn load_beside(model: &Path) -> Result<Self, ManifestError> {
        crate::infer::manifest::load_beside(model, Self::check, |m: &Self| m.sha256.as_deref())
    }

    fn check(&self) -> Result<(), String> {
        crate::infer::crops::check_input(self.input_width, self.input_height, self.std)?;
        if !(self.margin.is_finite() && (0.0..=1.0).contains(&self.margin)) {
            return Err(format!("margin {} must be in 0..=1", self.margin));
        }
        if let Some(k) = &self.kit_context {
            let finite = k.weights.iter().chain([&k.bias, &k.max_log_ratio]).all(|v| v.is_finite());
            if !finite || k.max_log_ratio < 0.0 || k.min_people < 3 {
                return Err(format!(
                    "kit_context {k:?}: weights, bias and max_log_ratio must be finite, max_log_ratio >= 0 and min_people >= 3"
                ));
            }
        }
        let classes = self.classes()?;
        if classes.len() < 2 || (1..classes.len()).any(|i| classes[..i].contains(&classes[i])) {
            return Err(format!("roles {:?} must name at least two different roles", self.roles));
        }
        Ok(())
    }

    /// The role of each output, in output order.
    pub fn classes(&self) -> Result<Vec<ObjectClass>, String> {
        self.roles
            .iter()
            .map(|r| match ObjectClass::parse(r) {
                Some(c) if c.is_person() => Ok(c),
                _ => Err(format!("role {r:?} is not player, goalkeeper or referee")),
            })
            .collect()
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
    fn the_shipped_manifest_loads_and_a_wrong_role_is_refused() {
        let model = Path::new("models/roles_32x64.onnx");
        let m = RoleManifest::load_beside(model).unwrap();
        assert_eq!(m.classes().unwrap(), [ObjectClass::Player, ObjectClass::Goalkeeper, ObjectClass::Referee]);
        let text = std::fs::read_to_string(model.with_extension("toml")).unwrap();
        let m: RoleManifest = toml::from_str(&text.replace("\"referee\"]", "\"ball\"]")).unwrap();
        assert!(m.check().unwrap_err().contains("ball"));
        let m: RoleManifest = toml::from_str(&text.replace("\"referee\"]", "\"player\"]")).unwrap();
        assert!(m.check().unwrap_err().contains("different"));
    }
}
