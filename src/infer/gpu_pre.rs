//! Letterboxing on the GPU: one kernel from a YUV 4:2:0 frame the GPU can read (device memory
//! or mapped pinned memory) to the model's normalised CHW input, one output slot per region
//! (tile). Launched with the driver API directly, so a launch allocates nothing.

use std::ffi::c_void;

use cudarc::driver::{CudaFunction, CudaSlice, DevicePtr, result};

use super::manifest::{ColorOrder, ModelManifest};
use super::options::GpuInput;
use super::pre::{Letterbox, Region, YuvFrame};
use crate::frame::{PixelFormat, PlaneLayout};
use crate::gpu::{Gpu, GpuError};

#[path = "kernel.cu.rs"]
mod kernel_src;

/// Where the frame's bytes are, for the GPU.
#[derive(Clone, Copy, Debug)]
pub(super) enum GpuFrame {
    /// A device address (mapped pinned memory, or an upload).
    Device(u64),
}

/// A model input as the kernel fills it.
#[derive(Clone, Copy, Debug)]
pub(super) struct InputSpec {
    /// Width and height in pixels.
    pub size: (u32, u32),
    /// Per channel multiplier and offset (pixel 0..255 to model value).
    pub normalisation: ([f32; 3], [f32; 3]),
    /// The padding's pixel value.
    pub pad_value: u8,
    /// Channel order.
    pub color_order: ColorOrder,
}

/// The pre-processor.
pub(super) struct GpuPreprocessor {
    gpu: Gpu,
    func: CudaFunction,
    out: CudaSlice<f32>,
    frame: CudaSlice<u8>,
    in_w: u32,
    in_h: u32,
    mul: [f32; 3],
    add: [f32; 3],
    pad: f32,
    bgr: i32,
    regions: usize,
}

impl GpuPreprocessor {
    /// Compiles the kernel and allocates output for `max_regions` inputs and frames up to `max_frame_bytes`.
    pub(super) fn new(
        gpu: &Gpu,
        manifest: &ModelManifest,
        max_regions: usize,
        max_frame_bytes: usize,
    ) -> Result<Self, GpuError> {
        let input = InputSpec {
            size: (manifest.input_width, manifest.input_height),
            normalisation: manifest.normalisation(),
            pad_value: manifest.pad_value,
            color_order: manifest.color_order,
        };
        Self::for_input(gpu, &input, max_regions, max_frame_bytes)
    }

    /// As [`GpuPreprocessor::new`] for any model input (models whose input size follows the frame's).
    pub(super) fn for_input(
        gpu: &Gpu,
        input: &InputSpec,
        max_regions: usize,
        max_frame_bytes: usize,
    ) -> Result<Self, GpuError> {
        let ptx =
            cudarc::nvrtc::compile_ptx(kernel_src::LETTERBOX_SRC).map_err(|e| GpuError::Compile(e.to_string()))?;
        let module = gpu.ctx.load_module(ptx)?;
        let func = module.load_function("letterbox_yuv420")?;
        let (in_w, in_h) = input.size;
        let plane = (in_w * in_h) as usize;
        let out = gpu.stream.alloc_zeros::<f32>(3 * plane * max_regions.max(1))?;
        let frame = gpu.stream.alloc_zeros::<u8>(max_frame_bytes.max(1))?;
        let (mul, add) = input.normalisation;
        Ok(GpuPreprocessor {
            gpu: gpu.clone(),
            func,
            out,
            frame,
            in_w,
            in_h,
            mul,
            add,
            pad: f32::from(input.pad_value),
            bgr: i32::from(input.color_order == ColorOrder::Bgr),
            regions: max_regions.max(1),
        })
    }

    /// Regions (batch slots) the output buffer holds.
    pub(super) fn capacity(&self) -> usize {
        self.regions
    }

    /// Floats per region.
    pub(super) fn input_len(&self) -> usize {
        3 * (self.in_w * self.in_h) as usize
    }

    /// Copies a host frame to the GPU (the explicit-copy path) and returns its device address.
    pub(super) fn upload(&mut self, host: &[u8]) -> Result<GpuFrame, GpuError> {
        if host.len() > self.frame.len() {
            self.frame = self.gpu.stream.alloc_zeros::<u8>(host.len())?;
        }
        let mut view = self.frame.slice_mut(..host.len());
        self.gpu.stream.memcpy_htod(host, &mut view)?;
        let (ptr, _sync) = self.frame.device_ptr(&self.gpu.stream);
        Ok(GpuFrame::Device(ptr))
    }

