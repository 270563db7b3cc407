//! Control groups, v1 and v2: which cgroup the process is in for each
//! controller, and the limits of that cgroup and of every ancestor.
//!
//! A limit set on any ancestor binds the process, so the effective memory
//! limit is the smallest over the path from the process's cgroup up to the
//! hierarchy's root, and the effective CPU count the smallest quota / period
//! on that path, capped by the cpuset.

use std::io;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::procfs::{Pressure, parse_pressure};

/// Values at or above this count as "no limit" in cgroup v1 memory files.
///
/// v1 writes "unlimited" as `PAGE_COUNTER_MAX` times the page size, which is
/// `i64::MAX` rounded down to a page: 9223372036854771712 with 4 KiB pages,
/// 9223372036854710272 with 64 KiB pages. No machine has 4 EiB of memory.
pub(crate) const V1_UNLIMITED_FLOOR: u64 = 1 << 62;

/// The cgroup hierarchy version of a controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CgroupVersion {
    /// Legacy hierarchies, one per controller (or group of controllers).
    V1,
    /// The unified hierarchy.
    V2,
}

/// One line of `/proc/<pid>/cgroup`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct CgroupEntry {
    /// Hierarchy id (0 for v2).
    pub id: u32,
    /// Controllers of a v1 hierarchy (`cpu`, `cpuacct`, `name=systemd`); empty for v2.
    pub controllers: Vec<String>,
    /// Path of the cgroup inside its hierarchy.
    pub path: String,
}

/// Parses `/proc/<pid>/cgroup`.
///
/// # Errors
///
/// A description of the malformed line.
pub(crate) fn parse_proc_cgroup(text: &str) -> Result<Vec<CgroupEntry>, String> {
    let mut entries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("`{line}` is not id:controllers:path"));
        };
        let id = id
            .parse()
            .map_err(|_| format!("hierarchy id is not a number: `{id}`"))?;
        entries.push(CgroupEntry {
            id,
            controllers: controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
            path: path.to_owned(),
        });
    }
    Ok(entries)
}

/// A cgroup filesystem mount from `/proc/<pid>/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct CgroupMount {
    /// `cgroup` (v1) or `cgroup2` (v2).
    pub version: CgroupVersion,
    /// Controllers of a v1 mount (from its super options).
    pub controllers: Vec<String>,
    /// The cgroup path mounted (`/` unless in a container without cgroup namespaces).
    pub root: String,
    /// Where it is mounted.
    pub mount_point: PathBuf,
}

/// The v1 controllers a mount's super options can name.
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "net_cls",
    "net_prio",
    "perf_event",
    "hugetlb",
    "rdma",
    "misc",
];

/// Parses the cgroup mounts of `/proc/<pid>/mountinfo`.
///
/// # Errors
///
/// A description of the malformed line.
pub(crate) fn parse_mountinfo(text: &str) -> Result<Vec<CgroupMount>, String> {
    let mut mounts = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (left, right) = line
            .split_once(" - ")
            .ok_or_else(|| format!("no ` - ` separator in `{line}`"))?;
        let mut right = right.split_ascii_whitespace();
        let version = match right.next() {
            Some("cgroup") => CgroupVersion::V1,
            Some("cgroup2") => CgroupVersion::V2,
            _ => continue,
        };
        let _source = right.next();
        let options = right.next().unwrap_or_default();
        let left: Vec<&str> = left.split_ascii_whitespace().collect();
        let (Some(root), Some(mount_point)) = (left.get(3), left.get(4)) else {
            return Err(format!("fewer than 5 fields before ` - ` in `{line}`"));
        };
        let controllers = options
            .split(',')
            .filter(|o| V1_CONTROLLERS.contains(o))
            .map(str::to_owned)
            .collect();
        mounts.push(CgroupMount {
            version,
            controllers,
            root: unescape(root),
            mount_point: PathBuf::from(unescape(mount_point)),
        });
    }
    Ok(mounts)
}

/// Decodes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = bytes[i + 1..i + 4]
                .iter()
                .fold(0_u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where one controller's cgroup of the process lives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgroupDir {
    /// The hierarchy version.
    pub version: CgroupVersion,
    /// The process's own cgroup directory.
    pub leaf: PathBuf,
    /// The hierarchy's mount point: the walk over ancestors stops here.
    pub top: PathBuf,
}

impl CgroupDir {
    /// The directories from the leaf up to the top, leaf first.
    pub fn ancestors(&self) -> impl Iterator<Item = &Path> {
        self.leaf
            .ancestors()
            .take_while(move |dir| dir.starts_with(&self.top))
    }
}

