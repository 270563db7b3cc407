//! Start-up process limits, checked against /proc/self/limits.

use pr_resources::{CoreDumps, OpenFiles, ProcessLimits};

fn proc_limit(name: &str) -> (String, String) {
    let text = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = text.lines().find(|l| l.starts_with(name)).unwrap();
    let words: Vec<&str> = line[name.len()..].split_whitespace().collect();
    (words[0].to_owned(), words[1].to_owned())
}

fn show(v: Option<u64>) -> String {
    v.map_or_else(|| "unlimited".to_owned(), |v| v.to_string())
}

#[test]
fn apply_raises_open_files_and_disables_core_dumps() {
    let report = ProcessLimits::default().apply().unwrap();
    assert_eq!(report.changes.len(), 2);
    let files = &report.changes[0];
    assert_eq!(files.resource, "open_files");
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // An unlimited hard limit is capped at fs.nr_open.
    assert_eq!(files.after.soft, Some(files.after.hard.unwrap_or(nr_open)));
    let (soft, hard) = proc_limit("Max open files");
    assert_eq!(
        (show(files.after.soft), show(files.after.hard)),
        (soft, hard)
    );
    let core = &report.changes[1];
    assert_eq!(core.after.soft, Some(0));
    assert_eq!(proc_limit("Max core file size").0, "0");
    assert!(report.to_string().contains("open_files"), "{report}");

    let again = ProcessLimits::default()
        .open_files(OpenFiles::Keep)
        .core_dumps(CoreDumps::Keep)
        .apply()
        .unwrap();
    assert!(again.changes.iter().all(|c| !c.changed()));
    assert!(again.to_string().contains("(unchanged)"));
    let at_least = ProcessLimits::default()
        .open_files(OpenFiles::AtLeast(64))
        .apply()
        .unwrap();
    assert_eq!(at_least.changes[0].after, files.after, "already above 64");
}
