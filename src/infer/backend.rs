//! The model runtime behind the detector: ONNX Runtime, or (feature `tensorrt`) a native
//! TensorRT engine.

use std::path::Path;

use super::error::InferError;
use super::manifest::ModelManifest;
use super::onnx::OnnxModel;
use super::options::Provider;

/// A loaded model.
pub(super) enum Backend {
    /// ONNX Runtime with the configured execution providers.
    Onnx(OnnxModel),
    /// A prebuilt TensorRT engine.
    #[cfg(feature = "tensorrt")]
    Trt(super::trt::TrtModel),
}

impl Backend {
    /// Loads `.onnx` files with ONNX Runtime and `.engine`/`.plan` files with TensorRT.
    pub(super) fn load(
        path: &Path,
        manifest: &ModelManifest,
        threads: usize,
        providers: &[Provider],
        io_binding: bool,
        cuda_graph: bool,
    ) -> Result<Self, InferError> {
        if matches!(path.extension().and_then(|e| e.to_str()), Some("engine" | "plan")) {
            #[cfg(feature = "tensorrt")]
            {
                let gpu = crate::gpu::Gpu::try_new(0)
                    .map_err(|e| InferError::Model { path: path.to_path_buf(), message: e.to_string() })?;
                tracing::info!(version = %super::trt::runtime_version(), "Loading a TensorRT engine.");
                return super::trt::TrtModel::load(path, manifest, &gpu).map(Backend::Trt);
            }
            #[cfg(not(feature = "tensorrt"))]
            return Err(InferError::Model {
                path: path.to_path_buf(),
                message: "TensorRT engines need a build with the `tensorrt` feature".into(),
            });
        }
        OnnxModel::load(path, manifest.input_width, manifest.input_height, threads, providers, io_binding, cuda_graph)
            .map(Backend::Onnx)
    }

    /// The provider in use.
    pub(super) fn provider(&self) -> Provider {
        match self {
            Backend::Onnx(m) => m.provider(),
            #[cfg(feature = "tensorrt")]
            Backend::Trt(_) => Provider::TensorrtNative,
        }
    }

    /// Runs on `batch` host CHW inputs back to back and hands the first output to `read`.
    pub(super) fn run<R>(
        &mut self,
        input: &[f32],
        batch: usize,
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        match self {
            Backend::Onnx(m) => m.run(input, batch, read),
            #[cfg(feature = "tensorrt")]
            Backend::Trt(m) => m.run(input, batch, read),
        }
    }

    /// Runs on `batch` CHW inputs back to back in GPU memory at `device_ptr`.
    #[cfg_attr(not(feature = "cuda"), expect(unused_variables))]
    pub(super) fn run_device<R>(
        &mut self,
        device_ptr: u64,
        batch: usize,
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        match self {
            #[cfg(feature = "cuda")]
            Backend::Onnx(m) => m.run_device(device_ptr, batch, read),
            #[cfg(not(feature = "cuda"))]
            Backend::Onnx(_) => Err(InferError::Run("GPU input in a build without the `cuda` feature".into())),
            #[cfg(feature = "tensorrt")]
            Backend::Trt(m) => m.run_device(device_ptr, batch, read),
        }
    }
}
