//! Real reads on this machine, compared with `/proc` (and `df`) read
//! independently here.

use std::path::Path;
use std::time::{Duration, SystemTime};

use pr_resources::{Cgroups, DiskUsage, ProcessReader, SystemReader};

fn field(path: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text.lines().find(|l| l.starts_with(key)).unwrap();
    line[key.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn stat_fields() -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &text[text.rfind(')').unwrap() + 2..];
    // Index 0 is field 3 (state).
    after.split_whitespace().map(str::to_owned).collect()
}

fn close(a: u64, b: u64, tolerance: u64) -> bool {
    a.abs_diff(b) <= tolerance
}

#[test]
fn process_agrees_with_proc() {
    let reader = ProcessReader::new().unwrap();
    let boot = field("/proc/stat", "btime");
    let ours = reader.read(Some(boot)).unwrap();

    // Resident memory: /proc/self/status reports it in kB, independently.
    let rss = field("/proc/self/status", "VmRSS:") * 1024;
    assert!(
        close(ours.resident_bytes, rss, 16 << 20),
        "ours {} vs VmRSS {rss}",
        ours.resident_bytes
    );
    let vsz = field("/proc/self/status", "VmSize:") * 1024;
    assert!(
        close(ours.virtual_bytes, vsz, 256 << 20),
        "ours {} vs VmSize {vsz}",
        ours.virtual_bytes
    );
    let threads = field("/proc/self/status", "Threads:");
    assert!(
        close(ours.threads, threads, 16),
        "ours {} vs {threads}",
        ours.threads
    );

    // CPU seconds and start time from the stat fields, by hand.
    let fields = stat_fields();
    let ticks = reader.ticks_per_second();
    let cpu: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    #[expect(clippy::cast_precision_loss, reason = "test arithmetic")]
    let cpu = cpu as f64 / ticks as f64;
    assert!(
        (ours.cpu_seconds - cpu).abs() < 1.0,
        "ours {} vs {cpu}",
        ours.cpu_seconds
    );
    let start_ticks: u64 = fields[19].parse().unwrap();
    let start = SystemTime::UNIX_EPOCH
        + Duration::from_secs(boot)
        + Duration::from_millis(start_ticks * 1000 / ticks);
    assert_eq!(ours.start_time, Some(start));
    assert!(start <= SystemTime::now());

    // File descriptors: the soft limit from /proc/self/limits, the count by
    // listing /proc/self/fd (other tests open files meanwhile).
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let ours_max = ours
        .max_fds
        .map_or_else(|| "unlimited".to_owned(), |m| m.to_string());
    // The limits test may raise the soft limit to the hard one meanwhile.
    assert!(
        ours_max == words[3] || ours_max == words[4],
        "ours {ours_max} vs {line}"
    );
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64 - 1;
    assert!(
        close(ours.open_fds, fds, 24),
        "ours {} vs {fds}",
        ours.open_fds
    );
}

#[test]
fn cpu_memory_refresh_tracks_work() {
    let reader = ProcessReader::new().unwrap();
    let before = reader.cpu_memory().unwrap();
    let mut x = 0_u64;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(30) {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
    let after = reader.cpu_memory().unwrap();
    assert!(after.cpu_seconds >= before.cpu_seconds);
    assert!(after.resident_bytes > 0 && after.threads >= 1);
}

#[test]
fn system_agrees_with_proc() {
    let mut reader = SystemReader::new();
    let ours = reader.read().unwrap();
    assert_eq!(
        ours.memory_total,
        field("/proc/meminfo", "MemTotal:") * 1024
    );
    assert_eq!(ours.swap_total, field("/proc/meminfo", "SwapTotal:") * 1024);
    let available = field("/proc/meminfo", "MemAvailable:") * 1024;
    assert!(close(ours.memory_available, available, 512 << 20));
    assert_eq!(ours.boot_time, field("/proc/stat", "btime"));
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let processors = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(ours.cpus, processors);
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((ours.load_average[0] - load).abs() < 2.0);
    assert_eq!(
        ours.pressure.is_some(),
        Path::new("/proc/pressure").is_dir()
    );
    let second = reader.read().unwrap();
    assert!((0.0..=100.0).contains(&second.cpu_percent));
}

#[test]
fn cgroups_agree_with_proc() {
    let cgroups = Cgroups::discover().unwrap();
    let stats = cgroups
        .read(std::thread::available_parallelism().unwrap().get())
        .unwrap();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    if let Some(line) = own.lines().find(|l| {
        l.split(':')
            .nth(1)
            .is_some_and(|c| c.split(',').any(|c| c == "memory"))
    }) {
        // cgroup v1 memory controller, as on this machine.
        let path = line.splitn(3, ':').nth(2).unwrap();
        let dir = Path::new("/sys/fs/cgroup/memory").join(path.trim_start_matches('/'));
        if dir.is_dir() {
            assert_eq!(cgroups.memory.as_ref().unwrap().leaf, dir);
            let raw: u64 = std::fs::read_to_string(dir.join("memory.limit_in_bytes"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            if raw >= 1 << 62 {
                assert_eq!(stats.memory_limit, None);
            } else {
                assert!(stats.memory_limit.unwrap() <= raw);
            }
            let usage: u64 = std::fs::read_to_string(dir.join("memory.usage_in_bytes"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert!(close(stats.memory_usage.unwrap(), usage, 512 << 20));
        }
    }
    assert!(stats.effective_cpus > 0.0);
    assert!(stats.cpu_floor >= 1 && stats.cpu_floor <= stats.cpu_ceiling);
}

#[test]
fn disk_agrees_with_df() {
    let ours = DiskUsage::of("/").unwrap();
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=size,avail", "/"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let numbers: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(ours.total, numbers[0]);
    assert!(
        close(ours.available, numbers[1], 1 << 30),
        "ours {} vs df {}",
        ours.available,
        numbers[1]
    );
    assert!((0.0..=1.0).contains(&ours.used_ratio()));
    let err = DiskUsage::of("/no/such/path/here").unwrap_err();
    assert_eq!(
        pr_errors::CodedError::code(&err).as_str(),
        "resources.read_failed"
    );
}
