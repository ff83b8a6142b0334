//! CUDA plumbing (cargo feature `cuda`): a context loaded at run time (cudarc, `dynamic-loading`)
//! and page-locked device-mapped buffers. It imports nothing else of footrackd's.
//!
//! A binary built with the feature still runs without CUDA: [`Gpu::try_new`] checks for the
//! driver library first (cudarc panics when it is missing) and callers fall back to the CPU.

mod device;
mod host_copy;
mod pinned;

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaStream};

pub use device::{DeviceBuffer, copy_device_to_device, copy_device_to_host};
pub use host_copy::{HostCopy, PlaneCopy};
pub use pinned::PinnedBuffer;

/// Why the GPU path is unavailable.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No CUDA driver library on this machine.
    #[error("no CUDA driver (libcuda) on this machine")]
    NoDriver,
    /// No GPU.
    #[error("no CUDA device")]
    NoDevice,
    /// A driver call failed.
    #[error("CUDA: {0}")]
    Driver(String),
    /// NVRTC could not compile the kernel.
    #[error("NVRTC could not compile the pre-processing kernel: {0}")]
    Compile(String),
}

impl From<cudarc::driver::DriverError> for GpuError {
    fn from(e: cudarc::driver::DriverError) -> Self {
        GpuError::Driver(e.to_string())
    }
}

/// One GPU: its primary context (shared with ONNX Runtime's CUDA provider) and a stream.
#[derive(Clone, Debug)]
pub struct Gpu {
    /// The context.
    pub ctx: Arc<CudaContext>,
    /// The stream pre-processing runs on.
    pub stream: Arc<CudaStream>,
}

impl Gpu {
    /// Opens device `ordinal`, or says why not (never panics without CUDA).
    pub fn try_new(ordinal: usize) -> Result<Self, GpuError> {
        // SAFETY: only probes whether the shared library can be loaded.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(GpuError::NoDriver);
        }
        if CudaContext::device_count().map_err(GpuError::from)? <= ordinal as i32 {
            return Err(GpuError::NoDevice);
        }
        let ctx = CudaContext::new(ordinal)?;
        let stream = ctx.new_stream()?;
        Ok(Gpu { ctx, stream })
    }
}

/// GPU memory in use on device 0, MiB, if a GPU is present.
pub fn memory_used_mb() -> Option<f64> {
    let gpu = Gpu::try_new(0).ok()?;
    let (free, total) = gpu.ctx.mem_get_info().ok()?;
    Some((total - free) as f64 / (1024.0 * 1024.0))
}
