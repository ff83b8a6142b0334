//! Native TensorRT 10 backend (cargo feature `tensorrt`): loads a prebuilt `.engine`/`.plan`
//! through the thin C++ wrapper in `trt/shim.cpp` (deserialize, execution context, tensor
//! addresses, enqueue on a CUDA stream).
//!
//! Not built or run in this project's CI or on its GPU test machine: neither has TensorRT
//! (docs/gpu.md). JetPack 6 ships TensorRT 10.3, where this is meant to run.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::Path;

use cudarc::driver::{CudaSlice, DevicePtr};

use super::error::InferError;
use super::manifest::ModelManifest;
use crate::gpu::Gpu;

#[repr(C)]
struct FtTrt {
    _private: [u8; 0],
}

unsafe extern "C" {
    fn ft_trt_version() -> c_int;
    fn ft_trt_load(path: *const c_char, err: *mut c_char, err_len: usize) -> *mut FtTrt;
    fn ft_trt_num_io(t: *const FtTrt) -> c_int;
    fn ft_trt_io(
        t: *const FtTrt,
        index: c_int,
        name: *mut c_char,
        name_len: usize,
        dims: *mut i64,
        nb_dims: *mut c_int,
        is_input: *mut c_int,
        is_float: *mut c_int,
    ) -> c_int;
    fn ft_trt_enqueue(
        t: *mut FtTrt,
        input: *mut c_void,
        batch: c_int,
        outputs: *const *mut c_void,
        n_outputs: c_int,
        stream: *mut c_void,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    fn ft_trt_output_shape(t: *const FtTrt, dims: *mut i64, nb_dims: *mut c_int) -> c_int;
    fn ft_trt_free(t: *mut FtTrt);
}

/// The TensorRT version this binary is linked against, as `major.minor.patch`.
pub(super) fn runtime_version() -> String {
    // SAFETY: a pure function of compile-time constants.
    let v = unsafe { ft_trt_version() };
    format!("{}.{}.{}", v / 10000, (v / 100) % 100, v % 100)
}

/// A deserialized engine with one execution context and a device buffer for every output.
pub(super) struct TrtModel {
    handle: *mut FtTrt,
    gpu: Gpu,
    /// Room for the largest batch, for host inputs.
    input: CudaSlice<f32>,
    /// One buffer per output tensor, each sized for the largest batch; the first is decoded.
    outputs: Vec<CudaSlice<f32>>,
    host_output: Vec<f32>,
    max_batch: usize,
    image_len: usize,
}

// SAFETY: the handle is used from one thread at a time (the inference thread owns the model).
unsafe impl Send for TrtModel {}

fn err_text(buf: &[c_char]) -> String {
    // SAFETY: the wrapper writes a NUL-terminated message into `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

impl TrtModel {
    /// Loads `path`, refusing an engine whose manifest names another TensorRT version, and one
    /// whose tensors are not float or whose input does not fit the manifest.
    pub(super) fn load(path: &Path, manifest: &ModelManifest, gpu: &Gpu) -> Result<Self, InferError> {
        let model_err = |message: String| InferError::Model { path: path.to_path_buf(), message };
        let have = runtime_version();
        match &manifest.tensorrt_version {
            Some(want) if !have.starts_with(want.as_str()) && !want.starts_with(have.as_str()) => {
                return Err(model_err(format!(
                    "engine was built with TensorRT {want} but this is TensorRT {have}: rebuild it on this device (models/build-engines.sh)"
                )));
            }
            None => {
                return Err(model_err(
                    "engine manifest lacks tensorrt_version (models/build-engines.sh writes it)".into(),
                ));
            }
            _ => {}
        }
        let c_path = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| model_err(e.to_string()))?;
        let mut err = [0 as c_char; 512];
        // SAFETY: valid C string and error buffer.
        let handle = unsafe { ft_trt_load(c_path.as_ptr(), err.as_mut_ptr(), err.len()) };
        if handle.is_null() {
            return Err(model_err(err_text(&err)));
        }
        let fail = |message: String| {
            // SAFETY: `handle` came from ft_trt_load and is freed once, on this failure path.
            unsafe { ft_trt_free(handle) };
            Err(model_err(message))
        };
        // A dynamic batch dimension reads -1; the manifest's max_batch bounds it.
        let max_batch = if manifest.dynamic_batch { manifest.max_batch.unwrap_or(1) } else { 1 };
        let image_len = 3 * (manifest.input_width * manifest.input_height) as usize;
        let mut output_elems = Vec::new();
        let mut input_ok = false;
        // SAFETY: `handle` is live; buffers are sized as the wrapper expects.
        let n = unsafe { ft_trt_num_io(handle) };
        for i in 0..n {
            let (mut name, mut dims, mut nb, mut is_input, mut is_float) =
                ([0 as c_char; 256], [0i64; 8], 0 as c_int, 0 as c_int, 0 as c_int);
            // SAFETY: as above.
            if unsafe {
                ft_trt_io(
                    handle,
                    i,
                    name.as_mut_ptr(),
                    name.len(),
                    dims.as_mut_ptr(),
                    &mut nb,
                    &mut is_input,
                    &mut is_float,
                )
            } != 0
            {
                continue;
            }
            if is_float == 0 {
                return fail(format!("tensor {} is not float32: build the engine with float I/O", err_text(&name)));
            }
            let shape = &dims[..nb.clamp(0, 8) as usize];
            let per_image = shape.iter().skip(1).map(|&d| d.max(1) as usize).product::<usize>();
            if is_input != 0 {
                input_ok = per_image == image_len;
            } else {
                output_elems.push(per_image * max_batch);
            }
        }
        if !input_ok || output_elems.is_empty() {
            return fail(format!(
                "engine input does not hold {image_len} values per image as the manifest implies, or it has no output"
            ));
        }
        let alloc = |n: usize| gpu.stream.alloc_zeros::<f32>(n).map_err(|e| model_err(e.to_string()));
        let input = alloc(image_len * max_batch)?;
        let outputs = output_elems.iter().map(|&n| alloc(n)).collect::<Result<Vec<_>, _>>()?;
        Ok(TrtModel {
            handle,
            gpu: gpu.clone(),
            input,
            host_output: vec![0.0; output_elems[0]],
            outputs,
            max_batch,
            image_len,
        })
    }

    /// Runs `batch` images already in GPU memory; the first output (copied to the host) goes to `read`.
    pub(super) fn run_device<R>(
        &mut self,
        input_ptr: u64,
        batch: usize,
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        let run_err = |m: String| InferError::Run(m);
        if batch == 0 || batch > self.max_batch {
            return Err(run_err(format!("batch {batch} is outside the engine's 1..={}", self.max_batch)));
        }
        // The device addresses of every output; a small fixed array, no allocation per call.
        let mut ptrs = [std::ptr::null_mut::<c_void>(); 8];
        let n_out = self.outputs.len().min(ptrs.len());
        for (p, o) in ptrs.iter_mut().zip(&self.outputs) {
            let (ptr, _sync) = o.device_ptr(&self.gpu.stream);
            *p = ptr as *mut c_void;
        }
        let mut err = [0 as c_char; 512];
        // SAFETY: every pointer addresses a buffer sized for `max_batch` images of its tensor.
        let rc = unsafe {
            ft_trt_enqueue(
                self.handle,
                input_ptr as *mut c_void,
                batch as c_int,
                ptrs.as_ptr(),
                n_out as c_int,
                self.gpu.stream.cu_stream() as *mut c_void,
                err.as_mut_ptr(),
                err.len(),
            )
        };
        if rc != 0 {
            return Err(run_err(err_text(&err)));
        }
        let (mut dims, mut nb) = ([0i64; 8], 0 as c_int);
        // SAFETY: `handle` is live; `dims` holds 8 values.
        if unsafe { ft_trt_output_shape(self.handle, dims.as_mut_ptr(), &mut nb) } != 0 {
            return Err(run_err("cannot read the output shape".into()));
        }
        let shape = &dims[..nb.clamp(0, 8) as usize];
        let used = shape.iter().map(|&d| d.max(0) as usize).product::<usize>().min(self.host_output.len());
        let view = self.outputs[0].slice(..used);
        self.gpu.stream.memcpy_dtoh(&view, &mut self.host_output[..used]).map_err(|e| run_err(e.to_string()))?;
        self.gpu.stream.synchronize().map_err(|e| run_err(e.to_string()))?;
        Ok(read(shape, &self.host_output[..used]))
    }

    /// Runs `batch` host images (uploaded first).
    pub(super) fn run<R>(
        &mut self,
        input: &[f32],
        batch: usize,
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        let n = (batch * self.image_len).min(input.len()).min(self.input.len());
        let mut view = self.input.slice_mut(..n);
        self.gpu.stream.memcpy_htod(&input[..n], &mut view).map_err(|e| InferError::Run(e.to_string()))?;
        let (ptr, sync) = self.input.device_ptr(&self.gpu.stream);
        drop(sync);
        self.run_device(ptr, batch, read)
    }
}

impl Drop for TrtModel {
    fn drop(&mut self) {
        // SAFETY: `handle` came from ft_trt_load and is freed once.
        unsafe { ft_trt_free(self.handle) };
    }
}
