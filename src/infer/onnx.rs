//! ONNX Runtime backend through the `ort` crate, with the runtime library loaded at start-up.
//!
//! The library is found through `ORT_DYLIB_PATH`, then beside the executable, then in the
//! project's `.venv` (where `scripts/setup.sh` installs the PyPI wheel), then the system paths.
//! A missing library is a clear error, never a panic.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::session::Session;
use ort::value::TensorRef;

use super::error::InferError;
use super::options::Provider;

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Candidate locations of `libonnxruntime.so`, in search order.
pub(super) fn library_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(p) = std::env::var("ORT_DYLIB_PATH")
        && !p.is_empty()
    {
        out.push(PathBuf::from(p));
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        out.push(dir.join("libonnxruntime.so"));
    }
    for root in [PathBuf::from(".venv"), PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv")] {
        if let Ok(entries) = std::fs::read_dir(root.join("lib")) {
            for e in entries.flatten() {
                let capi = e.path().join("site-packages/onnxruntime/capi");
                if let Ok(libs) = std::fs::read_dir(&capi) {
                    let mut found: Vec<PathBuf> = libs
                        .flatten()
                        .map(|l| l.path())
                        .filter(|p| {
                            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so"))
                        })
                        .collect();
                    found.sort();
                    out.extend(found);
                }
            }
        }
    }
    for dir in ["/usr/local/lib", "/usr/lib", "/usr/lib/aarch64-linux-gnu", "/usr/lib/x86_64-linux-gnu"] {
        out.push(Path::new(dir).join("libonnxruntime.so"));
    }
    out
}

/// The process-wide ONNX Runtime environment, created on first use.
pub(super) fn environment() -> Result<&'static ort::environment::Environment, InferError> {
    let env = ENVIRONMENT.get_or_init(|| {
        let candidates = library_candidates();
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(format!(
                "ONNX Runtime library not found (looked in {}); run scripts/setup.sh or set ORT_DYLIB_PATH",
                candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ));
        };
        let builder =
            ort::init_from(path).map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", path.display()))?;
        builder.with_name("footrackd").build().map_err(|e| format!("cannot create ONNX Runtime environment: {e}"))
    });
    env.as_ref().map_err(|e| InferError::Runtime(e.clone()))
}

/// One loaded model.
pub(super) struct OnnxModel {
    session: Session,
    input_shape: [usize; 4],
    provider: Provider,
    /// With a GPU provider and `infer.io_binding`: the input in a device tensor of the
    /// session's own, bound once, and the output bound to host memory.
    #[cfg(feature = "cuda")]
    binding: Option<super::onnx_binding::DeviceBinding>,
}

impl OnnxModel {
    /// Loads `path` with `threads` intra-op threads (0 = ONNX Runtime's default).
    pub(super) fn load(
        path: &Path,
        input_w: u32,
        input_h: u32,
        threads: usize,
        providers: &[Provider],
        io_binding: bool,
        cuda_graph: bool,
    ) -> Result<Self, InferError> {
        let env = environment()?;
        let model_err = |e: ort::Error| InferError::Model { path: path.to_path_buf(), message: e.to_string() };
        let mut builder = Session::builder(env).map_err(model_err)?;
        if threads > 0 {
            builder = builder.with_intra_threads(threads).map_err(|e| model_err(e.into()))?;
        }
        let cache = path.parent().unwrap_or(Path::new(".")).join("trt-cache");
        let (mut builder, provider) = super::providers::register(builder, providers, &cache, cuda_graph && io_binding);
        // On the CPU the model shares the cores with the decoder, the pipeline's threads and the
        // ball's second-look model: worker threads that spin between operators steal those
        // cores. They sleep instead (2 cores, 1280x720 clip, football model: end to end /
        // detector alone 0.79-0.81 with spinning, 0.88-0.91 without). Decided by the provider
        // that loaded, not the list asked for (["cuda", "cpu"] on a CPU-only machine is the CPU).
        if !provider.is_gpu() {
            builder = builder.with_intra_op_spinning(false).map_err(|e| model_err(e.into()))?;
        }
        let session = builder.commit_from_file(path).map_err(model_err)?;
        tracing::info!(model = %path.display(), provider = provider.as_str(), "Model loaded.");
        if session.inputs().len() != 1 || session.outputs().is_empty() {
            return Err(InferError::Model {
                path: path.to_path_buf(),
                message: format!(
                    "expected 1 input and at least 1 output, found {} and {}",
                    session.inputs().len(),
                    session.outputs().len()
                ),
            });
        }
        #[cfg(feature = "cuda")]
        let binding = if io_binding && provider.is_gpu() {
            let b = super::onnx_binding::DeviceBinding::new(&session).map_err(model_err)?;
            tracing::info!("IoBinding: the input in a device tensor of the session's own, the output in host memory.");
            Some(b)
        } else {
            None
        };
        Ok(OnnxModel {
            session,
            input_shape: [1, 3, input_h as usize, input_w as usize],
            provider,
            #[cfg(feature = "cuda")]
            binding,
        })
    }

