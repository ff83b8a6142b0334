//! A ring slot's pixel storage: ordinary heap memory, or (CUDA builds) page-locked memory mapped
//! into the GPU's address space, so the GPU reads decoded frames where the decoder wrote them.

use std::ops::{Deref, DerefMut};

/// Pixel storage of one slot.
#[derive(Debug)]
pub enum SlotBuffer {
    /// Heap memory, grown to the frame size once.
    Heap(Vec<u8>),
    /// Page-locked, device-mapped memory of fixed capacity.
    #[cfg(feature = "cuda")]
    Pinned(crate::gpu::PinnedBuffer),
    /// GPU memory, sized by the first frame: frames the decoder keeps on the GPU (no host view).
    #[cfg(feature = "cuda")]
    Device(crate::gpu::DeviceBuffer),
}

impl Default for SlotBuffer {
    fn default() -> Self {
        SlotBuffer::Heap(Vec::new())
    }
}

/// A frame larger than a fixed-capacity (pinned) slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl SlotBuffer {
    /// Heap storage with room for `capacity` bytes.
    pub fn heap(capacity: usize) -> Self {
        SlotBuffer::Heap(Vec::with_capacity(capacity))
    }

    /// Sets the length to `len` bytes (new bytes are zero on the heap; pinned memory keeps its
    /// contents). Allocates only when a heap slot first grows to a frame size.
    pub fn resize(&mut self, len: usize) -> Result<(), TooLarge> {
        match self {
            SlotBuffer::Heap(v) => {
                v.resize(len, 0);
                Ok(())
            }
            #[cfg(feature = "cuda")]
            SlotBuffer::Pinned(p) => {
                if p.set_len(len) {
                    Ok(())
                } else {
                    Err(TooLarge)
                }
            }
            #[cfg(feature = "cuda")]
            SlotBuffer::Device(d) => d.reserve(len).map_err(|_| TooLarge),
        }
    }

    /// Whether the pixels live only in GPU memory (no host view: [`std::ops::Deref`] gives an empty slice).
    pub fn is_device_only(&self) -> bool {
        match self {
            #[cfg(feature = "cuda")]
            SlotBuffer::Device(_) => true,
            _ => false,
        }
    }

    /// The GPU's address of the bytes, for pinned storage.
    pub fn device_ptr(&self) -> Option<u64> {
        match self {
            SlotBuffer::Heap(_) => None,
            #[cfg(feature = "cuda")]
            SlotBuffer::Pinned(p) => Some(p.device_ptr()),
            #[cfg(feature = "cuda")]
            SlotBuffer::Device(d) => Some(d.device_ptr()),
        }
    }
}

impl Deref for SlotBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SlotBuffer::Heap(v) => v,
            #[cfg(feature = "cuda")]
            SlotBuffer::Pinned(p) => p.as_slice(),
            #[cfg(feature = "cuda")]
            SlotBuffer::Device(_) => &[],
        }
    }
}

impl DerefMut for SlotBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            SlotBuffer::Heap(v) => v,
            #[cfg(feature = "cuda")]
            SlotBuffer::Pinned(p) => p.as_mut_slice(),
            #[cfg(feature = "cuda")]
            SlotBuffer::Device(_) => &mut [],
        }
    }
}
