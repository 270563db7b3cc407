//! GPUs through NVML: present on a machine with an NVIDIA driver and
//! device, `Absent` (a state, not an error) elsewhere.

use std::path::Path;

use pr_resources::{GpuReader, GpuState};

#[test]
fn gpu_capability_matches_the_machine() {
    let state = GpuReader::new().read();
    let has_driver = Path::new("/dev/nvidiactl").exists() && Path::new("/dev/nvidia0").exists();
    match &state {
        GpuState::Absent { reason } => {
            eprintln!("GPU absent: {reason}");
            assert!(
                !has_driver,
                "an NVIDIA device is present but NVML read none: {reason}"
            );
            assert!(!reason.is_empty());
        }
        GpuState::Present(devices) => {
            for d in devices {
                eprintln!(
                    "GPU {}: {} memory {} / {} bytes, utilization {:?} %, temperature {:?} C, {} processes",
                    d.index,
                    d.name,
                    d.memory_used,
                    d.memory_total,
                    d.utilization_percent,
                    d.temperature_celsius,
                    d.processes.len()
                );
                assert!(!d.name.is_empty());
                assert!(d.memory_total > 0 && d.memory_used <= d.memory_total);
            }
            assert!(has_driver || !devices.is_empty());
        }
        _ => panic!("unknown state"),
    }
    assert!(state.is_absent() == state.devices().is_empty());
}
