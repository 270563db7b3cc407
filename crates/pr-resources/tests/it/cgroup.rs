//! Cgroup discovery and ancestor walks on fixture trees of v1 and v2 layouts.

use pr_resources::CgroupDir;
use pr_resources::{CgroupVersion, Cgroups};

use crate::fixture::Fixture;

const V1_UNLIMITED: &str = "9223372036854771712\n";

/// This machine's layout: v1 controllers, memory in a nested cgroup whose
/// limits are all the v1 "unlimited" value, no CPU quota, plus an empty v2
/// unified mount.
#[test]
fn v1_hybrid_unlimited_like_this_machine() {
    let fx = Fixture::new("v1-hybrid");
    fx.file(
        "cgroup",
        "9:name=systemd:/\n4:memory:/process_api/2106\n3:cpuset:/\n1:cpu:/\n0::/\n",
    )
    .file(
        "mountinfo",
        "32 31 0:29 / {root}/sys/cpu rw,relatime - cgroup cgroup rw,cpu\n\
         34 31 0:31 / {root}/sys/cpuset rw,relatime - cgroup cgroup rw,cpuset\n\
         35 31 0:32 / {root}/sys/memory rw,relatime - cgroup cgroup rw,memory\n\
         40 31 0:37 / {root}/sys/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
         41 31 0:38 / {root}/sys/unified rw,relatime - cgroup2 cgroup2 rw\n",
    )
    .file("sys/unified/cgroup.controllers", "\n")
    .file("sys/memory/memory.limit_in_bytes", V1_UNLIMITED)
    .file("sys/memory/process_api/memory.limit_in_bytes", V1_UNLIMITED)
    .file(
        "sys/memory/process_api/2106/memory.limit_in_bytes",
        V1_UNLIMITED,
    )
    .file(
        "sys/memory/process_api/2106/memory.soft_limit_in_bytes",
        V1_UNLIMITED,
    )
    .file(
        "sys/memory/process_api/2106/memory.usage_in_bytes",
        "123456789\n",
    )
    .file(
        "sys/memory/process_api/2106/memory.max_usage_in_bytes",
        "223456789\n",
    )
    .file("sys/cpu/cpu.cfs_quota_us", "-1\n")
    .file("sys/cpu/cpu.cfs_period_us", "100000\n")
    .file("sys/cpuset/cpuset.cpus", "0-1\n");
    let cgroups = Cgroups::discover_at(fx.proc()).unwrap();
    let memory = cgroups.memory.as_ref().unwrap();
    assert_eq!(memory.version, CgroupVersion::V1);
    assert_eq!(memory.leaf, fx.path("sys/memory/process_api/2106"));
    assert_eq!(memory.ancestors().count(), 3);
    let stats = cgroups.read(8).unwrap();
    assert_eq!(stats.version, Some(CgroupVersion::V1));
    assert_eq!(
        stats.memory_limit, None,
        "the v1 unlimited value is no limit"
    );
    assert_eq!(stats.memory_high, None);
    assert_eq!(stats.memory_usage, Some(123_456_789));
    assert_eq!(stats.memory_peak, Some(223_456_789));
    assert_eq!(stats.cpu_quota_us, None);
    assert_eq!(stats.cpuset_cpus, Some(2));
    assert_eq!(stats.effective_cpus, 2.0);
    assert_eq!((stats.cpu_floor, stats.cpu_ceiling), (2, 2));
}

