//! The frame ring's memory: page-locked, device-mapped slots for the GPU path, heap otherwise.

use std::sync::Arc;

use crate::config::Config;
use crate::frame::yuv420_bytes;
use crate::infer::Detector;
#[cfg(feature = "cuda")]
use crate::infer::{Device, GpuInput};
use crate::ring::FrameRing;

/// The frame ring: page-locked, device-mapped slots when the GPU pre-processes and
/// `infer.gpu_input = "mapped"`, ordinary heap slots otherwise.
pub(super) fn build_ring(cfg: &Config, #[cfg_attr(not(feature = "cuda"), expect(unused_variables))] detector: &mut Detector) -> Arc<FrameRing> {
    #[cfg(feature = "cuda")]
    if detector.preprocess_device() == Device::Gpu && cfg.infer.gpu_input == GpuInput::Mapped {
        // Room for 4K frames: the slots cannot grow later.
        let bytes = yuv420_bytes(3840, 2160);
        let pinned: Result<Vec<_>, _> = crate::gpu::Gpu::try_new(0).and_then(|gpu| {
            (0..cfg.ring.slots).map(|_| crate::gpu::PinnedBuffer::new(&gpu, bytes).map(crate::ring::SlotBuffer::Pinned)).collect()
        });
        match pinned {
            Ok(buffers) => {
                tracing::info!(slots = cfg.ring.slots, mib_each = bytes >> 20, "Ring slots are page-locked and mapped into the GPU.");
                return FrameRing::with_buffers(buffers, cfg.ring.overflow);
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot allocate pinned ring slots; the GPU copies each frame instead.");
                detector.set_gpu_input(GpuInput::Copy);
            }
        }
    }
    FrameRing::new(cfg.ring.slots, yuv420_bytes(1920, 1080), cfg.ring.overflow)
}

