//! Pixels on the host for the features that read them (teams, camera following, pitch
//! keypoints, the annotated video and snapshots), also when decoded frames stay in GPU memory:
//! a device frame is copied, packed, into page-locked memory on a stream of its own while the
//! detector works on it where it lies (`gpu::HostCopy`).

use crate::frame::YuvFrame;

/// Host pixels of each frame.
pub(super) struct HostPixels {
    #[cfg(feature = "cuda")]
    copy: Option<crate::gpu::HostCopy>,
    #[cfg(feature = "cuda")]
    copying: bool,
}

/// Room for a 4K NV12 frame, packed.
#[cfg(feature = "cuda")]
const COPY_BYTES: usize = 3840 * 2160 * 3 / 2;

impl HostPixels {
    /// Host pixels for host frames only: frames kept on the GPU get none.
    pub(super) fn host_frames_only() -> Self {
        HostPixels {
            #[cfg(feature = "cuda")]
            copy: None,
            #[cfg(feature = "cuda")]
            copying: false,
        }
    }

    /// With `gpu_frames`, a page-locked copy of each device frame; `Err` says why not.
    #[cfg_attr(not(feature = "cuda"), expect(unused_variables))]
    pub(super) fn for_frames(gpu_frames: bool) -> Result<Self, String> {
        #[cfg(feature = "cuda")]
        if gpu_frames {
            let copy = crate::gpu::Gpu::try_new(0)
                .and_then(|g| crate::gpu::HostCopy::new(&g, COPY_BYTES))
                .map_err(|e| e.to_string())?;
            return Ok(HostPixels { copy: Some(copy), copying: false });
        }
        Ok(Self::host_frames_only())
    }

    /// Starts the copy of a frame that lives only in GPU memory (nothing to do for host frames).
    pub(super) fn start(&mut self, frame: &YuvFrame<'_>) {
        #[cfg(feature = "cuda")]
        {
            self.copying = false;
            if let (Some(copy), Some(ptr), false) = (self.copy.as_mut(), frame.device, frame.on_host()) {
                let (planes, n) = planes(frame);
                match copy.start(ptr, &planes[..n]) {
                    Ok(()) => self.copying = true,
                    Err(e) => tracing::warn!(error = %e, "Frame not copied to the host: its pixel features skip it."),
                }
            }
        }
        #[cfg(not(feature = "cuda"))]
        let _ = frame;
    }

    /// This frame's pixels on the host: the frame itself, or its copy (waited for); `None` for
    /// a device frame without a copy.
    pub(super) fn frame<'a>(&'a mut self, frame: &YuvFrame<'a>) -> Option<YuvFrame<'a>> {
        if frame.on_host() {
            return Some(*frame);
        }
        #[cfg(feature = "cuda")]
        if self.copying
            && let Some(copy) = self.copy.as_mut()
        {
            self.copying = false;
            match copy.wait() {
                Ok(bytes) => return YuvFrame::new(bytes, frame.width, frame.height, frame.format),
                Err(e) => tracing::warn!(error = %e, "Frame copy to the host failed: its pixel features skip it."),
            }
        }
        None
    }
}

/// The planes of a device frame, to be packed on the host, and how many there are (no
/// allocation: this runs every frame).
#[cfg(feature = "cuda")]
fn planes(frame: &YuvFrame<'_>) -> ([crate::gpu::PlaneCopy; 3], usize) {
    use crate::frame::PixelFormat;
    use crate::gpu::PlaneCopy;
    let (w, h, l) = (frame.width as usize, frame.height as usize, &frame.layout);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let luma = PlaneCopy { src_offset: 0, src_pitch: l.y_stride as usize, row_bytes: w, rows: h };
    match frame.format {
        PixelFormat::Nv12 => {
            let uv =
                PlaneCopy { src_offset: l.uv_offset, src_pitch: l.uv_stride as usize, row_bytes: cw * 2, rows: ch };
            ([luma, uv, uv], 2)
        }
        PixelFormat::I420 => {
            let u = PlaneCopy { src_offset: l.uv_offset, src_pitch: l.uv_stride as usize, row_bytes: cw, rows: ch };
            let v = PlaneCopy { src_offset: l.uv_offset + l.uv_stride as usize * ch, ..u };
            ([luma, u, v], 3)
        }
    }
}
