//! Execution providers: which hardware ONNX Runtime runs the model on.
//!
//! Providers are tried in the configured order (`infer.providers`); the first that registers
//! wins, and ONNX Runtime runs on the CPU whatever no provider takes. A provider that this build
//! lacks (no `cuda` feature) or that cannot load on this machine (no CUDA, no TensorRT libraries)
//! is skipped with a clear log line: TensorRT -> CUDA -> CPU.

use ort::session::builder::SessionBuilder;

use super::options::Provider;

/// Registers the configured providers on `builder`; returns it and the name of the provider in use.
pub(super) fn register(
    builder: SessionBuilder,
    providers: &[Provider],
    // Only the TensorRT provider keeps engines on disk.
    #[cfg_attr(not(feature = "cuda"), expect(unused_variables))] engine_cache_dir: &std::path::Path,
    // CUDA graphs (with IoBinding only).
    #[cfg_attr(not(feature = "cuda"), expect(unused_variables))] cuda_graph: bool,
) -> (SessionBuilder, Provider) {
    #[cfg_attr(not(feature = "cuda"), expect(unused_mut))]
    let mut builder = builder;
    for &p in providers {
        match p {
            Provider::Cpu => return (builder, Provider::Cpu),
            #[cfg(feature = "cuda")]
            Provider::Cuda => {
                use ort::ep::ExecutionProvider;
                // Heuristic algorithm choice: exhaustive cuDNN search makes the first frames very slow.
                // The arena grows by what a call asks, not by powers of two: every session keeps
                // one shape (held batch shapes), so doubling only strands memory, once per
                // session and camera in a daemon of several cameras.
                let ep = ort::ep::CUDA::default()
                    .with_device_id(0)
                    .with_conv_algorithm_search(ort::ep::cuda::ConvAlgorithmSearch::Heuristic)
                    .with_arena_extend_strategy(ort::ep::ArenaExtendStrategy::SameAsRequested)
                    .with_cuda_graph(cuda_graph);
                match ep.register(&mut builder) {
                    Ok(()) => return (builder, Provider::Cuda),
                    Err(e) => {
                        tracing::warn!(error = %e, "CUDA execution provider cannot load; trying the next provider.")
                    }
                }
            }
            #[cfg(feature = "cuda")]
            Provider::Tensorrt => {
                use ort::ep::ExecutionProvider;
                let _ = std::fs::create_dir_all(engine_cache_dir);
                let ep = ort::ep::TensorRT::default()
                    .with_device_id(0)
                    .with_fp16(true)
                    .with_engine_cache(true)
                    .with_engine_cache_path(engine_cache_dir.display().to_string())
                    .with_timing_cache(true);
                match ep.register(&mut builder) {
                    Ok(()) => return (builder, Provider::Tensorrt),
                    Err(e) => {
                        tracing::warn!(error = %e, "TensorRT execution provider cannot load; trying the next provider.")
                    }
                }
            }
            other => {
                // The default list names CUDA first: on a CPU build that is the normal case.
                tracing::info!(
                    provider = other.as_str(),
                    "Execution provider not built into this binary (build with --features cuda for it); trying the next."
                );
            }
        }
    }
    tracing::warn!("No configured execution provider could load; running on the CPU.");
    (builder, Provider::Cpu)
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