    /// The execution provider the session registered.
    pub(super) fn provider(&self) -> Provider {
        self.provider
    }

    /// Runs the model on a CHW input already in GPU memory at `device_ptr` (no host round trip
    /// for the input; the small output comes back to the host), and hands the first output to `read`.
    #[cfg(feature = "cuda")]
    pub(super) fn run_device<R>(
        &mut self,
        device_ptr: u64,
        batch: usize,
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        if let Some(binding) = self.binding.as_mut() {
            let chw = [self.input_shape[1], self.input_shape[2], self.input_shape[3]];
            return binding.run(&mut self.session, device_ptr, batch, chw, read);
        }
        let shape = [batch, self.input_shape[1], self.input_shape[2], self.input_shape[3]];
        self.run_device_shaped(device_ptr, shape, read)
    }

    /// As [`OnnxModel::run_device`] for one NCHW input of `shape` (models whose input size follows
    /// the frame's), without IoBinding.
    #[cfg(feature = "cuda")]
    pub(super) fn run_device_shaped<R>(
        &mut self,
        device_ptr: u64,
        shape: [usize; 4],
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
        use ort::value::TensorRefMut;
        let err = |e: ort::Error| InferError::Run(e.to_string());
        let cuda =
            MemoryInfo::new(AllocationDevice::CUDA, 0, AllocatorType::Device, MemoryType::Default).map_err(err)?;
        // SAFETY: `device_ptr` addresses `shape` floats on device 0, alive until the run returns.
        let tensor =
            unsafe { TensorRefMut::<f32>::from_raw(cuda, device_ptr as usize as *mut std::ffi::c_void, shape.into()) }
                .map_err(err)?;
        // A plain run with a device-resident input (ONNX Runtime reads it where it is).
        let outputs = self.session.run(ort::inputs![tensor]).map_err(err)?;
        let (shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
        Ok(read(shape, values))
    }

    /// Runs the model on `batch` CHW inputs back to back and hands the first output (shape,
    /// values) to `read`.
    pub(super) fn run<R>(
        &mut self,
        input: &[f32],
        batch: usize,
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        let shape = [batch, self.input_shape[1], self.input_shape[2], self.input_shape[3]];
        self.run_shaped(input, shape, read)
    }

    /// Runs the model on one NCHW input of `shape` (for models whose input size follows the
    /// frame's) and hands the first output (shape, values) to `read`.
    pub(super) fn run_shaped<R>(
        &mut self,
        input: &[f32],
        shape: [usize; 4],
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        let tensor = TensorRef::from_array_view((shape, input)).map_err(|e| InferError::Run(e.to_string()))?;
        let outputs = self.session.run(ort::inputs![tensor]).map_err(|e| InferError::Run(e.to_string()))?;
        let (shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(|e| InferError::Run(e.to_string()))?;
        Ok(read(shape, values))
    }
}
