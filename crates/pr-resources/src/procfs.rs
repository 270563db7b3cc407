//! Parsers of `/proc` files. Each parser takes the file's text and returns
//! typed values or a description of what was missing, so that fixtures test
//! them without a kernel.

/// The fields of `/proc/<pid>/stat` that the sampler uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct ProcStat {
    /// User-mode CPU time, in clock ticks (field 14).
    pub utime_ticks: u64,
    /// Kernel-mode CPU time, in clock ticks (field 15).
    pub stime_ticks: u64,
    /// Number of threads (field 20).
    pub threads: u64,
    /// Start time after boot, in clock ticks (field 22).
    pub start_ticks: u64,
    /// Virtual memory size in bytes (field 23).
    pub virtual_bytes: u64,
    /// Resident set size in pages (field 24).
    pub rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
///
/// # Errors
///
/// A description of the missing or malformed field.
pub(crate) fn parse_proc_stat(text: &str) -> Result<ProcStat, String> {
    let close = text
        .rfind(')')
        .ok_or_else(|| "no `)` closing the command name".to_owned())?;
    // Field 3 (state) is the first after the command name.
    let mut fields = text[close + 1..].split_ascii_whitespace();
    let mut stat = ProcStat::default();
    let mut field = 2;
    let mut next = |want: usize| -> Result<u64, String> {
        let mut value = None;
        while field < want {
            value = fields.next();
            field += 1;
        }
        let value = value.ok_or_else(|| format!("field {want} is missing"))?;
        value
            .parse::<u64>()
            .map_err(|_| format!("field {want} is not an unsigned integer: `{value}`"))
    };
    stat.utime_ticks = next(14)?;
    stat.stime_ticks = next(15)?;
    stat.threads = next(20)?;
    stat.start_ticks = next(22)?;
    stat.virtual_bytes = next(23)?;
    stat.rss_pages = next(24)?;
    Ok(stat)
}

/// Aggregate CPU times of the machine from the `cpu` line of `/proc/stat`,
/// in clock ticks, and the boot time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct CpuTimes {
    /// Ticks spent doing work (everything but idle and iowait).
    pub busy: u64,
    /// All ticks (user, nice, system, idle, iowait, irq, softirq, steal).
    pub total: u64,
    /// Boot time, seconds since the Unix epoch (`btime`).
    pub boot_time: u64,
    /// Number of `cpuN` lines: the CPUs online.
    pub cpus: usize,
}

/// Parses `/proc/stat`: the aggregate `cpu` line and `btime`.
///
/// # Errors
///
/// A description of the missing line or malformed value.
pub(crate) fn parse_cpu_times(text: &str) -> Result<CpuTimes, String> {
    let mut times = CpuTimes::default();
    let mut seen_cpu = false;
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        match words.next() {
            Some("cpu") => {
                let mut values = [0_u64; 8];
                for (i, slot) in values.iter_mut().enumerate() {
                    // Old kernels have fewer columns; missing ones count 0.
                    if let Some(word) = words.next() {
                        *slot = word.parse().map_err(|_| {
                            format!("cpu column {} is not a number: `{word}`", i + 1)
                        })?;
                    }
                }
                let idle = values[3].saturating_add(values[4]);
                times.total = values.iter().fold(0_u64, |sum, v| sum.saturating_add(*v));
                times.busy = times.total.saturating_sub(idle);
                seen_cpu = true;
            }
            Some(word) if word.len() > 3 && word.starts_with("cpu") => times.cpus += 1,
            Some("btime") => {
                let word = words.next().unwrap_or_default();
                times.boot_time = word
                    .parse()
                    .map_err(|_| format!("btime is not a number: `{word}`"))?;
            }
            _ => {}
        }
    }
    if seen_cpu {
        Ok(times)
    } else {
        Err("no `cpu` line".to_owned())
    }
}

