//! Helpers: a shared in-memory writer, reading every line of an output's
//! files (compressed or not); temporary directories come from
//! `pr_test_support::temp_dir`.

use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pr_logging::{Every, FileConfig, LoggingConfig, RetentionConfig, RotationConfig};

/// A cloneable in-memory writer.
#[derive(Clone, Default)]
pub(crate) struct Buf(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Buf {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    pub(crate) fn lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A config with no console and no files.
pub(crate) fn quiet() -> LoggingConfig {
    let mut config = LoggingConfig::default();
    config.console.enabled = false;
    config.filter = "trace".to_owned();
    config
}

/// A synchronous, uncompressed file output without time rotation.
pub(crate) fn plain_file(path: PathBuf) -> FileConfig {
    let mut file = FileConfig::new(path);
    file.queue = None;
    file.compress = false;
    file.rotation = RotationConfig::default();
    file.rotation.every = Every::Never;
    file.rotation.max_size = None;
    file.retention = RetentionConfig::default();
    file.retention.max_files = None;
    file.retention.max_age = None;
    file
}

/// The file names in `dir`, sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A file's text, decompressing `.gz`.
pub(crate) fn read(path: &Path) -> String {
    let mut text = String::new();
    let file = std::fs::File::open(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
    } else {
        let mut file = file;
        file.read_to_string(&mut text).unwrap();
    }
    text
}

/// Every line of every file in `dir` whose name starts with `stem`.
pub(crate) fn all_lines(dir: &Path, stem: &str) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with(stem))
        .flat_map(|n| {
            read(&dir.join(n))
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// 2026-11-23T10:00:00Z.
pub(crate) const T0: u64 = 1_795_428_000;
