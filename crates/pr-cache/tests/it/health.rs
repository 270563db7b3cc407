//! The file cache's health check: up, degraded after failed writes, down
//! when its directory no longer takes writes.

use pr_cache::{FileCache, FileCacheCheck};
use pr_health::{Check, Status};

use pr_test_support::temp_dir;

#[tokio::test(flavor = "current_thread")]
async fn file_cache_check_follows_the_directory() {
    let dir = temp_dir("health");
    let cache = FileCache::builder(dir.path()).build().unwrap();
    let check = FileCacheCheck::new(cache.clone());
    assert!(check.name().starts_with("cache:"));
    assert!(!Check::critical(&check));
    assert_eq!(check.check().await.status(), Status::Up);

    std::fs::remove_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp"), b"not a directory").unwrap();
    assert!(cache.insert("k", b"v").is_err());
    let down = check.check().await;
    assert_eq!(down.status(), Status::Down, "{down:?}");

    std::fs::remove_file(dir.path().join("tmp")).unwrap();
    std::fs::create_dir(dir.path().join("tmp")).unwrap();
    assert_eq!(check.check().await.status(), Status::Up);
    std::fs::remove_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp"), b"x").unwrap();
    assert!(cache.insert("k", b"v").is_err());
    std::fs::remove_file(dir.path().join("tmp")).unwrap();
    std::fs::create_dir(dir.path().join("tmp")).unwrap();
    assert_eq!(check.check().await.status(), Status::Degraded);
    assert_eq!(check.check().await.status(), Status::Up);
    assert!(Check::critical(&FileCacheCheck::new(cache).critical(true)));
}