/// Memory and swap of the machine from `/proc/meminfo`, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct MemInfo {
    /// `MemTotal`.
    pub total: u64,
    /// `MemFree`.
    pub free: u64,
    /// `MemAvailable` (estimated from `MemFree` + caches on kernels older than 3.14).
    pub available: u64,
    /// `SwapTotal`.
    pub swap_total: u64,
    /// `SwapFree`.
    pub swap_free: u64,
}

/// Parses `/proc/meminfo` (values in kB).
///
/// # Errors
///
/// A description of the missing `MemTotal` or a malformed value.
pub(crate) fn parse_meminfo(text: &str) -> Result<MemInfo, String> {
    let mut info = MemInfo::default();
    let mut available = None;
    let (mut buffers, mut cached) = (0, 0);
    let mut total = None;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "MemTotal" => &mut info.total,
            "MemFree" => &mut info.free,
            "MemAvailable" => &mut info.available,
            "SwapTotal" => &mut info.swap_total,
            "SwapFree" => &mut info.swap_free,
            "Buffers" => &mut buffers,
            "Cached" => &mut cached,
            _ => continue,
        };
        let number = rest.trim().trim_end_matches("kB").trim_end();
        let kb: u64 = number
            .parse()
            .map_err(|_| format!("{key} is not a number: `{number}`"))?;
        *slot = kb.saturating_mul(1024);
        match key {
            "MemAvailable" => available = Some(()),
            "MemTotal" => total = Some(()),
            _ => {}
        }
    }
    if total.is_none() {
        return Err("no `MemTotal` line".to_owned());
    }
    if available.is_none() {
        info.available = info.free.saturating_add(buffers).saturating_add(cached);
    }
    Ok(info)
}

/// Load averages from `/proc/loadavg`.
///
/// # Errors
///
/// A description of the malformed value.
pub(crate) fn parse_loadavg(text: &str) -> Result<[f64; 3], String> {
    let mut out = [0.0; 3];
    let mut words = text.split_ascii_whitespace();
    for (i, slot) in out.iter_mut().enumerate() {
        let word = words
            .next()
            .ok_or_else(|| format!("load average {} is missing", i + 1))?;
        *slot = word
            .parse()
            .map_err(|_| format!("load average {} is not a number: `{word}`", i + 1))?;
    }
    Ok(out)
}

/// One line of a pressure stall information file (`some` or `full`).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct PressureLine {
    /// Share of time stalled over the last 10 s, in percent.
    pub avg10: f64,
    /// Over the last 60 s, in percent.
    pub avg60: f64,
    /// Over the last 300 s, in percent.
    pub avg300: f64,
    /// Total stall time, in microseconds.
    pub total_us: u64,
}

/// Pressure stall information of one resource (`/proc/pressure/<resource>`
/// or a cgroup v2 `<resource>.pressure`).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Pressure {
    /// Some task was stalled.
    pub some: PressureLine,
    /// All non-idle tasks were stalled at once (absent for system CPU on
    /// older kernels: zero then).
    pub full: PressureLine,
}

