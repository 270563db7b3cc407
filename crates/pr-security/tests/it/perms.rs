//! Permission and environment checks on real files.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use pr_errors::CodedError;
use pr_security::Severity;
use pr_security::environment::EnvironmentCheck;
use pr_security::files::PermissionPolicy;

use pr_test_support::temp_dir;

fn file(dir: &Path, name: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, "x").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn codes(policy: PermissionPolicy, path: &Path) -> Vec<&'static str> {
    policy
        .check(path)
        .unwrap()
        .findings
        .iter()
        .map(|f| f.code)
        .collect()
}

#[test]
fn secret_policy() {
    let tmp = temp_dir("security-perms");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let secret = PermissionPolicy::secret();
    assert!(codes(secret, &file(tmp.path(), "a", 0o600)).is_empty());
    assert!(codes(secret, &file(tmp.path(), "b", 0o400)).is_empty());
    assert_eq!(
        codes(secret, &file(tmp.path(), "c", 0o640)),
        ["perm.group_accessible"]
    );
    assert_eq!(
        codes(secret, &file(tmp.path(), "d", 0o644)),
        ["perm.world_readable"]
    );
    assert_eq!(
        codes(secret, &file(tmp.path(), "e", 0o666)),
        [
            "perm.world_writable",
            "perm.group_writable",
            "perm.world_readable"
        ]
    );
    let err = secret.enforce(tmp.path().join("d")).unwrap_err();
    assert_eq!(err.code().as_str(), "security.insecure_permissions");
    assert!(err.to_string().contains("perm.world_readable"), "{err}");
    secret.enforce(tmp.path().join("a")).unwrap();
}

#[test]
fn config_policy_parent_and_links() {
    let tmp = temp_dir("security-perms");
    let open_dir = tmp.path().join("open");
    std::fs::create_dir(&open_dir).unwrap();
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let config = PermissionPolicy::config();
    let report = config.check(file(&open_dir, "app.toml", 0o644)).unwrap();
    assert!(report.has("perm.parent_world_writable"), "{report}");
    assert_eq!(report.worst(), Some(Severity::Critical));

    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    assert!(
        codes(config, &open_dir.join("app.toml")).is_empty(),
        "sticky directories are fine"
    );
    assert!(
        codes(config, &open_dir).is_empty(),
        "a sticky world-writable directory is fine"
    );

    let link = tmp.path().join("link.toml");
    symlink(open_dir.join("app.toml"), &link).unwrap();
    assert_eq!(codes(config, &link), ["perm.symlink"]);
    assert_eq!(
        codes(config, &file(tmp.path(), "g", 0o664)),
        ["perm.group_writable"]
    );
    assert!(config.check(tmp.path().join("missing")).is_err());
}

#[test]
fn foreign_owner_is_reported() {
    let tmp = temp_dir("security-perms");
    let path = file(tmp.path(), "owned", 0o600);
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&path, Some(12_345), None).unwrap();
        assert_eq!(
            codes(PermissionPolicy::secret(), &path),
            ["perm.foreign_owner"]
        );
    } else {
        assert!(codes(PermissionPolicy::secret(), &path).is_empty());
    }
}

#[test]
fn environment_report_includes_file_findings() {
    let tmp = temp_dir("security-env");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let report = EnvironmentCheck::new()
        .config_file(file(tmp.path(), "app.toml", 0o666))
        .secret_file(file(tmp.path(), "key.pem", 0o644))
        .secret_file(tmp.path().join("missing.pem"))
        .args(["svc"])
        .run();
    assert!(report.has("perm.world_writable"), "{report}");
    assert!(report.has("perm.world_readable"), "{report}");
    assert!(report.has("env.file_unreadable"), "{report}");
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"severity\":\"critical\""), "{json}");
}

#[test]
fn secret_files() {
    use pr_security::files::read_secret_file;
    let tmp = temp_dir("security-secret");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = tmp.path().join("token");
    std::fs::write(&path, "abc\r\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(read_secret_file(&path).unwrap().expose(), "abc");

    // Through a symbolic link, as Kubernetes mounts secrets: the target is judged.
    let link = tmp.path().join("link");
    symlink(&path, &link).unwrap();
    assert_eq!(read_secret_file(&link).unwrap().expose(), "abc");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = read_secret_file(&link).unwrap_err();
    assert_eq!(err.code().as_str(), "security.insecure_permissions");
    assert!(!err.to_string().contains("abc"));

    let binary = file(tmp.path(), "binary", 0o600);
    std::fs::write(&binary, [0xff, 0xfe]).unwrap();
    assert_eq!(
        read_secret_file(&binary).unwrap_err().code().as_str(),
        "security.malformed"
    );
    assert_eq!(
        read_secret_file(tmp.path()).unwrap_err().code().as_str(),
        "security.malformed"
    );
    assert_eq!(
        read_secret_file(tmp.path().join("missing"))
            .unwrap_err()
            .code()
            .as_str(),
        "security.io"
    );

    let big = file(tmp.path(), "big", 0o600);
    std::fs::write(&big, vec![b'a'; 1024 * 1024 + 1]).unwrap();
    assert_eq!(
        read_secret_file(&big).unwrap_err().code().as_str(),
        "security.malformed"
    );
}
