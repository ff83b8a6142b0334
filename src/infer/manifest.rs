//! The model manifest: a TOML file beside each model saying how to feed it and read its output.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::frame::ObjectClass;

/// How to decode the model's output tensor.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// YOLOX: `[1, N, 5 + C]`, rows `(dx, dy, log w, log h, obj, cls...)` on stride grids.
    Yolox,
    /// Ultralytics YOLOv8/YOLO11: `[1, 4 + C, N]`, columns `(cx, cy, w, h, cls...)` in input pixels.
    Yolov8,
}

/// Channel order the model expects.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ColorOrder {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red (OpenCV-trained models such as YOLOX).
    Bgr,
}

/// Tensor layout of the model input.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Batch, channel, height, width.
    Nchw,
}

/// One model class that footrackd uses.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClassEntry {
    /// Index in the model's output.
    pub index: usize,
    /// The model's own name for it (for humans).
    pub label: String,
    /// The footrackd class it becomes: `player`, `goalkeeper`, `referee` or `ball`.
    pub class: String,
}

/// A parsed and checked model manifest.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    /// Model name.
    pub name: String,
    /// Licence of the weights.
    pub license: String,
    /// Expected sha256 of the model file (hex); checked on load when present.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Whether the model's batch dimension is symbolic: all regions of a frame then run in one
    /// call. `false` (the default): a fixed batch of 1, one call per region.
    #[serde(default)]
    pub dynamic_batch: bool,
    /// Largest batch the model takes (a TensorRT engine's optimisation profile); none = any.
    #[serde(default)]
    pub max_batch: Option<usize>,
    /// Output decoder.
    pub format: OutputFormat,
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
    /// Grid strides (YOLOX only).
    #[serde(default)]
    pub strides: Vec<u32>,
    /// Number of classes the model outputs.
    pub num_classes: usize,
    /// The classes footrackd keeps.
    pub classes: Vec<ClassEntry>,
    /// For TensorRT engines: precision the engine was built with (`fp16`, `int8`).
    #[serde(default)]
    pub precision: Option<String>,
    /// For TensorRT engines: the TensorRT version that built it (an engine from another version is refused).
    #[serde(default)]
    pub tensorrt_version: Option<String>,
    /// How the weights were made: training data and its licence, seed, validation figures.
    /// For people and audits; footrackd does not act on it.
    #[serde(default)]
    pub training: Option<toml::Table>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The model file is missing.
    #[error("model {0} does not exist")]
    ModelMissing(PathBuf),
    /// The manifest beside it is missing or unreadable.
    #[error("cannot read model manifest {path}: {source}")]
    Read {
        /// Manifest path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest is not valid TOML of the expected shape.
    #[error("model manifest {path} is malformed: {message}")]
    Parse {
        /// Manifest path.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The manifest parsed but its values do not fit together.
    #[error("model manifest {path}: {message}")]
    Invalid {
        /// Manifest path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model file's hash differs from the manifest.
    #[error("model {path} has sha256 {actual}, but its manifest says {expected}: wrong or corrupted file")]
    HashMismatch {
        /// Model path.
        path: PathBuf,
        /// From the manifest.
        expected: String,
        /// Of the file.
        actual: String,
    },
}

impl ModelManifest {
    /// The manifest path for a model: the model path with its extension replaced by `.toml`.
    pub fn path_for(model: &Path) -> PathBuf {
        model.with_extension("toml")
    }

    /// Loads and checks the manifest beside `model`, and the model's hash when the manifest gives one.
    pub fn load_beside(model: &Path) -> Result<Self, ManifestError> {
        if !model.is_file() {
            return Err(ManifestError::ModelMissing(model.to_path_buf()));
        }
        let path = Self::path_for(model);
        let text =
            std::fs::read_to_string(&path).map_err(|source| ManifestError::Read { path: path.clone(), source })?;
        let manifest = Self::parse(&text).map_err(|e| match e {
            ManifestError::Parse { message, .. } => ManifestError::Parse { path: path.clone(), message },
            ManifestError::Invalid { message, .. } => ManifestError::Invalid { path: path.clone(), message },
            other => other,
        })?;
        if let Some(expected) = &manifest.sha256 {
            let bytes =
                std::fs::read(model).map_err(|source| ManifestError::Read { path: model.to_path_buf(), source })?;
            let actual = sha256_hex(&bytes);
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(ManifestError::HashMismatch {
                    path: model.to_path_buf(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(manifest)
    }

    /// Parses and checks manifest text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let m: ModelManifest =
            toml::from_str(text).map_err(|e| ManifestError::Parse { path: PathBuf::new(), message: e.to_string() })?;
        let invalid = |message: String| Err(ManifestError::Invalid { path: PathBuf::new(), message });
        if !(32..=4096).contains(&m.input_width) || !(32..=4096).contains(&m.input_height) {
            return invalid(format!("input {}x{} is outside 32..=4096", m.input_width, m.input_height));
        }
        if m.format == OutputFormat::Yolox && (m.strides.is_empty() || m.strides.contains(&0)) {
            return invalid("yolox models need non-zero strides".into());
        }
        if let Err(e) = check_std(m.std) {
            return invalid(e);
        }
        if m.max_batch == Some(0) {
            return invalid("max_batch must be at least 1".into());
        }
        if m.classes.is_empty() {
            return invalid("classes is empty: footrackd would find nothing".into());
        }
        for c in &m.classes {
            if c.index >= m.num_classes {
                return invalid(format!("class index {} is not below num_classes {}", c.index, m.num_classes));
            }
            if ObjectClass::parse(&c.class).is_none() {
                return invalid(format!("class {:?} is not player, goalkeeper, referee or ball", c.class));
            }
        }
        Ok(m)
    }

    /// Per input channel (model order): multiplier and offset so that value = pixel * mul + add.
    pub fn normalisation(&self) -> ([f32; 3], [f32; 3]) {
        normalisation(self.scale, self.mean, self.std)
    }

    /// A table from model class index to footrackd class (`None` = ignored).
    pub fn class_table(&self) -> Vec<Option<ObjectClass>> {
        let mut table = vec![None; self.num_classes];
        for c in &self.classes {
            // Indices and names were checked in `parse`.
            table[c.index] = ObjectClass::parse(&c.class);
        }
        table
    }
}

/// Checks a manifest's per-channel std, which [`normalisation`] divides by.
pub(crate) fn check_std(std: [f32; 3]) -> Result<(), String> {
    if std.iter().any(|&s| s == 0.0 || !s.is_finite()) {
        return Err("std must be non-zero".into());
    }
    Ok(())
}

/// Per input channel: multiplier and offset so that value = pixel * mul + add, from a manifest's
/// `scale`, `mean` and `std` (every kind of model states its input so).
pub(crate) fn normalisation(scale: f32, mean: [f32; 3], std: [f32; 3]) -> ([f32; 3], [f32; 3]) {
    ([0, 1, 2].map(|c| scale / std[c]), [0, 1, 2].map(|c| -mean[c] / std[c]))
}

/// Reads the manifest of another kind of model beside `model` (same path, `.toml`) as a `T`,
/// checks it with `check`, and the model file against the hash `sha256` gives, if any.
pub(crate) fn load_beside<T: serde::de::DeserializeOwned>(
    model: &Path,
    check: impl FnOnce(&T) -> Result<(), String>,
    sha256: impl FnOnce(&T) -> Option<&str>,
) -> Result<T, ManifestError> {
    if !model.is_file() {
        return Err(ManifestError::ModelMissing(model.to_path_buf()));
    }
    let path = model.with_extension("toml");
    let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read { path: path.clone(), source })?;
    let m: T =
        toml::from_str(&text).map_err(|e| ManifestError::Parse { path: path.clone(), message: e.to_string() })?;
    if let Err(message) = check(&m) {
        return Err(ManifestError::Invalid { path, message });
    }
    if let Some(expected) = sha256(&m) {
        let bytes = std::fs::read(model).map_err(|source| ManifestError::Read { path: model.to_path_buf(), source })?;
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(ManifestError::HashMismatch { path: model.to_path_buf(), expected: expected.into(), actual });
        }
    }
    Ok(m)
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_manifest_loads_and_matches_the_model() {
        let m = ModelManifest::load_beside(Path::new("models/yolox_nano.onnx")).unwrap();
        assert_eq!(m.format, OutputFormat::Yolox);
        let table = m.class_table();
        assert_eq!(table, vec![Some(ObjectClass::Player), Some(ObjectClass::Ball)]);
        assert!(m.dynamic_batch);
    }

    #[test]
    fn class_index_beyond_num_classes_is_refused() {
        let text = std::fs::read_to_string("models/yolox_nano.toml").unwrap().replace("index = 1,", "index = 99,");
        let e = ModelManifest::parse(&text).unwrap_err();
        assert!(e.to_string().contains("99"), "{e}");
    }
}
