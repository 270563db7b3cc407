//! GPUs as an optional capability: NVIDIA devices through NVML, loaded at
//! run time (feature `gpu`). Without a driver, a device, or the feature,
//! the capability reads [`GpuState::Absent`]: a state, not an error.

/// Whether GPUs can be observed, and what they report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum GpuState {
    /// No GPU can be observed; the reason says why (no NVML library, no
    /// device, built without the `gpu` feature).
    Absent {
        /// Why, for people.
        reason: String,
    },
    /// The devices found.
    Present(Vec<GpuDevice>),
}

impl GpuState {
    /// The devices; empty when absent.
    #[must_use]
    pub fn devices(&self) -> &[GpuDevice] {
        match self {
            Self::Absent { .. } => &[],
            Self::Present(devices) => devices,
        }
    }

    /// Whether the capability is absent.
    #[must_use]
    pub const fn is_absent(&self) -> bool {
        matches!(self, Self::Absent { .. })
    }
}

impl Default for GpuState {
    fn default() -> Self {
        Self::Absent {
            reason: "not sampled".to_owned(),
        }
    }
}

/// One GPU. Values the driver does not report are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct GpuDevice {
    /// NVML index.
    pub index: u32,
    /// Product name (`NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// Memory in use, in bytes.
    pub memory_used: u64,
    /// Memory installed, in bytes.
    pub memory_total: u64,
    /// Share of time a kernel ran over the last sample period, in percent.
    pub utilization_percent: Option<u32>,
    /// Die temperature, in degrees Celsius.
    pub temperature_celsius: Option<u32>,
    /// Processes using the device (compute and graphics).
    pub processes: Vec<GpuProcess>,
}

/// A process using a GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct GpuProcess {
    /// Process id.
    pub pid: u32,
    /// GPU memory it uses, in bytes, when the driver reports it.
    pub memory_bytes: Option<u64>,
}

/// Reads GPUs; NVML is loaded once, when the reader is made.
pub struct GpuReader {
    #[cfg(feature = "gpu")]
    nvml: Result<nvml_wrapper::Nvml, String>,
}

impl std::fmt::Debug for GpuReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuReader").finish_non_exhaustive()
    }
}

impl Default for GpuReader {
    fn default() -> Self {
        Self::new()
    }
}

impl GpuReader {
    /// Loads NVML (`libnvidia-ml.so.1`) if the `gpu` feature is on. Never
    /// fails: without the library the reader reports [`GpuState::Absent`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            #[cfg(feature = "gpu")]
            nvml: nvml_wrapper::Nvml::init().map_err(|err| format!("NVML unavailable: {err}")),
        }
    }

    /// Reads every device.
    #[must_use]
    pub fn read(&self) -> GpuState {
        #[cfg(feature = "gpu")]
        {
            match &self.nvml {
                Ok(nvml) => read_nvml(nvml),
                Err(reason) => GpuState::Absent {
                    reason: reason.clone(),
                },
            }
        }
        #[cfg(not(feature = "gpu"))]
        {
            GpuState::Absent {
                reason: "built without the `gpu` feature".to_owned(),
            }
        }
    }
}

#[cfg(feature = "gpu")]
fn read_nvml(nvml: &nvml_wrapper::Nvml) -> GpuState {
    use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
    use nvml_wrapper::enums::device::UsedGpuMemory;

    let count = match nvml.device_count() {
        Ok(0) => {
            return GpuState::Absent {
                reason: "NVML found no device".to_owned(),
            };
        }
        Ok(count) => count,
        Err(err) => {
            return GpuState::Absent {
                reason: format!("NVML cannot count devices: {err}"),
            };
        }
    };
    let mut devices = Vec::with_capacity(count as usize);
    for index in 0..count {
        let Ok(device) = nvml.device_by_index(index) else {
            continue;
        };
        let memory = device.memory_info().ok();
        let mut processes = Vec::new();
        for list in [
            device.running_compute_processes(),
            device.running_graphics_processes(),
        ]
        .into_iter()
        .flatten()
        {
            for info in list {
                if processes.iter().any(|p: &GpuProcess| p.pid == info.pid) {
                    continue;
                }
                processes.push(GpuProcess {
                    pid: info.pid,
                    memory_bytes: match info.used_gpu_memory {
                        UsedGpuMemory::Used(bytes) => Some(bytes),
                        UsedGpuMemory::Unavailable => None,
                    },
                });
            }
        }
        devices.push(GpuDevice {
            index,
            name: device.name().unwrap_or_default(),
            memory_used: memory.as_ref().map_or(0, |m| m.used),
            memory_total: memory.as_ref().map_or(0, |m| m.total),
            utilization_percent: device.utilization_rates().ok().map(|u| u.gpu),
            temperature_celsius: device.temperature(TemperatureSensor::Gpu).ok(),
            processes,
        });
    }
    if devices.is_empty() {
        GpuState::Absent {
            reason: "NVML could open no device".to_owned(),
        }
    } else {
        GpuState::Present(devices)
    }
}
