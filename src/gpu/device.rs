//! Device memory in our CUDA context: a ring slot's pixels for frames the decoder keeps in GPU
//! memory. Frames arrive by a device-to-device copy from the decoder's own context (or, when the
//! decoder gave system memory after all, one upload). A slot is sized by the first frame that
//! needs it and grows only when a larger frame comes: room for 4K in every slot of every camera
//! would hold 13 MiB a slot for 3 MiB of 1080p.

use cudarc::driver::{CudaSlice, DevicePtr, sys};

use super::{Gpu, GpuError};

/// A device buffer with a length.
#[derive(Debug)]
pub struct DeviceBuffer {
    slice: CudaSlice<u8>,
    gpu: Gpu,
    ptr: u64,
}

fn check(r: sys::CUresult, what: &str) -> Result<(), GpuError> {
    if r == sys::CUresult::CUDA_SUCCESS { Ok(()) } else { Err(GpuError::Driver(format!("{what}: {r:?}"))) }
}

/// `capacity` bytes (at least one) on the GPU, and their address once the allocation is done.
fn allocate(gpu: &Gpu, capacity: usize) -> Result<(CudaSlice<u8>, u64), GpuError> {
    let slice = gpu.stream.alloc_zeros::<u8>(capacity.max(1))?;
    let (ptr, sync) = slice.device_ptr(&gpu.stream);
    drop(sync);
    gpu.stream.synchronize()?;
    Ok((slice, ptr))
}

impl DeviceBuffer {
    /// Allocates `capacity` bytes on the GPU.
    pub fn new(gpu: &Gpu, capacity: usize) -> Result<Self, GpuError> {
        let (slice, ptr) = allocate(gpu, capacity)?;
        Ok(DeviceBuffer { slice, gpu: gpu.clone(), ptr })
    }

    /// The GPU address of the bytes.
    pub fn device_ptr(&self) -> u64 {
        self.ptr
    }

    /// Makes room for `bytes` (rounded up to whole MiB), reallocating only when they do not fit:
    /// on the first frame and on a larger frame size, never per frame. The contents are lost.
    pub fn reserve(&mut self, bytes: usize) -> Result<(), GpuError> {
        if bytes <= self.slice.len() {
            return Ok(());
        }
        // The old allocation goes first: both at once would need the room twice.
        (self.slice, self.ptr) = allocate(&self.gpu, 1)?;
        (self.slice, self.ptr) = allocate(&self.gpu, bytes.next_multiple_of(1 << 20))?;
        Ok(())
    }

    /// Copies `bytes` from device memory at `src`, which may belong to another CUDA context on
    /// the same GPU (a decoder's), to `offset`. Returns when the copy is complete.
    pub fn copy_from_device(&mut self, offset: usize, src: u64, bytes: usize) -> Result<(), GpuError> {
        if offset + bytes > self.slice.len() {
            return Err(GpuError::Driver(format!(
                "{} bytes at {offset} do not fit a {}-byte slot (reserve first)",
                bytes,
                self.slice.len()
            )));
        }
        self.gpu.ctx.bind_to_thread()?;
        let mut src_ctx: sys::CUcontext = std::ptr::null_mut();
        // SAFETY: queries an attribute of a device pointer into a CUcontext-sized out value.
        let r = unsafe {
            sys::cuPointerGetAttribute(
                &mut src_ctx as *mut sys::CUcontext as *mut std::ffi::c_void,
                sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_CONTEXT,
                src,
            )
        };
        check(r, "cuPointerGetAttribute(CONTEXT)")?;
        let dst = self.ptr + offset as u64;
        // SAFETY: both ranges lie inside live device allocations (checked above for ours; the
        // caller maps the source for reading), in the contexts named.
        let r = unsafe { sys::cuMemcpyPeer(dst, self.gpu.ctx.cu_ctx(), src, src_ctx, bytes) };
        check(r, "cuMemcpyPeer")
    }

    /// Copies host bytes to `offset`. Returns when the copy is complete.
    pub fn copy_from_host(&mut self, offset: usize, host: &[u8]) -> Result<(), GpuError> {
        if offset + host.len() > self.slice.len() {
            return Err(GpuError::Driver(format!(
                "{} bytes at {offset} do not fit a {}-byte slot (reserve first)",
                host.len(),
                self.slice.len()
            )));
        }
        let mut view = self.slice.slice_mut(offset..offset + host.len());
        self.gpu.stream.memcpy_htod(host, &mut view)?;
        self.gpu.stream.synchronize()?;
        Ok(())
    }
}

/// Copies `bytes` from device address `src` to `dst`, synchronously (unified addressing: the two
/// may belong to different contexts of this process, e.g. ours and ONNX Runtime's).
pub fn copy_device_to_device(dst: u64, src: u64, bytes: usize) -> Result<(), GpuError> {
    // SAFETY: the caller owns both ranges for `bytes` bytes; the driver checks the addresses.
    check(unsafe { sys::cuMemcpy(dst, src, bytes) }, "cuMemcpy")
}

/// Copies `dst.len()` floats from device address `src` to `dst`, synchronously.
pub fn copy_device_to_host(dst: &mut [f32], src: u64) -> Result<(), GpuError> {
    // SAFETY: `dst` is valid for its length; the caller owns `src` for as many bytes.
    check(unsafe { sys::cuMemcpyDtoH_v2(dst.as_mut_ptr().cast(), src, std::mem::size_of_val(dst)) }, "cuMemcpyDtoH")
}