/// The cgroups of the process for the memory, cpu and cpuset controllers.
/// `None` where the controller is not mounted (a missing controller).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cgroups {
    /// The memory controller's cgroup.
    pub memory: Option<CgroupDir>,
    /// The cpu controller's cgroup (CFS quota).
    pub cpu: Option<CgroupDir>,
    /// The cpuset controller's cgroup.
    pub cpuset: Option<CgroupDir>,
}

impl Cgroups {
    /// Finds the current process's cgroups from `/proc/self`.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] or [`Error::Parse`] for `/proc/self/cgroup` or
    /// `/proc/self/mountinfo`. A machine without cgroups gives empty
    /// [`Cgroups`], not an error.
    pub fn discover() -> Result<Self, Error> {
        Self::discover_at(Path::new("/proc/self"))
    }

    /// Like [`discover`](Self::discover), reading `cgroup` and `mountinfo`
    /// under `proc_dir` (a fixture, or `/proc/<pid>`).
    ///
    /// # Errors
    ///
    /// As [`discover`](Self::discover).
    pub fn discover_at(proc_dir: &Path) -> Result<Self, Error> {
        let cgroup_path = proc_dir.join("cgroup");
        let cgroup = match std::fs::read_to_string(&cgroup_path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(err) => return Err(Error::read(cgroup_path, err)),
        };
        let mountinfo_path = proc_dir.join("mountinfo");
        let mountinfo = std::fs::read_to_string(&mountinfo_path)
            .map_err(|err| Error::read(&mountinfo_path, err))?;
        let entries = parse_proc_cgroup(&cgroup).map_err(|what| Error::parse(cgroup_path, what))?;
        let mounts =
            parse_mountinfo(&mountinfo).map_err(|what| Error::parse(mountinfo_path, what))?;
        Ok(Self::resolve(&entries, &mounts))
    }

    /// Resolves each controller's directory from parsed entries and mounts.
    /// A v2 controller counts only where the unified hierarchy's root lists
    /// it in `cgroup.controllers` (read from disk).
    #[must_use]
    pub(crate) fn resolve(entries: &[CgroupEntry], mounts: &[CgroupMount]) -> Self {
        let find = |controller: &str| -> Option<CgroupDir> {
            // v1: a hierarchy holding the controller.
            for entry in entries
                .iter()
                .filter(|e| e.controllers.iter().any(|c| c == controller))
            {
                if let Some(mount) = mounts.iter().find(|m| {
                    m.version == CgroupVersion::V1 && m.controllers.iter().any(|c| c == controller)
                }) {
                    return Some(dir(CgroupVersion::V1, mount, &entry.path));
                }
            }
            // v2: the unified hierarchy, where the controller is enabled.
            let entry = entries
                .iter()
                .find(|e| e.id == 0 && e.controllers.is_empty())?;
            let mount = mounts.iter().find(|m| m.version == CgroupVersion::V2)?;
            let enabled = std::fs::read_to_string(mount.mount_point.join("cgroup.controllers"))
                .unwrap_or_default();
            enabled
                .split_ascii_whitespace()
                .any(|c| c == controller)
                .then(|| dir(CgroupVersion::V2, mount, &entry.path))
        };
        Self {
            memory: find("memory"),
            cpu: find("cpu"),
            cpuset: find("cpuset"),
        }
    }