    /// Where the GPU reads `frame`: in place (a frame kept in GPU memory, or mapped pinned memory
    /// when `mode` reads it so), else after one upload; with the planes' layout.
    pub(super) fn source(&mut self, frame: &YuvFrame<'_>, mode: GpuInput) -> Result<(GpuFrame, PlaneLayout), GpuError> {
        match (frame.device, mode) {
            (Some(ptr), GpuInput::Mapped) => Ok((GpuFrame::Device(ptr), frame.layout)),
            // A frame kept in GPU memory by the decoder has no host copy to upload.
            (Some(ptr), GpuInput::Copy) if !frame.on_host() => Ok((GpuFrame::Device(ptr), frame.layout)),
            _ => Ok((self.upload(frame.data)?, PlaneLayout::packed(frame.width, frame.height, frame.format))),
        }
    }

    /// Device address of region `index`'s input tensor.
    pub(super) fn output_ptr(&self, index: usize) -> u64 {
        let (ptr, _sync) = self.out.device_ptr(&self.gpu.stream);
        ptr + (index * self.input_len() * std::mem::size_of::<f32>()) as u64
    }

    /// Letterboxes `region` of the frame (planes as in `layout`) into output slot `index`
    /// (asynchronously, on the stream).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fill(
        &mut self,
        frame: GpuFrame,
        width: u32,
        height: u32,
        format: PixelFormat,
        layout: PlaneLayout,
        region: Region,
        index: usize,
    ) -> Result<Letterbox, GpuError> {
        if index >= self.regions {
            return Err(GpuError::Driver(format!("region slot {index} beyond {}", self.regions)));
        }
        let region = region.clipped(width, height);
        let lb = Letterbox::fit(region, self.in_w, self.in_h);
        let GpuFrame::Device(mut frame_ptr) = frame;
        let mut out_ptr = self.output_ptr(index);
        let (mut w, mut h, mut nv12) = (width as i32, height as i32, i32::from(format == PixelFormat::Nv12));
        let (mut y_stride, mut uv_stride, mut uv_offset) =
            (layout.y_stride as i32, layout.uv_stride as i32, layout.uv_offset as u64);
        let (mut rx, mut ry, mut scale) = (region.x as i32, region.y as i32, lb.scale);
        let (mut cw, mut ch, mut iw, mut ih) =
            (lb.content_w as i32, lb.content_h as i32, self.in_w as i32, self.in_h as i32);
        let [mut m0, mut m1, mut m2] = self.mul;
        let [mut a0, mut a1, mut a2] = self.add;
        let (mut pad, mut bgr) = (self.pad, self.bgr);
        let p = |v: &mut dyn std::any::Any| -> *mut c_void { v as *mut dyn std::any::Any as *mut c_void };
        let mut params: [*mut c_void; 24] = [
            p(&mut frame_ptr),
            p(&mut w),
            p(&mut h),
            p(&mut nv12),
            p(&mut y_stride),
            p(&mut uv_stride),
            p(&mut uv_offset),
            p(&mut rx),
            p(&mut ry),
            p(&mut scale),
            p(&mut cw),
            p(&mut ch),
            p(&mut iw),
            p(&mut ih),
            p(&mut out_ptr),
            p(&mut m0),
            p(&mut m1),
            p(&mut m2),
            p(&mut a0),
            p(&mut a1),
            p(&mut a2),
            p(&mut pad),
            p(&mut bgr),
            std::ptr::null_mut(),
        ];
        let grid = (self.in_w.div_ceil(16), self.in_h.div_ceil(16), 1);
        // SAFETY: the parameters match the kernel's signature in order and size (23 of them; the
        // array's last entry is unused), the output slot lies inside `out`, and the frame address
        // is readable for `layout.bytes(height, format)` bytes (the caller's contract).
        unsafe {
            result::launch_kernel(
                self.func.cu_function(),
                grid,
                (16, 16, 1),
                0,
                self.gpu.stream.cu_stream(),
                &mut params[..23],
            )
        }?;
        Ok(lb)
    }

    /// Waits for queued work.
    pub(super) fn synchronize(&self) -> Result<(), GpuError> {
        self.gpu.stream.synchronize().map_err(GpuError::from)
    }

    /// Copies region `index`'s input back to the host (tests and diagnostics).
    pub(super) fn download(&self, index: usize, out: &mut [f32]) -> Result<(), GpuError> {
        let n = self.input_len();
        let view = self.out.slice(index * n..(index + 1) * n);
        self.gpu.stream.memcpy_dtoh(&view, &mut out[..n])?;
        self.synchronize()
    }
}
