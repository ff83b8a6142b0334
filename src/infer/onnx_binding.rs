//! ONNX Runtime's IoBinding with a device-resident input (CUDA builds, `infer.io_binding`).
//!
//! Why the earlier binding hung: the `ort` crate's `IoBinding::bind_input` does not bind a
//! tensor that borrows memory (ours, made from a raw CUDA pointer); it clones it first, and a
//! clone of a CUDA tensor runs a hidden identity model in a second ONNX Runtime session with its
//! own CUDA provider, behind a process-wide lock (`ort` 2.0.0-rc.15, `value/impl_tensor/copy.rs`
//! and `session/io_binding.rs`). A tensor that ONNX Runtime's own allocator made for this
//! session is owned: it is bound as it is, with the exact device the session planned for, so
//! nothing is copied or synchronised at bind time. So the input lives in such a tensor (one per
//! batch size, bound once and kept, since a new binding per call leaks in `ort`), our letterboxed
//! batch is copied into it device to device, and the output is a device tensor of the session's
//! own too (a fixed address, what a CUDA graph replays), copied to the host after the run.

use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{IoBinding, Session};
use ort::value::{Tensor, ValueType};

use super::error::InferError;

/// The session's binding and its bound tensors.
pub(super) struct DeviceBinding {
    binding: IoBinding,
    allocator: Allocator,
    input_name: String,
    output_name: String,
    /// The output's shape after the batch (anchors, columns), when the model declares it.
    output_tail: Option<[usize; 2]>,
    /// Bound for this batch size: input and output tensors and their device addresses.
    bound: Option<Bound>,
    /// The output copied to the host.
    host: Vec<f32>,
}

struct Bound {
    batch: usize,
    _input: Tensor<f32>,
    input_ptr: u64,
    /// In device memory (fixed address: what a CUDA graph needs), or `None`: ONNX Runtime
    /// copies it into host memory of its own.
    output: Option<(Tensor<f32>, u64)>,
}

fn err(e: ort::Error) -> InferError {
    InferError::Run(e.to_string())
}

impl DeviceBinding {
    /// A binding for `session`, whose device tensors come from the session's own CUDA allocator.
    pub(super) fn new(session: &Session) -> Result<Self, ort::Error> {
        let cuda = MemoryInfo::new(AllocationDevice::CUDA, 0, AllocatorType::Device, MemoryType::Default)?;
        let output_tail = match session.outputs()[0].dtype() {
            ValueType::Tensor { shape, .. } if shape.len() == 3 && shape[1] > 0 && shape[2] > 0 => {
                Some([shape[1] as usize, shape[2] as usize])
            }
            _ => None,
        };
        Ok(DeviceBinding {
            binding: session.create_binding()?,
            allocator: Allocator::new(session, cuda)?,
            input_name: session.inputs()[0].name().to_string(),
            output_name: session.outputs()[0].name().to_string(),
            output_tail,
            bound: None,
            host: Vec::new(),
        })
    }

    /// Allocates and binds input and output for `batch` images (once per batch size).
    fn bind(&mut self, batch: usize, chw: [usize; 3]) -> Result<(), InferError> {
        tracing::debug!(batch, "IoBinding: allocating and binding input and output.");
        let mut input = Tensor::<f32>::new(&self.allocator, [batch, chw[0], chw[1], chw[2]]).map_err(err)?;
        let input_ptr = input.data_ptr_mut() as u64;
        self.binding.bind_input(self.input_name.as_str(), &input).map_err(err)?;
        self.binding.clear_outputs();
        let output = match self.output_tail {
            Some([anchors, cols]) => {
                let mut out = Tensor::<f32>::new(&self.allocator, [batch, anchors, cols]).map_err(err)?;
                let ptr = out.data_ptr_mut() as u64;
                self.binding.bind_output(self.output_name.as_str(), &mut out).map_err(err)?;
                self.host.resize(batch * anchors * cols, 0.0);
                Some((out, ptr))
            }
            None => {
                // Host memory ONNX Runtime copies into (page-locked memory would be refused by
                // `ort`'s extraction, "not CPU accessible", seen on the H100).
                let host = MemoryInfo::new(AllocationDevice::CPU, 0, AllocatorType::Device, MemoryType::CPUOutput)
                    .map_err(err)?;
                self.binding.bind_output_to_device(self.output_name.as_str(), &host).map_err(err)?;
                None
            }
        };
        self.bound = Some(Bound { batch, _input: input, input_ptr, output });
        Ok(())
    }

    /// Runs `session` on `batch` CHW inputs of `chw` floats each at `device_ptr` (written and
    /// synchronised by the caller) and hands the first output to `read`.
    pub(super) fn run<R>(
        &mut self,
        session: &mut Session,
        device_ptr: u64,
        batch: usize,
        chw: [usize; 3],
        read: impl FnOnce(&[i64], &[f32]) -> R,
    ) -> Result<R, InferError> {
        if self.bound.as_ref().is_none_or(|b| b.batch != batch) {
            self.bind(batch, chw)?;
        }
        let gpu_err = |e: crate::gpu::GpuError| InferError::Run(e.to_string());
        let (input_ptr, output_ptr) = match &self.bound {
            Some(b) => (b.input_ptr, b.output.as_ref().map(|o| o.1)),
            None => return Err(InferError::Run("IoBinding: nothing bound".into())),
        };
        let bytes = batch * chw.iter().product::<usize>() * std::mem::size_of::<f32>();
        crate::gpu::copy_device_to_device(input_ptr, device_ptr, bytes).map_err(gpu_err)?;
        let outputs = session.run_binding(&self.binding).map_err(err)?;
        match (output_ptr, self.output_tail) {
            (Some(ptr), Some([anchors, cols])) => {
                drop(outputs);
                // The run has synchronised its stream: the output is complete.
                crate::gpu::copy_device_to_host(&mut self.host, ptr).map_err(gpu_err)?;
                let shape = [batch as i64, anchors as i64, cols as i64];
                Ok(read(&shape, &self.host))
            }
            _ => {
                self.binding.synchronize_outputs().map_err(err)?;
                let (shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
                Ok(read(shape, values))
            }
        }
    }
}