    /// Reads the limits and usage of every controller found, walking the
    /// ancestors for limits. `online_cpus` caps the CPU count (pass the
    /// machine's CPU count).
    ///
    /// # Errors
    ///
    /// [`Error::Read`] for a file that exists but cannot be read,
    /// [`Error::Parse`] for one with unexpected content. Missing files mean
    /// "no limit at this level".
    pub fn read(&self, online_cpus: usize) -> Result<CgroupStats, Error> {
        let mut stats = CgroupStats {
            version: self
                .memory
                .as_ref()
                .or(self.cpu.as_ref())
                .map(|d| d.version),
            ..CgroupStats::default()
        };
        if let Some(memory) = &self.memory {
            let (limit_file, high_file, usage_file, peak_file) = match memory.version {
                CgroupVersion::V1 => (
                    "memory.limit_in_bytes",
                    "memory.soft_limit_in_bytes",
                    "memory.usage_in_bytes",
                    "memory.max_usage_in_bytes",
                ),
                CgroupVersion::V2 => ("memory.max", "memory.high", "memory.current", "memory.peak"),
            };
            for level in memory.ancestors() {
                if let Some(limit) = read_limit(&level.join(limit_file))? {
                    stats.memory_limit = Some(stats.memory_limit.map_or(limit, |l| l.min(limit)));
                }
                if let Some(high) = read_limit(&level.join(high_file))? {
                    stats.memory_high = Some(stats.memory_high.map_or(high, |h| h.min(high)));
                }
            }
            stats.memory_usage = read_limit(&memory.leaf.join(usage_file))?;
            if memory.version == CgroupVersion::V2 {
                stats.memory_pressure = read_pressure(&memory.leaf.join("memory.pressure"))?;
            }
            stats.memory_peak = read_limit(&memory.leaf.join(peak_file))?;
        }
        let mut quota_cpus: Option<f64> = None;
        if let Some(cpu) = &self.cpu {
            if cpu.version == CgroupVersion::V2 {
                stats.cpu_pressure = read_pressure(&cpu.leaf.join("cpu.pressure"))?;
            }
            for level in cpu.ancestors() {
                let quota = match cpu.version {
                    CgroupVersion::V1 => {
                        let quota = read_text(&level.join("cpu.cfs_quota_us"))?;
                        let period = read_text(&level.join("cpu.cfs_period_us"))?;
                        match (quota, period) {
                            (Some(q), Some(p)) => parse_quota_v1(&q, &p).map_err(|what| {
                                Error::parse(level.join("cpu.cfs_quota_us"), what)
                            })?,
                            _ => None,
                        }
                    }
                    CgroupVersion::V2 => match read_text(&level.join("cpu.max"))? {
                        Some(text) => parse_cpu_max(&text)
                            .map_err(|what| Error::parse(level.join("cpu.max"), what))?,
                        None => None,
                    },
                };
                if let Some((q, p)) = quota {
                    #[expect(clippy::cast_precision_loss, reason = "microseconds well below 2^52")]
                    let cpus = q as f64 / p as f64;
                    if quota_cpus.is_none_or(|c| cpus < c) {
                        quota_cpus = Some(cpus);
                        stats.cpu_quota_us = Some(q);
                        stats.cpu_period_us = Some(p);
                    }
                }
            }
        }
        let mut cpuset_cpus = None;
        if let Some(cpuset) = &self.cpuset {
            let names: &[&str] = match cpuset.version {
                CgroupVersion::V1 => &["cpuset.effective_cpus", "cpuset.cpus"],
                CgroupVersion::V2 => &["cpuset.cpus.effective", "cpuset.cpus"],
            };
            'levels: for level in cpuset.ancestors() {
                for name in names {
                    if let Some(text) = read_text(&level.join(name))?
                        && !text.trim().is_empty()
                    {
                        let count = parse_cpu_list(&text)
                            .map_err(|what| Error::parse(level.join(name), what))?;
                        cpuset_cpus = Some(count);
                        break 'levels;
                    }
                }
            }
        }
        stats.cpuset_cpus = cpuset_cpus;
        let machine = cpuset_cpus
            .map_or(online_cpus, |c| c.min(online_cpus))
            .max(1);
        #[expect(clippy::cast_precision_loss, reason = "CPU counts are small")]
        let machine_f = machine as f64;
        let effective = quota_cpus.map_or(machine_f, |q| q.min(machine_f));
        stats.effective_cpus = effective;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "effective is positive and at most the CPU count"
        )]
        {
            stats.cpu_floor = (effective.floor() as usize).max(1);
            stats.cpu_ceiling = (effective.ceil() as usize).clamp(1, machine);
        }
        Ok(stats)
    }
}

fn dir(version: CgroupVersion, mount: &CgroupMount, path: &str) -> CgroupDir {
    let relative = if mount.root == "/" {
        path
    } else {
        // Outside the mounted subtree (a cgroup namespace shows `/`): use
        // the mount point itself.
        path.strip_prefix(mount.root.as_str()).unwrap_or("")
    };
    let relative = relative.trim_start_matches('/');
    CgroupDir {
        version,
        leaf: if relative.is_empty() {
            mount.mount_point.clone()
        } else {
            mount.mount_point.join(relative)
        },
        top: mount.mount_point.clone(),
    }
}

fn read_text(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::read(path, err)),
    }
}

