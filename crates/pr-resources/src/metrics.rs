//! Sampled values through the `metrics` facade (feature `metrics`).
//!
//! Handles are registered once, when the sampler is built; each refresh sets
//! them. Names follow Prometheus practice:
//!
//! - `process_cpu_seconds_total` (counter, whole seconds: the facade's
//!   counters are integers), `process_resident_memory_bytes`,
//!   `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
//!   `process_threads`, `process_start_time_seconds`;
//! - `pr_system_cpu_usage_ratio`, `pr_system_load1`, `pr_system_load5`,
//!   `pr_system_load15`, `pr_system_memory_total_bytes`,
//!   `pr_system_memory_available_bytes`, `pr_system_swap_total_bytes`,
//!   `pr_system_swap_used_bytes`, `pr_system_disk_total_bytes{path}`,
//!   `pr_system_disk_available_bytes{path}`;
//! - `pr_cgroup_memory_limit_bytes`, `pr_cgroup_memory_usage_bytes`,
//!   `pr_cgroup_effective_cpus`;
//! - `pr_gpu_memory_used_bytes{gpu}`, `pr_gpu_memory_total_bytes{gpu}`,
//!   `pr_gpu_utilization_ratio{gpu}`, `pr_gpu_temperature_celsius{gpu}`;
//! - `pr_resources_refresh_cpu_seconds`: CPU time of the last refresh.

use std::time::UNIX_EPOCH;

use metrics::{Counter, Gauge, Unit, counter, describe_counter, describe_gauge, gauge};

use crate::{ResourcesConfig, ResourcesSnapshot};

pub(crate) struct Handles {
    process_cpu_seconds_total: Counter,
    process_resident_memory_bytes: Gauge,
    process_virtual_memory_bytes: Gauge,
    process_open_fds: Gauge,
    process_max_fds: Gauge,
    process_threads: Gauge,
    process_start_time_seconds: Gauge,
    system_cpu: Gauge,
    system_load: [Gauge; 3],
    system_memory_total: Gauge,
    system_memory_available: Gauge,
    system_swap_total: Gauge,
    system_swap_used: Gauge,
    disks: Vec<(Gauge, Gauge)>,
    cgroup_memory_limit: Gauge,
    cgroup_memory_usage: Gauge,
    cgroup_effective_cpus: Gauge,
    gpus: Vec<[Gauge; 4]>,
    refresh_cpu: Gauge,
}

#[expect(clippy::cast_precision_loss, reason = "gauges are f64")]
fn f(value: u64) -> f64 {
    value as f64
}

impl Handles {
    pub(crate) fn new(config: &ResourcesConfig) -> Self {
        describe_counter!(
            "process_cpu_seconds_total",
            Unit::Seconds,
            "Total user and system CPU time spent in seconds."
        );
        describe_gauge!(
            "process_resident_memory_bytes",
            Unit::Bytes,
            "Resident memory size in bytes."
        );
        describe_gauge!(
            "process_virtual_memory_bytes",
            Unit::Bytes,
            "Virtual memory size in bytes."
        );
        describe_gauge!("process_open_fds", "Number of open file descriptors.");
        describe_gauge!(
            "process_max_fds",
            "Maximum number of open file descriptors."
        );
        describe_gauge!("process_threads", "Number of OS threads in the process.");
        describe_gauge!(
            "process_start_time_seconds",
            Unit::Seconds,
            "Start time of the process since unix epoch in seconds."
        );
        describe_gauge!(
            "pr_system_cpu_usage_ratio",
            "Share of all CPUs of the machine in use, 0 to 1."
        );
        describe_gauge!(
            "pr_cgroup_effective_cpus",
            "CPUs the process may use after cgroup quotas and cpusets."
        );
        describe_gauge!(
            "pr_resources_refresh_cpu_seconds",
            Unit::Seconds,
            "CPU time of the last resource refresh."
        );
        for (name, help) in [
            ("pr_system_load1", "Machine load average over 1 minute."),
            ("pr_system_load5", "Machine load average over 5 minutes."),
            ("pr_system_load15", "Machine load average over 15 minutes."),
            (
                "pr_system_memory_total_bytes",
                "Physical memory of the machine in bytes.",
            ),
            (
                "pr_system_memory_available_bytes",
                "Memory available to new work without swapping, in bytes.",
            ),
            (
                "pr_system_swap_total_bytes",
                "Swap space of the machine in bytes.",
            ),
            ("pr_system_swap_used_bytes", "Swap space in use in bytes."),
            (
                "pr_system_disk_total_bytes",
                "Size of the filesystem holding a configured path, in bytes.",
            ),
            (
                "pr_system_disk_available_bytes",
                "Bytes available to unprivileged users on the filesystem holding a configured path.",
            ),
            (
                "pr_cgroup_memory_limit_bytes",
                "Smallest memory limit over the process's cgroup and its ancestors, in bytes.",
            ),
            (
                "pr_cgroup_memory_usage_bytes",
                "Memory charged to the process's cgroup, in bytes.",
            ),
            ("pr_gpu_memory_used_bytes", "GPU memory in use, in bytes."),
            (
                "pr_gpu_memory_total_bytes",
                "GPU memory installed, in bytes.",
            ),
            (
                "pr_gpu_utilization_ratio",
                "Share of time a GPU kernel ran, 0 to 1.",
            ),
            (
                "pr_gpu_temperature_celsius",
                "GPU die temperature in degrees Celsius.",
            ),
        ] {
            describe_gauge!(name, help);
        }
        let disks = config
            .disk_paths
            .iter()
            .map(|path| {
                let labels = [("path", path.display().to_string())];
                (
                    gauge!("pr_system_disk_total_bytes", &labels),
                    gauge!("pr_system_disk_available_bytes", &labels),
                )
            })
            .collect();
        Self {
            process_cpu_seconds_total: counter!("process_cpu_seconds_total"),
            process_resident_memory_bytes: gauge!("process_resident_memory_bytes"),
            process_virtual_memory_bytes: gauge!("process_virtual_memory_bytes"),
            process_open_fds: gauge!("process_open_fds"),
            process_max_fds: gauge!("process_max_fds"),
            process_threads: gauge!("process_threads"),
            process_start_time_seconds: gauge!("process_start_time_seconds"),
            system_cpu: gauge!("pr_system_cpu_usage_ratio"),
            system_load: [
                gauge!("pr_system_load1"),
                gauge!("pr_system_load5"),
                gauge!("pr_system_load15"),
            ],
            system_memory_total: gauge!("pr_system_memory_total_bytes"),
            system_memory_available: gauge!("pr_system_memory_available_bytes"),
            system_swap_total: gauge!("pr_system_swap_total_bytes"),
            system_swap_used: gauge!("pr_system_swap_used_bytes"),
            disks,
            cgroup_memory_limit: gauge!("pr_cgroup_memory_limit_bytes"),
            cgroup_memory_usage: gauge!("pr_cgroup_memory_usage_bytes"),
            cgroup_effective_cpus: gauge!("pr_cgroup_effective_cpus"),
            gpus: Vec::new(),
            refresh_cpu: gauge!("pr_resources_refresh_cpu_seconds"),
        }
    }

