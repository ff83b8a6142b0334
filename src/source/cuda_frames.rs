//! Frames the decoder keeps in GPU memory (`video/x-raw(memory:CUDAMemory)`, NVDEC): mapped for
//! CUDA (`GST_MAP_CUDA`, from gst-plugins-bad's `gst/cuda/gstcudamemory.h`, for which the
//! gstreamer-rs crates have no bindings) and copied device to device into the ring slot, so the
//! decoder's small buffer pool is released at once and the pixels never touch the host.

use gstreamer as gst;
use gstreamer::glib::translate::ToGlibPtr;
use gstreamer_video as gst_video;

use crate::frame::PlaneLayout;
use crate::gpu::DeviceBuffer;

/// `GST_MAP_FLAG_LAST << 1`: map CUDA memory for device access (the data pointers are device addresses).
const GST_MAP_CUDA: gst::ffi::GstMapFlags = (gst::ffi::GST_MAP_FLAG_LAST as gst::ffi::GstMapFlags) << 1;

/// Whether negotiated caps carry CUDA memory.
pub(super) fn is_cuda(caps: &gst::CapsRef) -> bool {
    caps.features(0).is_some_and(|f| f.contains("memory:CUDAMemory"))
}

/// Copies an NV12 frame in CUDA memory into `dst`; returns its plane layout in `dst`.
pub(super) fn copy_nv12(
    buffer: &gst::BufferRef,
    info: &gst_video::VideoInfo,
    dst: &mut DeviceBuffer,
) -> Result<PlaneLayout, String> {
    if info.format() != gst_video::VideoFormat::Nv12 {
        return Err(format!("CUDA frames in {:?}: only NV12 is supported", info.format()));
    }
    let mut frame = std::mem::MaybeUninit::<gst_video::ffi::GstVideoFrame>::zeroed();
    let info_ptr: *const gst_video::ffi::GstVideoInfo = info.to_glib_none().0;
    // SAFETY: maps a readable buffer for reading with the video info it was negotiated with;
    // unmapped below on every path.
    let mapped = unsafe {
        gst_video::ffi::gst_video_frame_map(
            frame.as_mut_ptr(),
            info_ptr as *mut _,
            buffer.as_ptr() as *mut _,
            gst::ffi::GST_MAP_READ | GST_MAP_CUDA,
        )
    };
    if mapped == 0 {
        return Err("cannot map the CUDA frame for device access".into());
    }
    // SAFETY: gst_video_frame_map succeeded and filled the frame.
    let frame = unsafe { frame.assume_init_mut() };
    let (y, uv) = (frame.data[0] as u64, frame.data[1] as u64);
    let (y_stride, uv_stride) = (frame.info.stride[0].max(0) as usize, frame.info.stride[1].max(0) as usize);
    let height = info.height() as usize;
    let y_bytes = y_stride * height;
    let layout = PlaneLayout { y_stride: y_stride as u32, uv_stride: uv_stride as u32, uv_offset: y_bytes };
    let total = layout.bytes(info.height(), crate::frame::PixelFormat::Nv12);
    let copied = dst
        .reserve(total)
        .and_then(|()| dst.copy_from_device(0, y, y_bytes))
        .and_then(|()| dst.copy_from_device(y_bytes, uv, total - y_bytes))
        .map_err(|e| e.to_string());
    // SAFETY: mapped above.
    unsafe { gst_video::ffi::gst_video_frame_unmap(frame) };
    copied.map(|()| layout)
}
