//! `SafeRoot` on real directories: symlink escapes (to a parent, absolute,
//! chained) are refused by both resolvers; links inside the root work with
//! the kernel resolver.

use std::io::{Read, Write};
use std::os::unix::fs::{PermissionsExt, symlink};

use pr_errors::CodedError;
use pr_security::files::{EntryKind, OpenMode, Resolver, SafeRoot};

use pr_test_support::{TempDir, temp_dir};

fn setup() -> (TempDir, SafeRoot) {
    let tmp = temp_dir("security-root");
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(tmp.path().join("secret.txt"), "OUTSIDE").unwrap();
    std::fs::create_dir_all(tmp.path().join("outdir")).unwrap();
    std::fs::write(tmp.path().join("outdir/file"), "OUTSIDE").unwrap();
    std::fs::write(root.join("sub/inside.txt"), "INSIDE").unwrap();
    symlink("..", root.join("up")).unwrap();
    symlink("../secret.txt", root.join("to_secret")).unwrap();
    symlink(tmp.path().join("secret.txt"), root.join("abs_secret")).unwrap();
    symlink(tmp.path().join("outdir"), root.join("abs_dir")).unwrap();
    symlink("hop2", root.join("hop1")).unwrap();
    symlink("sub/../../secret.txt", root.join("hop2")).unwrap();
    symlink("/etc/passwd", root.join("etc_passwd")).unwrap();
    symlink("sub/inside.txt", root.join("inner_link")).unwrap();
    let safe = SafeRoot::open(&root).unwrap();
    (tmp, safe)
}

fn read(root: &SafeRoot, path: &str) -> Result<String, pr_security::Error> {
    let mut text = String::new();
    root.open_file(path)?.read_to_string(&mut text).unwrap();
    Ok(text)
}

#[test]
fn symlink_escapes_are_refused() {
    let (_tmp, root) = setup();
    for resolver in [Resolver::Auto, Resolver::Walk] {
        let root = SafeRoot::open(root.path()).unwrap().with_resolver(resolver);
        for escape in [
            "up/secret.txt",
            "to_secret",
            "abs_secret",
            "abs_dir/file",
            "hop1",
            "hop2",
            "etc_passwd",
            "sub/../../secret.txt",
            "../secret.txt",
            "/etc/passwd",
        ] {
            let err = read(&root, escape).expect_err(escape);
            assert_eq!(
                err.code().as_str(),
                "security.path_escape",
                "{escape} ({resolver:?}): {err}"
            );
        }
        assert_eq!(read(&root, "sub/inside.txt").unwrap(), "INSIDE");
        assert_eq!(read(&root, "./sub/inside.txt").unwrap(), "INSIDE");
    }
}

#[test]
fn links_inside_follow_only_with_the_kernel_resolver() {
    let (_tmp, root) = setup();
    let kernel_ok = read(&root, "inner_link");
    // Kernels without openat2 fall back to the walk, which refuses every link.
    if let Ok(text) = kernel_ok {
        assert_eq!(text, "INSIDE");
    }
    let walk = SafeRoot::open(root.path())
        .unwrap()
        .with_resolver(Resolver::Walk);
    assert_eq!(
        read(&walk, "inner_link").unwrap_err().code().as_str(),
        "security.path_escape"
    );
}

#[test]
fn create_write_list_and_permissions() {
    let (_tmp, root) = setup();
    root.create_dir_all("a/b/c").unwrap();
    root.create_dir_all("a/b/c").unwrap();
    root.create("a/b/c/new.txt")
        .unwrap()
        .write_all(b"hi")
        .unwrap();
    let meta = std::fs::metadata(root.path().join("a/b/c/new.txt")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(
        root.open_with("a/b/c/new.txt", OpenMode::CREATE_NEW)
            .is_err()
    );
    root.open_with("a/b/c/new.txt", OpenMode::APPEND)
        .unwrap()
        .write_all(b"!")
        .unwrap();
    assert_eq!(read(&root, "a/b/c/new.txt").unwrap(), "hi!");
    let sub = root.open_dir("a/b").unwrap();
    assert_eq!(read(&sub, "c/new.txt").unwrap(), "hi!");
    assert!(sub.open_file("../../sub/inside.txt").is_err());

    let names: Vec<(String, EntryKind)> = root
        .list("")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    assert!(names.contains(&("a".to_owned(), EntryKind::Dir)));
    assert!(names.contains(&("up".to_owned(), EntryKind::Symlink)));
    assert!(!names.iter().any(|(n, _)| n == "." || n == ".."));
    let listed = root.list("a/b/c").unwrap();
    assert_eq!(listed[0].name, "new.txt");
    assert_eq!(listed[0].raw_name(), b"new.txt");
    assert_eq!(listed[0].kind, EntryKind::File);
    root.open_with("a/shared.txt", OpenMode::CREATE.with_permissions(0o640))
        .unwrap()
        .write_all(b"x")
        .unwrap();
    let mode = std::fs::metadata(root.path().join("a/shared.txt"))
        .unwrap()
        .permissions()
        .mode();
    // The umask may take bits away, never add them.
    assert_eq!(mode & 0o777 & !0o640, 0);

    // Creating through an escaping link is refused and writes nothing outside.
    assert!(root.create("up/created.txt").is_err());
    assert!(!root.path().join("../created.txt").exists());
    assert!(root.create_dir("up/newdir").is_err());
    assert!(root.create_dir_all("abs_dir/x").is_err());
    assert!(root.list("up").is_err());
}

#[test]
fn errors_name_the_path_and_code() {
    let (_tmp, root) = setup();
    let err = root.open_file("missing.txt").unwrap_err();
    assert_eq!(err.code().as_str(), "security.io");
    assert!(err.to_string().contains("missing.txt"), "{err}");
    let err = root.open_file("").unwrap_err();
    assert_eq!(err.code().as_str(), "security.path_escape");
    assert!(SafeRoot::open("/definitely/not/here").is_err());
}
