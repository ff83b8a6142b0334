//! NVIDIA's management library (NVML), loaded at run time as cudarc loads libcuda: GPU
//! temperature, memory, utilisation and decoder utilisation on GPU servers. Absent (no driver,
//! a CPU machine, a Jetson, whose integrated GPU NVML does not cover) is a reason reported in
//! health, never an error.

use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void};
use std::sync::Arc;

/// One GPU's condition.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GpuReading {
    /// NVML's device index.
    pub index: u32,
    /// Product name (`NVIDIA H200`).
    pub name: String,
    /// Core temperature, °C.
    pub temperature_c: Option<f32>,
    /// Memory in use (all processes), MiB.
    pub memory_used_mb: Option<f64>,
    /// Memory on the card, MiB.
    pub memory_total_mb: Option<f64>,
    /// Time the GPU was busy over NVML's last sample period, percent.
    pub utilization_percent: Option<u32>,
    /// The same for the video decoder (NVDEC), percent.
    pub decoder_percent: Option<u32>,
}

type Ret = c_int;
type Device = *mut c_void;

#[repr(C)]
#[derive(Default)]
struct Memory {
    total: c_ulonglong,
    free: c_ulonglong,
    used: c_ulonglong,
}

#[repr(C)]
#[derive(Default)]
struct Utilization {
    gpu: c_uint,
    memory: c_uint,
}

struct Api {
    shutdown: unsafe extern "C" fn() -> Ret,
    error_string: unsafe extern "C" fn(Ret) -> *const c_char,
    count: unsafe extern "C" fn(*mut c_uint) -> Ret,
    handle: unsafe extern "C" fn(c_uint, *mut Device) -> Ret,
    name: unsafe extern "C" fn(Device, *mut c_char, c_uint) -> Ret,
    temperature: unsafe extern "C" fn(Device, c_int, *mut c_uint) -> Ret,
    memory: unsafe extern "C" fn(Device, *mut Memory) -> Ret,
    utilization: unsafe extern "C" fn(Device, *mut Utilization) -> Ret,
    decoder: unsafe extern "C" fn(Device, *mut c_uint, *mut c_uint) -> Ret,
    // Last: the symbols above point into it.
    _library: libloading::Library,
}

/// A loaded and initialised NVML.
#[derive(Clone)]
pub struct Nvml {
    api: Arc<Api>,
    devices: u32,
}

impl std::fmt::Debug for Nvml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nvml").field("devices", &self.devices).finish()
    }
}

const SUCCESS: Ret = 0;
const TEMPERATURE_GPU: c_int = 0;

impl Nvml {
    /// Loads `library` (normally `libnvidia-ml.so.1`) and initialises it; the error says why not.
    pub fn load(library: &str) -> Result<Nvml, String> {
        // SAFETY: loading NVML runs its initialisers, which have no preconditions; every symbol
        // is taken with the signature of NVML's public header (nvml.h, API v2 names).
        unsafe {
            let lib = libloading::Library::new(library).map_err(|e| format!("{library} not loaded ({e})"))?;
            let init: unsafe extern "C" fn() -> Ret =
                *lib.get(b"nvmlInit_v2\0").map_err(|e| format!("{library}: {e}"))?;
            let api = Api {
                shutdown: *lib.get(b"nvmlShutdown\0").map_err(|e| format!("{library}: {e}"))?,
                error_string: *lib.get(b"nvmlErrorString\0").map_err(|e| format!("{library}: {e}"))?,
                count: *lib.get(b"nvmlDeviceGetCount_v2\0").map_err(|e| format!("{library}: {e}"))?,
                handle: *lib.get(b"nvmlDeviceGetHandleByIndex_v2\0").map_err(|e| format!("{library}: {e}"))?,
                name: *lib.get(b"nvmlDeviceGetName\0").map_err(|e| format!("{library}: {e}"))?,
                temperature: *lib.get(b"nvmlDeviceGetTemperature\0").map_err(|e| format!("{library}: {e}"))?,
                memory: *lib.get(b"nvmlDeviceGetMemoryInfo\0").map_err(|e| format!("{library}: {e}"))?,
                utilization: *lib.get(b"nvmlDeviceGetUtilizationRates\0").map_err(|e| format!("{library}: {e}"))?,
                decoder: *lib.get(b"nvmlDeviceGetDecoderUtilization\0").map_err(|e| format!("{library}: {e}"))?,
                _library: lib,
            };
            let r = init();
            if r != SUCCESS {
                return Err(format!("nvmlInit failed: {}", error_text(&api, r)));
            }
            let mut devices: c_uint = 0;
            let r = (api.count)(&mut devices);
            if r != SUCCESS {
                return Err(format!("nvmlDeviceGetCount failed: {}", error_text(&api, r)));
            }
            Ok(Nvml { api: Arc::new(api), devices })
        }
    }

    /// Number of GPUs NVML sees.
    pub fn devices(&self) -> u32 {
        self.devices
    }

    /// Reads every GPU; a figure NVML cannot give for a device is `None`.
    pub fn read(&self) -> Vec<GpuReading> {
        (0..self.devices).filter_map(|i| self.read_one(i)).collect()
    }

    fn read_one(&self, index: u32) -> Option<GpuReading> {
        let api = &*self.api;
        let mut dev: Device = std::ptr::null_mut();
        // SAFETY: NVML is initialised (until the last clone drops); out-pointers are valid for
        // the calls' duration and sized as nvml.h declares.
        unsafe {
            if (api.handle)(index, &mut dev) != SUCCESS {
                return None;
            }
            let mut name = [0 as c_char; 96];
            let name = if (api.name)(dev, name.as_mut_ptr(), name.len() as c_uint) == SUCCESS {
                std::ffi::CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned()
            } else {
                String::new()
            };
            let mut t: c_uint = 0;
            let temperature_c = ((api.temperature)(dev, TEMPERATURE_GPU, &mut t) == SUCCESS).then_some(t as f32);
            let mut m = Memory::default();
            let mem_ok = (api.memory)(dev, &mut m) == SUCCESS;
            let mut u = Utilization::default();
            let utilization_percent = ((api.utilization)(dev, &mut u) == SUCCESS).then_some(u.gpu);
            let (mut d, mut period) = (0 as c_uint, 0 as c_uint);
            let decoder_percent = ((api.decoder)(dev, &mut d, &mut period) == SUCCESS).then_some(d);
            let mib = |b: c_ulonglong| b as f64 / (1024.0 * 1024.0);
            Some(GpuReading {
                index,
                name,
                temperature_c,
                memory_used_mb: mem_ok.then(|| mib(m.used)),
                memory_total_mb: mem_ok.then(|| mib(m.total)),
                utilization_percent,
                decoder_percent,
            })
        }
    }
}

fn error_text(api: &Api, r: Ret) -> String {
    // SAFETY: nvmlErrorString returns a static string (or null) for any code.
    let p = unsafe { (api.error_string)(r) };
    if p.is_null() {
        format!("error {r}")
    } else {
        unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        // SAFETY: initialised in `load`; the last handle is going away.
        unsafe {
            (self.shutdown)();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_a_reason_not_an_error() {
        let e = Nvml::load("/nonexistent/libnvidia-ml.so.1").unwrap_err();
        assert!(e.contains("/nonexistent/libnvidia-ml.so.1"), "{e}");
    }
}