fn read_pressure(path: &Path) -> Result<Option<Pressure>, Error> {
    match read_text(path) {
        Ok(Some(text)) => parse_pressure(&text)
            .map(Some)
            .map_err(|what| Error::parse(path, what)),
        // PSI files exist but refuse reads when the kernel runs with psi=0.
        Ok(None) | Err(_) => Ok(None),
    }
}

fn read_limit(path: &Path) -> Result<Option<u64>, Error> {
    match read_text(path)? {
        Some(text) => parse_limit(&text).map_err(|what| Error::parse(path, what)),
        None => Ok(None),
    }
}

/// Parses a memory value: a number of bytes, `max` (v2) or `-1` for no
/// limit, and values from [`V1_UNLIMITED_FLOOR`] up as no limit (v1).
///
/// # Errors
///
/// A description of the malformed value.
pub(crate) fn parse_limit(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text == "max" || text == "-1" {
        return Ok(None);
    }
    let value: u64 = text
        .parse()
        .map_err(|_| format!("not a number of bytes or `max`: `{text}`"))?;
    Ok((value < V1_UNLIMITED_FLOOR).then_some(value))
}

/// Parses cgroup v2 `cpu.max` (`"max 100000"` or `"50000 100000"`) into
/// quota and period in microseconds; `None` for no quota.
///
/// # Errors
///
/// A description of the malformed value.
pub(crate) fn parse_cpu_max(text: &str) -> Result<Option<(u64, u64)>, String> {
    let mut words = text.split_ascii_whitespace();
    let quota = words.next().ok_or_else(|| "empty".to_owned())?;
    let period = words.next().unwrap_or("100000");
    let period: u64 = period
        .parse()
        .map_err(|_| format!("period is not a number: `{period}`"))?;
    if quota == "max" {
        return Ok(None);
    }
    let quota: u64 = quota
        .parse()
        .map_err(|_| format!("quota is not a number or `max`: `{quota}`"))?;
    if period == 0 {
        return Err("period is 0".to_owned());
    }
    Ok(Some((quota, period)))
}

/// Parses cgroup v1 `cpu.cfs_quota_us` (`-1` for no quota) and
/// `cpu.cfs_period_us`.
///
/// # Errors
///
/// A description of the malformed value.
pub(crate) fn parse_quota_v1(quota: &str, period: &str) -> Result<Option<(u64, u64)>, String> {
    let (quota, period) = (quota.trim(), period.trim());
    let quota: i64 = quota
        .parse()
        .map_err(|_| format!("quota is not a number: `{quota}`"))?;
    let period: u64 = period
        .parse()
        .map_err(|_| format!("period is not a number: `{period}`"))?;
    match u64::try_from(quota) {
        Ok(_) if period == 0 => Err("period is 0".to_owned()),
        Ok(quota) => Ok(Some((quota, period))),
        Err(_) => Ok(None),
    }
}

/// Counts the CPUs in a cpuset list such as `0-3,8,10-11`.
///
/// # Errors
///
/// A description of the malformed range.
pub(crate) fn parse_cpu_list(text: &str) -> Result<usize, String> {
    let mut count = 0_usize;
    for range in text.trim().split(',').filter(|r| !r.is_empty()) {
        let (low, high) = range.split_once('-').unwrap_or((range, range));
        let low: usize = low
            .parse()
            .map_err(|_| format!("not a CPU number: `{low}`"))?;
        let high: usize = high
            .parse()
            .map_err(|_| format!("not a CPU number: `{high}`"))?;
        if high < low {
            return Err(format!("range `{range}` goes down"));
        }
        count = count.saturating_add(high - low + 1);
    }
    Ok(count)
}

