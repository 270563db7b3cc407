//! The current process: CPU, memory, file descriptors, threads, start time.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::procfs::{ProcStat, parse_proc_stat};

/// What the sampler knows about the current process.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ProcessStats {
    /// CPU time spent in user and kernel mode since start, in seconds.
    pub cpu_seconds: f64,
    /// CPU use since the previous sample, in percent of one core (200 is
    /// two cores busy); 0 on the first sample.
    pub cpu_percent: f64,
    /// Resident set size, in bytes.
    pub resident_bytes: u64,
    /// Virtual memory size, in bytes.
    pub virtual_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit on open file descriptors; `None` when unlimited.
    pub max_fds: Option<u64>,
    /// Threads.
    pub threads: u64,
    /// When the process started.
    pub start_time: Option<SystemTime>,
}

/// CPU and memory of the current process, read with one `pread` of
/// `/proc/self/stat` on a file kept open.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct CpuMemory {
    /// CPU seconds, user plus kernel.
    pub cpu_seconds: f64,
    /// Resident set size, in bytes.
    pub resident_bytes: u64,
    /// Virtual memory size, in bytes.
    pub virtual_bytes: u64,
    /// Threads.
    pub threads: u64,
    /// Start time after boot, in clock ticks.
    pub(crate) start_ticks: u64,
}

/// Reads the current process's statistics; keeps `/proc/self/stat` open so
/// that a refresh is one system call.
#[derive(Debug)]
pub struct ProcessReader {
    stat: OwnedFd,
    page_size: u64,
    ticks_per_second: u64,
}

const STAT_PATH: &str = "/proc/self/stat";

impl ProcessReader {
    /// Opens `/proc/self/stat`.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when it cannot be opened (no procfs mounted).
    pub fn new() -> Result<Self, Error> {
        let stat = rustix::fs::open(
            STAT_PATH,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|errno| Error::read(STAT_PATH, errno.into()))?;
        Ok(Self {
            stat,
            page_size: rustix::param::page_size() as u64,
            ticks_per_second: rustix::param::clock_ticks_per_second().max(1),
        })
    }

    /// Clock ticks per second (`CLK_TCK`).
    #[must_use]
    pub const fn ticks_per_second(&self) -> u64 {
        self.ticks_per_second
    }

    /// Reads CPU time and memory: one `pread`, no allocation.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] or [`Error::Parse`] for `/proc/self/stat`.
    pub fn cpu_memory(&self) -> Result<CpuMemory, Error> {
        let mut buf = [0_u8; 1024];
        let len = rustix::io::pread(&self.stat, &mut buf, 0)
            .map_err(|errno| Error::read(STAT_PATH, errno.into()))?;
        let text =
            std::str::from_utf8(&buf[..len]).map_err(|_| Error::parse(STAT_PATH, "not UTF-8"))?;
        let stat: ProcStat = parse_proc_stat(text).map_err(|what| Error::parse(STAT_PATH, what))?;
        #[expect(clippy::cast_precision_loss, reason = "ticks stay far below 2^52")]
        let cpu_seconds = (stat.utime_ticks.saturating_add(stat.stime_ticks)) as f64
            / self.ticks_per_second as f64;
        Ok(CpuMemory {
            cpu_seconds,
            resident_bytes: stat.rss_pages.saturating_mul(self.page_size),
            virtual_bytes: stat.virtual_bytes,
            threads: stat.threads,
            start_ticks: stat.start_ticks,
        })
    }

    /// Reads everything but the CPU percent (which needs two samples):
    /// CPU and memory, open and maximum file descriptors, start time.
    /// `boot_time` is `btime` from `/proc/stat`, in seconds since the epoch.
    ///
    /// # Errors
    ///
    /// As [`cpu_memory`](Self::cpu_memory), and [`Error::Read`] for
    /// `/proc/self/fd`.
    pub fn read(&self, boot_time: Option<u64>) -> Result<ProcessStats, Error> {
        let mut stats = self.read_without_fds(boot_time)?;
        stats.open_fds = count_fds(Path::new("/proc/self/fd"))?;
        Ok(stats)
    }

    /// Like [`read`](Self::read) without counting open file descriptors
    /// (`open_fds` is 0).
    ///
    /// # Errors
    ///
    /// As [`cpu_memory`](Self::cpu_memory).
    pub fn read_without_fds(&self, boot_time: Option<u64>) -> Result<ProcessStats, Error> {
        let cpu = self.cpu_memory()?;
        let start_time = boot_time.map(|boot| {
            SystemTime::UNIX_EPOCH
                + Duration::from_secs(boot)
                + Duration::from_millis(
                    cpu.start_ticks.saturating_mul(1000) / self.ticks_per_second,
                )
        });
        Ok(ProcessStats {
            cpu_seconds: cpu.cpu_seconds,
            cpu_percent: 0.0,
            resident_bytes: cpu.resident_bytes,
            virtual_bytes: cpu.virtual_bytes,
            open_fds: 0,
            max_fds: max_fds(),
            threads: cpu.threads,
            start_time,
        })
    }
}

/// Counts the entries of a `/proc/<pid>/fd` directory, less the one the
/// listing itself holds open.
fn count_fds(dir: &Path) -> Result<u64, Error> {
    let entries = std::fs::read_dir(dir).map_err(|err| Error::read(dir, err))?;
    let count = entries.filter(Result::is_ok).count() as u64;
    Ok(count.saturating_sub(1))
}

/// The soft `RLIMIT_NOFILE`.
fn max_fds() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}
