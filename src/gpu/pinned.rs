//! Page-locked, device-mapped host memory: the CPU writes a frame, the GPU reads it through its
//! own address for the same pages (true zero-copy on Jetson's shared memory; a mapped read over
//! PCIe on a GPU server).

use cudarc::driver::{PinnedHostSlice, sys};

use super::{Gpu, GpuError};

/// A fixed-capacity pinned buffer with a length, as a ring slot's pixels.
#[derive(Debug)]
pub struct PinnedBuffer {
    // Keeps the allocation (and its context) alive; never read through after construction.
    _slice: PinnedHostSlice<u8>,
    host: *mut u8,
    device: sys::CUdeviceptr,
    capacity: usize,
    len: usize,
}

// SAFETY: the buffer is plain memory; access is governed by the ring's single-owner protocol.
unsafe impl Send for PinnedBuffer {}
unsafe impl Sync for PinnedBuffer {}

impl PinnedBuffer {
    /// Allocates `capacity` bytes, page-locked and mapped into the GPU's address space.
    pub fn new(gpu: &Gpu, capacity: usize) -> Result<Self, GpuError> {
        // SAFETY: the memory is zeroed below before anyone reads it.
        let mut slice = unsafe {
            gpu.ctx.alloc_pinned_with_flags::<u8>(
                capacity.max(1),
                sys::CU_MEMHOSTALLOC_DEVICEMAP | sys::CU_MEMHOSTALLOC_PORTABLE,
            )?
        };
        let host = slice.as_mut_ptr()?;
        let mut device: sys::CUdeviceptr = 0;
        // SAFETY: `host` is a live allocation made with DEVICEMAP in this context.
        let r = unsafe { sys::cuMemHostGetDevicePointer_v2(&mut device, host as *mut _, 0) };
        if r != sys::CUresult::CUDA_SUCCESS {
            return Err(GpuError::Driver(format!("cuMemHostGetDevicePointer: {r:?}")));
        }
        // SAFETY: `host` points to `capacity` writable bytes.
        unsafe { std::ptr::write_bytes(host, 0, capacity) };
        Ok(PinnedBuffer { _slice: slice, host, device, capacity, len: 0 })
    }

    /// Sets the length; returns false (and changes nothing) beyond the capacity.
    pub fn set_len(&mut self, len: usize) -> bool {
        if len > self.capacity {
            return false;
        }
        self.len = len;
        true
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `host` is valid for `capacity >= len` bytes for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.host, self.len) }
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.host, self.len) }
    }

    /// The GPU's address of the same bytes.
    pub fn device_ptr(&self) -> u64 {
        self.device
    }
}
