//! The machine: CPU, load averages, memory, swap, pressure.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::procfs::{
    CpuTimes, Pressure, parse_cpu_times, parse_loadavg, parse_meminfo, parse_pressure,
};

/// What the sampler knows about the machine.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct SystemStats {
    /// CPUs online.
    pub cpus: usize,
    /// Machine CPU use since the previous sample, in percent of all CPUs
    /// (0 to 100); 0 on the first sample.
    pub cpu_percent: f64,
    /// Load averages over 1, 5 and 15 minutes.
    pub load_average: [f64; 3],
    /// Physical memory, in bytes.
    pub memory_total: u64,
    /// Memory available to new work without swapping, in bytes.
    pub memory_available: u64,
    /// `memory_total - memory_available`, in bytes.
    pub memory_used: u64,
    /// Swap space, in bytes.
    pub swap_total: u64,
    /// Swap in use, in bytes.
    pub swap_used: u64,
    /// Boot time, seconds since the Unix epoch.
    pub boot_time: u64,
    /// Pressure stall information, where the kernel has it.
    pub pressure: Option<PressureStats>,
}

/// Pressure stall information of the machine (`/proc/pressure`).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct PressureStats {
    /// CPU pressure.
    pub cpu: Pressure,
    /// Memory pressure.
    pub memory: Pressure,
    /// I/O pressure.
    pub io: Pressure,
}

/// Reads system statistics from a procfs root (`/proc`, or a fixture).
#[derive(Debug, Clone)]
pub struct SystemReader {
    root: PathBuf,
    previous: Option<CpuTimes>,
}

impl Default for SystemReader {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemReader {
    /// Reads `/proc`.
    #[must_use]
    pub fn new() -> Self {
        Self::with_root("/proc")
    }

    /// Reads `stat`, `meminfo`, `loadavg` and `pressure/*` under `root`.
    #[must_use]
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            previous: None,
        }
    }

    /// Reads the machine's statistics; the CPU percent covers the time
    /// since the previous call.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] or [`Error::Parse`] for `stat`, `meminfo` or
    /// `loadavg`. Missing pressure files are not an error.
    pub fn read(&mut self) -> Result<SystemStats, Error> {
        let times = read_parsed(&self.root.join("stat"), parse_cpu_times)?;
        let memory = read_parsed(&self.root.join("meminfo"), parse_meminfo)?;
        let load_average = read_parsed(&self.root.join("loadavg"), parse_loadavg)?;
        let cpu_percent = match self.previous {
            Some(previous) if times.total > previous.total => {
                #[expect(clippy::cast_precision_loss, reason = "tick deltas are small")]
                let share = times.busy.saturating_sub(previous.busy) as f64
                    / (times.total - previous.total) as f64;
                (share * 100.0).clamp(0.0, 100.0)
            }
            _ => 0.0,
        };
        self.previous = Some(times);
        let pressure_dir = self.root.join("pressure");
        let pressure = if pressure_dir.is_dir() {
            let read = |name: &str| {
                let path = pressure_dir.join(name);
                match std::fs::read_to_string(&path) {
                    Ok(text) => parse_pressure(&text).map_err(|what| Error::parse(&path, what)),
                    // Some kernels expose the directory but refuse reads
                    // (psi=0 on the command line).
                    Err(_) => Ok(Pressure::default()),
                }
            };
            Some(PressureStats {
                cpu: read("cpu")?,
                memory: read("memory")?,
                io: read("io")?,
            })
        } else {
            None
        };
        Ok(SystemStats {
            cpus: times.cpus.max(1),
            cpu_percent,
            load_average,
            memory_total: memory.total,
            memory_available: memory.available,
            memory_used: memory.total.saturating_sub(memory.available),
            swap_total: memory.swap_total,
            swap_used: memory.swap_total.saturating_sub(memory.swap_free),
            boot_time: times.boot_time,
            pressure,
        })
    }
}

pub(crate) fn read_parsed<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|err| Error::read(path, err))?;
    parse(&text).map_err(|what| Error::parse(path, what))
}