/// Limits and usage of the process's cgroups, effective over all ancestors.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct CgroupStats {
    /// Version of the memory (or else cpu) controller; `None` without cgroups.
    pub version: Option<CgroupVersion>,
    /// Smallest memory limit on the path to the root, in bytes; `None` for none.
    pub memory_limit: Option<u64>,
    /// Smallest throttling mark (v2 `memory.high`, v1 soft limit), in bytes.
    pub memory_high: Option<u64>,
    /// Memory charged to the process's cgroup, in bytes.
    pub memory_usage: Option<u64>,
    /// Highest memory usage recorded (v2 `memory.peak`, v1 `max_usage_in_bytes`).
    pub memory_peak: Option<u64>,
    /// CFS quota of the binding level, in microseconds per period.
    pub cpu_quota_us: Option<u64>,
    /// CFS period of the binding level, in microseconds.
    pub cpu_period_us: Option<u64>,
    /// CPUs in the cpuset.
    pub cpuset_cpus: Option<usize>,
    /// Memory pressure of the cgroup (v2 `memory.pressure`).
    pub memory_pressure: Option<Pressure>,
    /// CPU pressure of the cgroup (v2 `cpu.pressure`), including throttling
    /// by the quota.
    pub cpu_pressure: Option<Pressure>,
    /// CPUs the process may use: the smallest quota / period over the
    /// ancestors, capped by the cpuset and the machine. May be fractional.
    pub effective_cpus: f64,
    /// The effective CPU count rounded down, at least 1: threads that can
    /// run at once without being throttled.
    pub cpu_floor: usize,
    /// The effective CPU count rounded up: the most threads worth running.
    pub cpu_ceiling: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit("max\n"), Ok(None));
        assert_eq!(parse_limit("-1"), Ok(None));
        assert_eq!(parse_limit("9223372036854771712\n"), Ok(None));
        assert_eq!(parse_limit("9223372036854710272"), Ok(None));
        assert_eq!(parse_limit("536870912\n"), Ok(Some(536_870_912)));
        assert!(parse_limit("lots").is_err());
    }

    #[test]
    fn cpu_quotas() {
        assert_eq!(parse_cpu_max("max 100000\n"), Ok(None));
        assert_eq!(
            parse_cpu_max("150000 100000\n"),
            Ok(Some((150_000, 100_000)))
        );
        assert!(parse_cpu_max("x 100").is_err());
        assert!(parse_cpu_max("1 0").is_err());
        assert_eq!(parse_quota_v1("-1\n", "100000\n"), Ok(None));
        assert_eq!(
            parse_quota_v1("50000", "100000"),
            Ok(Some((50_000, 100_000)))
        );
        assert!(parse_quota_v1("a", "1").is_err());
        assert_eq!(parse_cpu_list("0-3,8,10-11\n"), Ok(7));
        assert_eq!(parse_cpu_list(""), Ok(0));
        assert!(parse_cpu_list("3-1").is_err());
    }

    #[test]
    fn proc_cgroup_and_mountinfo() {
        let entries = parse_proc_cgroup(
            "4:memory:/process_api/abc\n2:cpu,cpuacct:/\n1:name=systemd:/\n0::/user.slice\n",
        )
        .unwrap();
        assert_eq!(entries[0].controllers, ["memory"]);
        assert_eq!(entries[1].controllers, ["cpu", "cpuacct"]);
        assert_eq!(entries[3].id, 0);
        assert!(entries[3].controllers.is_empty());
        assert!(parse_proc_cgroup("garbage").is_err());

        let mounts = parse_mountinfo(
            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
             41 31 0:38 /docker/x /sys/fs/cgroup/with\\040space rw - cgroup2 cgroup2 rw\n\
             22 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
        )
        .unwrap();
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].controllers, ["memory"]);
        assert_eq!(mounts[1].version, CgroupVersion::V2);
        assert_eq!(mounts[1].root, "/docker/x");
        assert_eq!(
            mounts[1].mount_point,
            Path::new("/sys/fs/cgroup/with space")
        );
        assert!(parse_mountinfo("1 2 3 - cgroup2 x rw").is_err());
    }

    #[test]
    fn namespaced_root_maps_to_mount_point() {
        let mount = CgroupMount {
            version: CgroupVersion::V2,
            controllers: vec![],
            root: "/docker/abc".to_owned(),
            mount_point: PathBuf::from("/sys/fs/cgroup"),
        };
        assert_eq!(
            dir(CgroupVersion::V2, &mount, "/docker/abc/app").leaf,
            Path::new("/sys/fs/cgroup/app")
        );
        assert_eq!(
            dir(CgroupVersion::V2, &mount, "/").leaf,
            Path::new("/sys/fs/cgroup")
        );
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in ".{0,200}") {
            let _ = parse_proc_cgroup(&text);
            let _ = parse_mountinfo(&text);
            let _ = parse_limit(&text);
            let _ = parse_cpu_max(&text);
            let _ = parse_cpu_list(&text);
            let _ = unescape(&text);
        }

        #[test]
        fn cpu_list_counts(ranges in prop::collection::vec((0_usize..64, 0_usize..8), 1..6)) {
            let text: Vec<String> = ranges.iter().map(|(l, n)| format!("{l}-{}", l + n)).collect();
            let expected: usize = ranges.iter().map(|(_, n)| n + 1).sum();
            prop_assert_eq!(parse_cpu_list(&text.join(",")), Ok(expected));
        }
    }
}