/// v2 with nested quotas: the parent's limits are tighter than the leaf's
/// for memory, the leaf's tighter for CPU; `max` at other levels.
#[test]
fn v2_nested_quotas_take_the_smallest_ancestor() {
    let fx = Fixture::new("v2-nested");
    fx.file("cgroup", "0::/kubepods/pod1/app\n")
        .file(
            "mountinfo",
            "29 23 0:26 / {root}/cg rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n\
             22 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
        )
        .file("cg/cgroup.controllers", "cpuset cpu io memory pids\n")
        .file("cg/kubepods/memory.max", "max\n")
        .file("cg/kubepods/cpu.max", "max 100000\n")
        .file("cg/kubepods/pod1/memory.max", "536870912\n")
        .file("cg/kubepods/pod1/memory.high", "max\n")
        .file("cg/kubepods/pod1/cpu.max", "300000 100000\n")
        .file("cg/kubepods/pod1/app/memory.max", "1073741824\n")
        .file("cg/kubepods/pod1/app/memory.high", "402653184\n")
        .file("cg/kubepods/pod1/app/memory.current", "104857600\n")
        .file("cg/kubepods/pod1/app/memory.peak", "209715200\n")
        .file("cg/kubepods/pod1/app/cpu.max", "150000 100000\n")
        .file("cg/kubepods/pod1/app/cpuset.cpus.effective", "0-7\n")
        .file(
            "cg/kubepods/pod1/app/memory.pressure",
            "some avg10=12.50 avg60=3.00 avg300=1.00 total=99\nfull avg10=2.00 avg60=1.00 avg300=0.00 total=9\n",
        )
        .file(
            "cg/kubepods/pod1/app/cpu.pressure",
            "some avg10=40.00 avg60=30.00 avg300=20.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        );
    let cgroups = Cgroups::discover_at(fx.proc()).unwrap();
    for dir in [&cgroups.memory, &cgroups.cpu, &cgroups.cpuset] {
        let dir: &CgroupDir = dir.as_ref().unwrap();
        assert_eq!(dir.version, CgroupVersion::V2);
        assert_eq!(dir.leaf, fx.path("cg/kubepods/pod1/app"));
    }
    let stats = cgroups.read(16).unwrap();
    assert_eq!(
        stats.memory_limit,
        Some(536_870_912),
        "parent's limit binds"
    );
    assert_eq!(stats.memory_high, Some(402_653_184));
    assert_eq!(stats.memory_usage, Some(104_857_600));
    assert_eq!(stats.memory_peak, Some(209_715_200));
    assert_eq!(
        (stats.cpu_quota_us, stats.cpu_period_us),
        (Some(150_000), Some(100_000))
    );
    assert_eq!(stats.cpuset_cpus, Some(8));
    assert_eq!(stats.effective_cpus, 1.5);
    assert_eq!((stats.cpu_floor, stats.cpu_ceiling), (1, 2));
    assert_eq!(stats.memory_pressure.unwrap().some.avg10, 12.5);
    assert_eq!(stats.cpu_pressure.unwrap().some.total_us, 12_345);
}

/// A quota on an ancestor binds a leaf that has none; the cpuset caps a
/// larger quota; a quota below one CPU still gives a floor of 1.
#[test]
fn v1_quota_on_ancestor_and_cpuset_cap() {
    let fx = Fixture::new("v1-ancestor");
    fx.file(
        "cgroup",
        "5:cpu,cpuacct:/docker/abc/inner\n4:cpuset:/docker/abc/inner\n",
    )
    .file(
        "mountinfo",
        "32 31 0:29 / {root}/sys/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
             34 31 0:31 / {root}/sys/cpuset rw - cgroup cgroup rw,cpuset\n",
    )
    .file("sys/cpu,cpuacct/docker/cpu.cfs_quota_us", "-1\n")
    .file("sys/cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n")
    .file("sys/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "400000\n")
    .file("sys/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    .file("sys/cpu,cpuacct/docker/abc/inner/cpu.cfs_quota_us", "-1\n")
    .file(
        "sys/cpu,cpuacct/docker/abc/inner/cpu.cfs_period_us",
        "100000\n",
    )
    .file("sys/cpuset/docker/abc/inner/cpuset.cpus", "0,2\n");
    let cgroups = Cgroups::discover_at(fx.proc()).unwrap();
    assert!(cgroups.memory.is_none(), "no memory controller mounted");
    let stats = cgroups.read(64).unwrap();
    assert_eq!(stats.cpu_quota_us, Some(400_000));
    assert_eq!(stats.effective_cpus, 2.0, "cpuset of 2 caps a quota of 4");
    assert_eq!(stats.memory_limit, None);

    std::fs::write(
        fx.path("sys/cpu,cpuacct/docker/abc/inner/cpu.cfs_quota_us"),
        "25000\n",
    )
    .unwrap();
    let stats = cgroups.read(64).unwrap();
    assert_eq!(stats.effective_cpus, 0.25);
    assert_eq!((stats.cpu_floor, stats.cpu_ceiling), (1, 1));
}

/// A container whose mount root is its own cgroup (no cgroup namespace):
/// `/proc/self/cgroup` shows the full path, the mount shows only the subtree.
#[test]
fn container_mount_root_is_stripped() {
    let fx = Fixture::new("v2-container");
    fx.file("cgroup", "0::/system.slice/docker-1.scope\n")
        .file(
            "mountinfo",
            "29 23 0:26 /system.slice/docker-1.scope {root}/cg ro - cgroup2 cgroup2 rw\n",
        )
        .file("cg/cgroup.controllers", "memory cpu\n")
        .file("cg/memory.max", "268435456\n")
        .file("cg/memory.current", "1000\n")
        .file("cg/cpu.max", "max 100000\n");
    let cgroups = Cgroups::discover_at(fx.proc()).unwrap();
    assert_eq!(cgroups.memory.as_ref().unwrap().leaf, fx.path("cg"));
    assert!(
        cgroups.cpuset.is_none(),
        "cpuset not enabled in cgroup.controllers"
    );
    let stats = cgroups.read(4).unwrap();
    assert_eq!(stats.memory_limit, Some(268_435_456));
    assert_eq!(stats.effective_cpus, 4.0);
}

/// Missing controllers, missing files and no cgroup file at all are not
/// errors; a malformed file is, with a code naming the file.
#[test]
fn missing_controller_and_malformed_files() {
    let empty = Fixture::new("none");
    assert_eq!(
        Cgroups::discover_at(empty.proc()).unwrap(),
        Cgroups::default()
    );
    let stats = Cgroups::default().read(3).unwrap();
    assert_eq!(stats.version, None);
    assert_eq!(stats.effective_cpus, 3.0);

    let fx = Fixture::new("v2-no-memory");
    fx.file("cgroup", "0::/app\n")
        .file(
            "mountinfo",
            "29 23 0:26 / {root}/cg rw - cgroup2 cgroup2 rw\n",
        )
        .file("cg/cgroup.controllers", "cpu pids\n")
        .file("cg/app/cpu.max", "lots 100000\n");
    let cgroups = Cgroups::discover_at(fx.proc()).unwrap();
    assert!(cgroups.memory.is_none());
    let err = cgroups.read(2).unwrap_err();
    assert_eq!(
        pr_errors::CodedError::code(&err).as_str(),
        "resources.parse_failed"
    );
    assert!(err.to_string().contains("cpu.max"), "{err}");

    let bad = Fixture::new("bad-proc");
    bad.file("cgroup", "not a cgroup line\n")
        .file("mountinfo", "");
    let err = Cgroups::discover_at(bad.proc()).unwrap_err();
    assert!(err.to_string().contains("cgroup"), "{err}");
}