    pub(crate) fn update(&mut self, snapshot: &ResourcesSnapshot) {
        let process = &snapshot.process;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "CPU seconds are positive and far below 2^64"
        )]
        self.process_cpu_seconds_total
            .absolute(process.cpu_seconds as u64);
        self.process_resident_memory_bytes
            .set(f(process.resident_bytes));
        self.process_virtual_memory_bytes
            .set(f(process.virtual_bytes));
        self.process_open_fds.set(f(process.open_fds));
        if let Some(max) = process.max_fds {
            self.process_max_fds.set(f(max));
        }
        self.process_threads.set(f(process.threads));
        if let Some(start) = process
            .start_time
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        {
            self.process_start_time_seconds.set(start.as_secs_f64());
        }
        let system = &snapshot.system;
        self.system_cpu.set(system.cpu_percent / 100.0);
        for (gauge, value) in self.system_load.iter().zip(system.load_average) {
            gauge.set(value);
        }
        self.system_memory_total.set(f(system.memory_total));
        self.system_memory_available.set(f(system.memory_available));
        self.system_swap_total.set(f(system.swap_total));
        self.system_swap_used.set(f(system.swap_used));
        for ((total, available), disk) in self.disks.iter().zip(&snapshot.disks) {
            total.set(f(disk.total));
            available.set(f(disk.available));
        }
        if let Some(cgroup) = &snapshot.cgroup {
            if let Some(limit) = cgroup.memory_limit {
                self.cgroup_memory_limit.set(f(limit));
            }
            if let Some(usage) = cgroup.memory_usage {
                self.cgroup_memory_usage.set(f(usage));
            }
            self.cgroup_effective_cpus.set(cgroup.effective_cpus);
        }
        for device in snapshot.gpu.devices() {
            let index = device.index as usize;
            while self.gpus.len() <= index {
                let labels = [("gpu", self.gpus.len().to_string())];
                self.gpus.push([
                    gauge!("pr_gpu_memory_used_bytes", &labels),
                    gauge!("pr_gpu_memory_total_bytes", &labels),
                    gauge!("pr_gpu_utilization_ratio", &labels),
                    gauge!("pr_gpu_temperature_celsius", &labels),
                ]);
            }
            let [used, total, utilization, temperature] = &self.gpus[index];
            used.set(f(device.memory_used));
            total.set(f(device.memory_total));
            if let Some(percent) = device.utilization_percent {
                utilization.set(f64::from(percent) / 100.0);
            }
            if let Some(celsius) = device.temperature_celsius {
                temperature.set(f64::from(celsius));
            }
        }
        self.refresh_cpu.set(snapshot.cost.last_cpu.as_secs_f64());
    }
}
