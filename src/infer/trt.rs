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
    fn ft_trt_io(t: *const FtTrt, index: c_int, name: *mut c_char, name_len: usize, dims: *mut i64, nb_dims: *mut c_int, is_input: *mut c_int) -> c_int;
    fn ft_trt_enqueue(t: *mut FtTrt, input: *mut c_void, output: *mut c_void, stream: *mut c_void, err: *mut c_char, err_len: usize) -> c_int;
    fn ft_trt_free(t: *mut FtTrt);
}

/// The TensorRT version this binary is linked against, as `major.minor.patch`.
pub fn runtime_version() -> String {
    // SAFETY: a pure function of compile-time constants.
    let v = unsafe { ft_trt_version() };
    format!("{}.{}.{}", v / 10000, (v / 100) % 100, v % 100)
}

/// A deserialized engine with one execution context and its output buffers.
pub struct TrtModel {
    handle: *mut FtTrt,
    gpu: Gpu,
    input: CudaSlice<f32>,
    output: CudaSlice<f32>,
    host_output: Vec<f32>,
    output_shape: Vec<i64>,
}

// SAFETY: the handle is used from one thread at a time (the inference thread owns the model).
unsafe impl Send for TrtModel {}

fn err_text(buf: &[c_char]) -> String {
    // SAFETY: the wrapper writes a NUL-terminated message into `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

impl TrtModel {
    /// Loads `path`, refusing an engine whose manifest names another TensorRT version.
    pub fn load(path: &Path, manifest: &ModelManifest, gpu: &Gpu) -> Result<Self, InferError> {
        let model_err = |message: String| InferError::Model { path: path.to_path_buf(), message };
        let have = runtime_version();
        match &manifest.tensorrt_version {
            Some(want) if !have.starts_with(want.as_str()) && !want.starts_with(have.as_str()) => {
                return Err(model_err(format!(
                    "engine was built with TensorRT {want} but this is TensorRT {have}: rebuild it on this device (models/build-engines.sh)"
                )));
            }
            None => return Err(model_err("engine manifest lacks tensorrt_version (models/build-engines.sh writes it)".into())),
            _ => {}
        }
        let c_path = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| model_err(e.to_string()))?;
        let mut err = [0 as c_char; 512];
        // SAFETY: valid C string and error buffer.
        let handle = unsafe { ft_trt_load(c_path.as_ptr(), err.as_mut_ptr(), err.len()) };
        if handle.is_null() {
            return Err(model_err(err_text(&err)));
        }
        let mut output_shape = Vec::new();
        let mut input_elems = 0usize;
        // SAFETY: `handle` is live; buffers are sized as the wrapper expects.
        let n = unsafe { ft_trt_num_io(handle) };
        for i in 0..n {
            let (mut name, mut dims, mut nb, mut is_input) = ([0 as c_char; 256], [0i64; 8], 0 as c_int, 0 as c_int);
            // SAFETY: as above.
            if unsafe { ft_trt_io(handle, i, name.as_mut_ptr(), name.len(), dims.as_mut_ptr(), &mut nb, &mut is_input) } != 0 {
                continue;
            }
            let shape: Vec<i64> = dims[..nb.clamp(0, 8) as usize].to_vec();
            let elems = shape.iter().map(|&d| d.max(1) as usize).product::<usize>();
            if is_input != 0 && input_elems == 0 {
                input_elems = elems;
            } else if is_input == 0 && output_shape.is_empty() {
                output_shape = shape;
            }
        }
        let out_elems = output_shape.iter().map(|&d| d.max(1) as usize).product::<usize>();
        let expected_in = 3 * (manifest.input_width * manifest.input_height) as usize;
        if input_elems != expected_in || out_elems == 0 {
            // SAFETY: `handle` came from ft_trt_load and is freed once.
            unsafe { ft_trt_free(handle) };
            return Err(model_err(format!("engine input has {input_elems} values, the manifest implies {expected_in}")));
        }
        let input = gpu.stream.alloc_zeros::<f32>(input_elems).map_err(|e| model_err(e.to_string()))?;
        let output = gpu.stream.alloc_zeros::<f32>(out_elems).map_err(|e| model_err(e.to_string()))?;
        Ok(TrtModel { handle, gpu: gpu.clone(), input, output, host_output: vec![0.0; out_elems], output_shape })
    }

    /// Runs on an input already in GPU memory and hands the output (copied to the host) to `read`.
    pub fn run_device<R>(&mut self, input_ptr: u64, read: impl FnOnce(&[i64], &[f32]) -> R) -> Result<R, InferError> {
        let run_err = |m: String| InferError::Run(m);
        let (out_ptr, _sync) = self.output.device_ptr(&self.gpu.stream);
        let mut err = [0 as c_char; 512];
        // SAFETY: both pointers address buffers sized from the engine's own tensor shapes.
        let rc = unsafe {
            ft_trt_enqueue(self.handle, input_ptr as *mut c_void, out_ptr as *mut c_void, self.gpu.stream.cu_stream() as *mut c_void, err.as_mut_ptr(), err.len())
        };
        drop(_sync);
        if rc != 0 {
            return Err(run_err(err_text(&err)));
        }
        self.gpu.stream.memcpy_dtoh(&self.output, &mut self.host_output).map_err(|e| run_err(e.to_string()))?;
        self.gpu.stream.synchronize().map_err(|e| run_err(e.to_string()))?;
        Ok(read(&self.output_shape, &self.host_output))
    }

    /// Runs on a host input (uploads it first).
    pub fn run<R>(&mut self, input: &[f32], read: impl FnOnce(&[i64], &[f32]) -> R) -> Result<R, InferError> {
        self.gpu.stream.memcpy_htod(input, &mut self.input).map_err(|e| InferError::Run(e.to_string()))?;
        let (ptr, sync) = self.input.device_ptr(&self.gpu.stream);
        drop(sync);
        self.run_device(ptr, read)
    }
}

impl Drop for TrtModel {
    fn drop(&mut self) {
        // SAFETY: `handle` came from ft_trt_load and is freed once.
        unsafe { ft_trt_free(self.handle) };
    }
}
