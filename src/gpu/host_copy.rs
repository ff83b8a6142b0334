//! A host copy of a frame kept in GPU memory: one asynchronous pitched copy per plane into
//! page-locked memory, tightly packed, on a stream of its own. The features that read pixels on
//! the CPU (teams, camera following, pitch keypoints, the annotated video) then read it while
//! the detector works on the frame where it lies. A 1080p NV12 frame is 3 MB: a fraction of a
//! millisecond over PCIe.

use std::sync::Arc;

use cudarc::driver::{CudaStream, PinnedHostSlice, sys};

use super::{Gpu, GpuError};

/// One plane to copy: where it starts in the source, the source's row pitch, and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneCopy {
    /// Bytes from the source address to the plane's first row.
    pub src_offset: usize,
    /// Bytes from one source row to the next.
    pub src_pitch: usize,
    /// Bytes of one packed row.
    pub row_bytes: usize,
    /// Rows.
    pub rows: usize,
}

/// Page-locked host memory that device frames are copied into.
#[derive(Debug)]
pub struct HostCopy {
    _slice: PinnedHostSlice<u8>,
    host: *mut u8,
    capacity: usize,
    len: usize,
    pending: bool,
    stream: Arc<CudaStream>,
    gpu: Gpu,
}

// SAFETY: the buffer is plain memory owned by one thread at a time (the inference thread).
unsafe impl Send for HostCopy {}

fn check(r: sys::CUresult, what: &str) -> Result<(), GpuError> {
    if r == sys::CUresult::CUDA_SUCCESS { Ok(()) } else { Err(GpuError::Driver(format!("{what}: {r:?}"))) }
}

impl HostCopy {
    /// Room for `capacity` bytes of packed planes.
    pub fn new(gpu: &Gpu, capacity: usize) -> Result<Self, GpuError> {
        // SAFETY: the memory is only read after a copy into it has completed (`wait`).
        let mut slice =
            unsafe { gpu.ctx.alloc_pinned_with_flags::<u8>(capacity.max(1), sys::CU_MEMHOSTALLOC_PORTABLE)? };
        let host = slice.as_mut_ptr()?;
        let stream = gpu.ctx.new_stream()?;
        Ok(HostCopy { _slice: slice, host, capacity, len: 0, pending: false, stream, gpu: gpu.clone() })
    }

    /// Starts copying `planes` of the frame at device address `src`, packed one after another;
    /// [`HostCopy::wait`] returns them. The source must stay untouched until then.
    pub fn start(&mut self, src: u64, planes: &[PlaneCopy]) -> Result<(), GpuError> {
        let total: usize = planes.iter().map(|p| p.row_bytes * p.rows).sum();
        if total > self.capacity {
            return Err(GpuError::Driver(format!("a {total}-byte frame does not fit {} bytes", self.capacity)));
        }
        self.gpu.ctx.bind_to_thread()?;
        let mut at = 0usize;
        for p in planes {
            let copy = sys::CUDA_MEMCPY2D_st {
                srcXInBytes: 0,
                srcY: 0,
                srcMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_DEVICE,
                srcHost: std::ptr::null(),
                srcDevice: src + p.src_offset as u64,
                srcArray: std::ptr::null_mut(),
                srcPitch: p.src_pitch,
                dstXInBytes: 0,
                dstY: 0,
                dstMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_HOST,
                // SAFETY (of the offset): `at + row_bytes * rows <= total <= capacity`.
                dstHost: unsafe { self.host.add(at) } as *mut std::ffi::c_void,
                dstDevice: 0,
                dstArray: std::ptr::null_mut(),
                dstPitch: p.row_bytes,
                WidthInBytes: p.row_bytes,
                Height: p.rows,
            };
            // SAFETY: source rows lie in a live device allocation (the caller's frame), the
            // destination inside our page-locked buffer (checked above).
            check(unsafe { sys::cuMemcpy2DAsync_v2(&copy, self.stream.cu_stream()) }, "cuMemcpy2DAsync")?;
            at += p.row_bytes * p.rows;
        }
        self.len = at;
        self.pending = true;
        Ok(())
    }

    /// Waits for the copy started last and returns the packed bytes.
    pub fn wait(&mut self) -> Result<&[u8], GpuError> {
        if self.pending {
            self.stream.synchronize()?;
            self.pending = false;
        }
        // SAFETY: `host` is valid for `capacity >= len` bytes, and no copy into it is in flight.
        Ok(unsafe { std::slice::from_raw_parts(self.host, self.len) })
    }
}