/// Parses a PSI file.
///
/// # Errors
///
/// A description of the malformed line.
pub(crate) fn parse_pressure(text: &str) -> Result<Pressure, String> {
    let mut pressure = Pressure::default();
    let mut seen_some = false;
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        let target = match words.next() {
            Some("some") => {
                seen_some = true;
                &mut pressure.some
            }
            Some("full") => &mut pressure.full,
            _ => continue,
        };
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("`{word}` is not key=value"))?;
            let bad = || format!("{key} is not a number: `{value}`");
            match key {
                "avg10" => target.avg10 = value.parse().map_err(|_| bad())?,
                "avg60" => target.avg60 = value.parse().map_err(|_| bad())?,
                "avg300" => target.avg300 = value.parse().map_err(|_| bad())?,
                "total" => target.total_us = value.parse().map_err(|_| bad())?,
                _ => {}
            }
        }
    }
    if seen_some {
        Ok(pressure)
    } else {
        Err("no `some` line".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stat_with_odd_command_name() {
        let text = "4242 (my (weird) app) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    150 37 0 0 20 0 7 0 123456 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let stat = parse_proc_stat(text).unwrap();
        assert_eq!(stat.utime_ticks, 150);
        assert_eq!(stat.stime_ticks, 37);
        assert_eq!(stat.threads, 7);
        assert_eq!(stat.start_ticks, 123_456);
        assert_eq!(stat.virtual_bytes, 104_857_600);
        assert_eq!(stat.rss_pages, 2560);
    }

    #[test]
    fn stat_truncated_or_garbage() {
        assert!(
            parse_proc_stat("12 (x) S 1 2 3")
                .unwrap_err()
                .contains("field 14")
        );
        assert!(parse_proc_stat("no paren").is_err());
        let bad = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 0 0 0 0 0 1 0 1 1 1";
        assert!(parse_proc_stat(bad).unwrap_err().contains("`abc`"));
    }

    #[test]
    fn cpu_times_and_btime() {
        let text =
            "cpu  100 5 50 800 20 3 2 1 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\nbtime 1700000000\n";
        let times = parse_cpu_times(text).unwrap();
        assert_eq!(times.total, 981);
        assert_eq!(times.busy, 161);
        assert_eq!(times.boot_time, 1_700_000_000);
        assert_eq!(times.cpus, 1);
        assert!(parse_cpu_times("intr 1\n").is_err());
        assert!(parse_cpu_times("cpu 1 x\n").is_err());
    }

    #[test]
    fn meminfo_with_and_without_available() {
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\nBuffers: 10 kB\nCached: 200 kB\nSwapTotal: 50 kB\nSwapFree: 40 kB\n";
        let info = parse_meminfo(text).unwrap();
        assert_eq!(info.total, 1_024_000);
        assert_eq!(info.available, 600 * 1024);
        assert_eq!(info.swap_free, 40 * 1024);
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n";
        assert_eq!(parse_meminfo(old).unwrap().available, 310 * 1024);
        assert!(parse_meminfo("MemFree: 1 kB\n").is_err());
        assert!(parse_meminfo("MemTotal: lots kB\n").is_err());
    }

    #[test]
    fn loadavg_and_pressure() {
        assert_eq!(
            parse_loadavg("0.50 1.25 2.00 3/456 789\n").unwrap(),
            [0.5, 1.25, 2.0]
        );
        assert!(parse_loadavg("0.5").is_err());
        let psi = parse_pressure(
            "some avg10=1.50 avg60=0.75 avg300=0.10 total=12345\nfull avg10=0.50 avg60=0.25 avg300=0.00 total=678\n",
        )
        .unwrap();
        assert!((psi.some.avg10 - 1.5).abs() < 1e-9);
        assert_eq!(psi.full.total_us, 678);
        assert!(parse_pressure("").is_err());
        assert!(parse_pressure("some avg10=x").is_err());
    }

    proptest! {
        #[test]
        fn stat_parser_never_panics(text in ".{0,300}") {
            let _ = parse_proc_stat(&text);
            let _ = parse_cpu_times(&text);
            let _ = parse_meminfo(&text);
            let _ = parse_loadavg(&text);
            let _ = parse_pressure(&text);
        }

        #[test]
        fn stat_round_trips(comm in "[ -~]{0,20}", utime in any::<u64>(), rss in any::<u64>(), threads in 1_u64..10_000) {
            let text = format!("1 ({comm}) S 1 1 1 0 -1 0 0 0 0 0 {utime} 3 0 0 20 0 {threads} 0 99 4096 {rss} 0");
            let stat = parse_proc_stat(&text).unwrap();
            prop_assert_eq!(stat.utime_ticks, utime);
            prop_assert_eq!(stat.rss_pages, rss);
            prop_assert_eq!(stat.threads, threads);
        }
    }
}
