//! The frame ring's memory: GPU buffers for frames the decoder keeps on the GPU, page-locked
//! device-mapped slots for the GPU path with host frames, heap otherwise.

use std::sync::Arc;

use crate::config::Config;
use crate::frame::yuv420_bytes;
use crate::infer::Detector;
#[cfg(feature = "cuda")]
use crate::infer::{Device, GpuInput};
use crate::ring::{FrameRing, OverflowPolicy};

/// A GPU slot's first size: none; the first frame sizes it (`DeviceBuffer::reserve`).
#[cfg(feature = "cuda")]
const GPU_SLOT_BYTES: usize = 0;

/// Whether decoded frames should stay in GPU memory: asked for (`source.gpu_frames`), the
/// detector letterboxes on the GPU, and the decoder is NVDEC.
pub fn gpu_frames_wanted(cfg: &Config, detector: &Detector) -> bool {
    gpu_frames_wanted_for(cfg, preprocesses_on_gpu(detector))
}

/// Whether `detector` letterboxes on the GPU.
pub(super) fn preprocesses_on_gpu(detector: &Detector) -> bool {
    #[cfg(feature = "cuda")]
    {
        detector.preprocess_device() == Device::Gpu
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = detector;
        false
    }
}

/// [`gpu_frames_wanted`] for a detector that letterboxes on the GPU (`gpu_pre`) or not.
#[cfg_attr(not(feature = "cuda"), expect(unused_variables))]
pub(super) fn gpu_frames_wanted_for(cfg: &Config, gpu_pre: bool) -> bool {
    #[cfg(feature = "cuda")]
    {
        cfg.source.gpu_frames
            && gpu_pre
            && crate::source::choose_decoder(cfg.source.decoder) == crate::source::DecoderFamily::Nvdec
    }
    #[cfg(not(feature = "cuda"))]
    false
}

/// A ring of GPU slots for frames kept in GPU memory; `None` (logged) when they cannot be had.
#[cfg_attr(not(feature = "cuda"), expect(unused_variables))]
pub fn gpu_frame_ring(slots: usize, policy: OverflowPolicy) -> Option<Arc<FrameRing>> {
    #[cfg(feature = "cuda")]
    {
        let buffers: Result<Vec<_>, _> = crate::gpu::Gpu::try_new(0).and_then(|gpu| {
            (0..slots)
                .map(|_| crate::gpu::DeviceBuffer::new(&gpu, GPU_SLOT_BYTES).map(crate::ring::SlotBuffer::Device))
                .collect()
        });
        match buffers {
            Ok(b) => {
                tracing::info!(
                    slots,
                    "Ring slots are GPU memory, sized by the first frame: decoded frames never leave the GPU."
                );
                Some(FrameRing::with_buffers(b, policy))
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot allocate GPU ring slots; decoded frames go through system memory.");
                None
            }
        }
    }
    #[cfg(not(feature = "cuda"))]
    None
}

/// The frame ring for a camera: GPU slots when `gpu_frames`, page-locked device-mapped slots when
/// the GPU pre-processes (`gpu_pre`) with `infer.gpu_input = "mapped"`, ordinary heap slots
/// otherwise (the GPU then uploads each frame). Returns the ring and whether its slots are GPU memory.
#[cfg_attr(not(feature = "cuda"), expect(unused_variables))]
pub(super) fn build_ring(cfg: &Config, gpu_pre: bool, gpu_frames: bool) -> (Arc<FrameRing>, bool) {
    if gpu_frames && let Some(ring) = gpu_frame_ring(cfg.ring.slots, cfg.ring.overflow) {
        return (ring, true);
    }
    #[cfg(feature = "cuda")]
    if gpu_pre && cfg.infer.gpu_input == GpuInput::Mapped {
        // Room for 4K frames: the slots cannot grow later.
        let bytes = yuv420_bytes(3840, 2160);
        let pinned: Result<Vec<_>, _> = crate::gpu::Gpu::try_new(0).and_then(|gpu| {
            (0..cfg.ring.slots)
                .map(|_| crate::gpu::PinnedBuffer::new(&gpu, bytes).map(crate::ring::SlotBuffer::Pinned))
                .collect()
        });
        match pinned {
            Ok(buffers) => {
                tracing::info!(
                    slots = cfg.ring.slots,
                    mib_each = bytes >> 20,
                    "Ring slots are page-locked and mapped into the GPU."
                );
                return (FrameRing::with_buffers(buffers, cfg.ring.overflow), false);
            }
            // Frames without a device mapping are uploaded: nothing else changes.
            Err(e) => {
                tracing::warn!(error = %e, "Cannot allocate pinned ring slots; the GPU copies each frame instead.")
            }
        }
    }
    (FrameRing::new(cfg.ring.slots, yuv420_bytes(1920, 1080), cfg.ring.overflow), false)
}
