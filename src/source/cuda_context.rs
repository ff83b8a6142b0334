//! One CUDA context for the decoder and the daemon: NVDEC's GStreamer elements (nvcodec) are handed
//! our primary context (the one ONNX Runtime's CUDA provider and our kernels use) as their
//! `gst.cuda.context`, wrapped by libgstcuda's `gst_cuda_context_new_wrapped`. Otherwise nvcodec
//! creates a context of its own, and the GPU time-slices between the two: decoding, the copy into
//! the ring slot, pre-processing and the model cannot overlap. Where libgstcuda (gst-plugins-bad
//! 1.22+) is missing, the decoder keeps its own context (logged once).

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use gstreamer as gst;

use crate::gpu::Gpu;

struct Shared {
    context: gst::Context,
    // Keeps the primary context retained for the process's life.
    _gpu: Gpu,
}

/// The `gst.cuda.context` wrapping our primary context on device 0, made once; `None` (logged)
/// when it cannot be made.
pub(super) fn shared_context() -> Option<gst::Context> {
    static SHARED: OnceLock<Option<Shared>> = OnceLock::new();
    SHARED
        .get_or_init(|| match make() {
            Ok(s) => {
                tracing::info!(
                    "The decoder shares the daemon's CUDA context (no time-slicing between decoding and inference)."
                );
                Some(s)
            }
            Err(why) => {
                tracing::info!(%why, "The decoder keeps a CUDA context of its own.");
                None
            }
        })
        .as_ref()
        .map(|s| s.context.clone())
}

fn make() -> Result<Shared, String> {
    let gpu = Gpu::try_new(0).map_err(|e| e.to_string())?;
    let cu_ctx = gpu.ctx.cu_ctx() as *mut c_void;
    let device = gpu.ctx.cu_device() as c_int;
    // SAFETY: libgstcuda's public C API (gst/cuda/gstcudacontext.h, gstcudautils.h, 1.22):
    // `gst_cuda_load_library() -> gboolean`, `gst_cuda_context_new_wrapped(CUcontext, CUdevice)
    // -> GstCudaContext* (transfer full)`, `gst_context_new_cuda_context(GstCudaContext*) ->
    // GstContext* (transfer full)`. The library stays loaded for the process's life (the
    // objects it made live as long), so it is leaked on purpose.
    unsafe {
        let lib = libloading::Library::new("libgstcuda-1.0.so.0")
            .map_err(|e| format!("libgstcuda-1.0.so.0 not loaded ({e})"))?;
        let load: unsafe extern "C" fn() -> c_int = *lib.get(b"gst_cuda_load_library\0").map_err(|e| e.to_string())?;
        let wrap: unsafe extern "C" fn(*mut c_void, c_int) -> *mut c_void =
            *lib.get(b"gst_cuda_context_new_wrapped\0").map_err(|e| e.to_string())?;
        let new_context: unsafe extern "C" fn(*mut c_void) -> *mut gst::ffi::GstContext =
            *lib.get(b"gst_context_new_cuda_context\0").map_err(|e| e.to_string())?;
        std::mem::forget(lib);
        if load() == 0 {
            return Err("libgstcuda could not load libcuda".into());
        }
        let cuda_context = wrap(cu_ctx, device);
        if cuda_context.is_null() {
            return Err("gst_cuda_context_new_wrapped failed".into());
        }
        let context = new_context(cuda_context);
        // The GstContext holds its own reference to the wrapped context.
        gst::ffi::gst_object_unref(cuda_context as *mut gst::ffi::GstObject);
        if context.is_null() {
            return Err("gst_context_new_cuda_context failed".into());
        }
        Ok(Shared { context: gst::glib::translate::from_glib_full(context), _gpu: gpu })
    }
}
