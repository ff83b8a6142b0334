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
//! batch is copied into it device to device, and the output is bound to host memory.

use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{IoBinding, Session};
use ort::value::Tensor;

use super::error::InferError;

/// The session's binding and its bound input tensor.
pub(super) struct DeviceBinding {
    binding: IoBinding,
    allocator: Allocator,
    input_name: String,
    output_name: String,
    /// The bound input: its batch size, tensor and device address.
    input: Option<(usize, Tensor<f32>, u64)>,
    output_bound: bool,
}

fn err(e: ort::Error) -> InferError {
    InferError::Run(e.to_string())
}

impl DeviceBinding {
    /// A binding for `session`, whose device input tensors come from the session's own CUDA allocator.
    pub(super) fn new(session: &Session) -> Result<Self, ort::Error> {
        let cuda = MemoryInfo::new(AllocationDevice::CUDA, 0, AllocatorType::Device, MemoryType::Default)?;
        Ok(DeviceBinding {
            binding: session.create_binding()?,
            allocator: Allocator::new(session, cuda)?,
            input_name: session.inputs()[0].name().to_string(),
            output_name: session.outputs()[0].name().to_string(),
            input: None,
            output_bound: false,
        })
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
        if self.input.as_ref().is_none_or(|i| i.0 != batch) {
            tracing::debug!(batch, "IoBinding: allocating and binding the input.");
            let mut tensor = Tensor::<f32>::new(&self.allocator, [batch, chw[0], chw[1], chw[2]]).map_err(err)?;
            let ptr = tensor.data_ptr_mut() as u64;
            self.binding.bind_input(self.input_name.as_str(), &tensor).map_err(err)?;
            self.input = Some((batch, tensor, ptr));
        }
        if !self.output_bound {
            // Host memory ONNX Runtime copies into at the end of the run (the output is small:
            // 7 columns per anchor). Page-locked memory would be refused by `ort`'s extraction
            // ("not CPU accessible"), measured on the H100.
            let host = MemoryInfo::new(AllocationDevice::CPU, 0, AllocatorType::Device, MemoryType::CPUOutput)
                .map_err(err)?;
            self.binding.bind_output_to_device(self.output_name.as_str(), &host).map_err(err)?;
            self.output_bound = true;
        }
        let dst = self.input.as_ref().map_or(0, |i| i.2);
        let bytes = batch * chw.iter().product::<usize>() * std::mem::size_of::<f32>();
        crate::gpu::copy_device_to_device(dst, device_ptr, bytes).map_err(|e| InferError::Run(e.to_string()))?;
        let outputs = session.run_binding(&self.binding).map_err(err)?;
        self.binding.synchronize_outputs().map_err(err)?;
        let (shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
        Ok(read(shape, values))
    }
}
