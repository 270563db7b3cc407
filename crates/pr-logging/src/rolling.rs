//! The rolling file: size and time rotation with a stable current name,
//! retention by count and age, background gzip, reopen after an external
//! move, and recovery from write errors.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::Error;
use crate::stats::Counters;
use crate::time::{Period, Tz, file_stamp, parse_file_stamp, period_bounds, unix_parts};
use pr_core::time::Clock;

/// How often (on the clock) the current path is checked for an external
/// move, and how long to wait before reopening after a write error.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Buffered bytes past which the buffer is written out.
const BUF_LIMIT: usize = 64 * 1024;

/// A rolling file's fixed settings.
#[derive(Debug)]
pub(crate) struct FileSettings {
    pub(crate) path: PathBuf,
    pub(crate) dir: PathBuf,
    /// `app` for `app.log`.
    pub(crate) stem: String,
    /// `.log` for `app.log`, empty when there is no extension.
    pub(crate) ext: String,
    pub(crate) max_bytes: Option<u64>,
    pub(crate) period: Option<Period>,
    pub(crate) max_files: Option<usize>,
    pub(crate) max_age: Option<Duration>,
    pub(crate) compress: bool,
    pub(crate) mode: u32,
    pub(crate) tz: Tz,
}

impl FileSettings {
    #[expect(
        clippy::too_many_arguments,
        reason = "an internal constructor fed from config"
    )]
    pub(crate) fn new(
        path: &Path,
        max_bytes: Option<u64>,
        period: Option<Period>,
        max_files: Option<usize>,
        max_age: Option<Duration>,
        compress: bool,
        mode: u32,
        tz: Tz,
    ) -> Self {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("log")
            .to_owned();
        let (stem, ext) = match name.rfind('.') {
            Some(dot) if dot > 0 => (name[..dot].to_owned(), name[dot..].to_owned()),
            _ => (name, String::new()),
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self {
            path: path.to_path_buf(),
            dir,
            stem,
            ext,
            max_bytes,
            period,
            max_files,
            max_age,
            compress,
            mode,
            tz,
        }
    }

    /// Whether `name` is one of this output's rotated files (compressed or
    /// not, finished or not).
    pub(crate) fn is_rotated(&self, name: &str) -> bool {
        let Some(rest) = name.strip_prefix(self.stem.as_str()) else {
            return false;
        };
        let Some(rest) = rest.strip_prefix('.') else {
            return false;
        };
        let rest = rest.strip_suffix(".gz").unwrap_or(rest);
        let Some(middle) = rest.strip_suffix(self.ext.as_str()) else {
            return false;
        };
        // <stamp>[.<n>] where stamp = 8 digits T 6 digits then Z or ±hhmm.
        let stamp = middle.split('.').next().unwrap_or("");
        let b = stamp.as_bytes();
        b.len() >= 16
            && b[..8].iter().all(u8::is_ascii_digit)
            && b[8] == b'T'
            && b[9..15].iter().all(u8::is_ascii_digit)
            && (b[15] == b'Z' || b[15] == b'+' || b[15] == b'-')
            && middle[stamp.len()..]
                .strip_prefix('.')
                .is_none_or(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    }

    fn rotated_name(&self, stamp: &str, n: u32) -> PathBuf {
        let name = if n == 0 {
            format!("{}.{stamp}{}", self.stem, self.ext)
        } else {
            format!("{}.{stamp}.{n}{}", self.stem, self.ext)
        };
        self.dir.join(name)
    }

    /// Where a rotated file sorts: its stamp as Unix seconds, then its
    /// number within that stamp.
    fn order_key(&self, name: &str) -> (i64, u64) {
        let rest = name
            .get(self.stem.len() + 1..)
            .unwrap_or("")
            .trim_end_matches(".gz");
        let rest = rest.strip_suffix(self.ext.as_str()).unwrap_or(rest);
        let mut parts = rest.split('.');
        let stamp = parts.next().and_then(parse_file_stamp).unwrap_or(i64::MIN);
        let n = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        (stamp, n)
    }

    /// The rotated files, newest first (by the stamp and number in their
    /// names, then modification time).
    pub(crate) fn rotated_files(&self) -> Vec<(PathBuf, SystemTime)> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<(PathBuf, SystemTime)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(|n| self.is_rotated(n)))
            .filter_map(|e| {
                let modified = e.metadata().ok()?.modified().ok()?;
                Some((e.path(), modified))
            })
            .collect();
        let key =
            |path: &Path| self.order_key(path.file_name().and_then(|n| n.to_str()).unwrap_or(""));
        files.sort_by(|a, b| key(&b.0).cmp(&key(&a.0)).then_with(|| b.1.cmp(&a.1)));
        files
    }
}

/// Applies retention: keeps at most `max_files` rotated files and none
/// older than `max_age` on `now`. Restart-safe: it reads the directory.
pub(crate) fn enforce_retention(settings: &FileSettings, now: SystemTime, counters: &Counters) {
    if settings.max_files.is_none() && settings.max_age.is_none() {
        return;
    }
    for (i, (path, modified)) in settings.rotated_files().into_iter().enumerate() {
        let too_many = settings.max_files.is_some_and(|max| i >= max);
        let too_old = settings
            .max_age
            .is_some_and(|age| now.duration_since(modified).is_ok_and(|d| d > age));
        if (too_many || too_old) && remove(&path) {
            counters.add_deleted();
        }
    }
}

fn remove(path: &Path) -> bool {
    match fs::remove_file(path) {
        Ok(()) => true,
        Err(e) => {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(target: "pr_logging", event = "logging.old_file_delete_failed", path = %path.display(), error = %e, "could not delete an old log file");
            }
            false
        }
    }
}

/// Gzips `path` into `path.gz` (through a temporary file, keeping the
/// modification time) and removes `path`.
#[cfg(feature = "gzip")]
pub(crate) fn compress_file(path: &Path) -> io::Result<PathBuf> {
    let mut gz_name = path.as_os_str().to_owned();
    gz_name.push(".gz");
    let gz = PathBuf::from(gz_name);
    let mut tmp_name = gz.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut input = File::open(path)?;
    let meta = input.metadata()?;
    let modified = meta.modified()?;
    {
        let out = create_file(&tmp, file_mode(&meta))?;
        let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        io::copy(&mut input, &mut encoder)?;
        let out = encoder.finish()?;
        out.sync_all()?;
        out.set_modified(modified)?;
    }
    fs::rename(&tmp, &gz)?;
    fs::remove_file(path)?;
    Ok(gz)
}

/// Without feature `gzip` nothing compresses: a file output asking for it
/// is refused when the configuration is validated (`files.N.compress`), so
/// no compression thread starts; were one asked to, it fails each file as a
/// write error naming the feature rather than skip it.
#[cfg(not(feature = "gzip"))]
pub(crate) fn compress_file(_path: &Path) -> io::Result<PathBuf> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "gzip compression needs pr-logging's `gzip` feature",
    ))
}

#[cfg(all(unix, feature = "gzip"))]
fn file_mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o777
}

#[cfg(all(not(unix), feature = "gzip"))]
fn file_mode(_meta: &fs::Metadata) -> u32 {
    0o640
}

#[cfg(feature = "gzip")]
fn create_file(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

enum Job {
    Compress(PathBuf, Arc<FileSettings>, Arc<Counters>, Clock),
    Barrier(mpsc::SyncSender<()>),
    Stop,
}

/// The background thread that compresses rotated files and then applies
/// retention.
#[derive(Debug)]
pub(crate) struct Compressor {
    tx: mpsc::Sender<Job>,
    handle: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl Compressor {
    pub(crate) fn start() -> Result<Self, Error> {
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("pr-logging-gzip".to_owned())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let (path, settings, counters, clock) = match job {
                        Job::Compress(path, settings, counters, clock) => {
                            (path, settings, counters, clock)
                        }
                        Job::Barrier(done) => {
                            let _ = done.send(());
                            continue;
                        }
                        Job::Stop => break,
                    };
                    match compress_file(&path) {
                        Ok(_) => counters.add_compressed(),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => {
                            counters.add_write_error();
                            tracing::warn!(target: "pr_logging", event = "logging.rotated_file_compress_failed", path = %path.display(), error = %e, "could not compress a rotated log file");
                        }
                    }
                    enforce_retention(&settings, clock.wall(), &counters);
                }
            })
            .map_err(|e| Error::io("pr-logging-gzip", "start the compression thread", e))?;
        Ok(Self {
            tx,
            handle: std::sync::Mutex::new(Some(handle)),
        })
    }

    fn send(
        &self,
        path: PathBuf,
        settings: &Arc<FileSettings>,
        counters: &Arc<Counters>,
        clock: &Clock,
    ) {
        let _ = self.tx.send(Job::Compress(
            path,
            Arc::clone(settings),
            Arc::clone(counters),
            clock.clone(),
        ));
    }

    /// Waits until the work queued so far is done.
    pub(crate) fn wait(&self) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.tx.send(Job::Barrier(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }

    /// Finishes queued work and stops the thread.
    pub(crate) fn stop(&self) {
        let _ = self.tx.send(Job::Stop);
        let handle = pr_core::sync::lock(&self.handle).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

/// The current file of one output and what it takes to rotate it.
#[derive(Debug)]
pub(crate) struct RollingFile {
    settings: Arc<FileSettings>,
    clock: Clock,
    counters: Arc<Counters>,
    compressor: Option<Arc<Compressor>>,
    file: Option<File>,
    ino: u64,
    size: u64,
    buf: Vec<u8>,
    /// Lines in `buf`.
    buffered: u64,
    /// Start of what the current file covers (period start, or open time).
    started: i64,
    next_rollover: Option<i64>,
    next_check: SystemTime,
    retry_at: Option<SystemTime>,
}

impl RollingFile {
    /// Opens (or creates) the current file, applies retention and queues any
    /// rotated file a previous run left uncompressed.
    pub(crate) fn open(
        settings: Arc<FileSettings>,
        clock: Clock,
        counters: Arc<Counters>,
        compressor: Option<Arc<Compressor>>,
    ) -> Result<Self, Error> {
        fs::create_dir_all(&settings.dir)
            .map_err(|e| Error::io(&settings.dir, "create the log directory", e))?;
        let now = clock.wall();
        let mut this = Self {
            settings,
            clock,
            counters,
            compressor,
            file: None,
            ino: 0,
            size: 0,
            buf: Vec::with_capacity(BUF_LIMIT),
            buffered: 0,
            started: unix_parts(now).0,
            next_rollover: None,
            next_check: now + CHECK_EVERY,
            retry_at: None,
        };
        let modified = this
            .open_current()
            .map_err(|e| Error::io(&this.settings.path, "open", e))?;
        // A file left by an earlier run belongs to the period it was written in.
        let covered = if this.size > 0 {
            modified.min(now)
        } else {
            now
        };
        this.set_period(unix_parts(covered).0);
        // A compression cut short by a crash leaves a `.gz.tmp` beside the
        // original, which is still there: drop the temporary and redo it.
        if let Ok(entries) = fs::read_dir(&this.settings.dir) {
            for entry in entries.filter_map(Result::ok) {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name
                    .strip_suffix(".gz.tmp")
                    .is_some_and(|orig| this.settings.is_rotated(orig))
                {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        if this.settings.compress
            && let Some(compressor) = &this.compressor
        {
            for (path, _) in this.settings.rotated_files() {
                if !path.to_string_lossy().ends_with(".gz") {
                    compressor.send(path, &this.settings, &this.counters, &this.clock);
                }
            }
        }
        enforce_retention(&this.settings, now, &this.counters);
        Ok(this)
    }

    fn set_period(&mut self, unix: i64) {
        match self.settings.period {
            Some(period) => {
                let (start, next) = period_bounds(period, unix, &self.settings.tz);
                self.started = start;
                self.next_rollover = Some(next);
            }
            None => {
                self.started = unix;
                self.next_rollover = None;
            }
        }
    }

    /// Opens the current path for appending; a partial last line left by a
    /// crash is cut off so that every line stays whole.
    fn open_current(&mut self) -> io::Result<SystemTime> {
        fs::create_dir_all(&self.settings.dir)?;
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(self.settings.mode);
        }
        let mut file = options.open(&self.settings.path)?;
        let meta = file.metadata()?;
        let mut size = meta.len();
        if size > 0 {
            let keep = whole_lines_len(&mut file, size)?;
            if keep != size {
                file.set_len(keep)?;
                size = keep;
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            self.ino = meta.ino();
        }
        self.size = size;
        self.file = Some(file);
        Ok(meta.modified().unwrap_or_else(|_| self.clock.wall()))
    }

    /// Whether the current file holds no line yet.
    #[cfg(feature = "audit")]
    pub(crate) fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Rotates first if `incoming` bytes would pass the size limit or a
    /// period boundary has passed; reopens after an external move or error.
    pub(crate) fn prepare(&mut self, incoming: usize) {
        let now = self.clock.wall();
        if now >= self.next_check {
            self.next_check = now + CHECK_EVERY;
            self.check_moved();
        }
        if self.file.is_none() {
            if self.retry_at.is_some_and(|at| now < at) {
                return;
            }
            self.retry_at = None;
            if let Err(e) = self.open_current() {
                self.failed(&e, now);
                return;
            }
        }
        let unix = unix_parts(now).0;
        let by_time = self.next_rollover.is_some_and(|next| unix >= next);
        let by_size = self.settings.max_bytes.is_some_and(|max| {
            self.size > 0 && self.size + u64::try_from(incoming).unwrap_or(u64::MAX) > max
        });
        if by_time || by_size {
            self.rotate(now);
            if by_time || self.next_rollover.is_none() {
                self.set_period(unix);
            }
        }
    }

    /// Appends a whole line (with its newline), rotating first if needed.
    pub(crate) fn write_line(&mut self, line: &[u8]) {
        self.prepare(line.len());
        self.append(line);
    }

    /// Appends without rotation checks (after [`Self::prepare`]).
    pub(crate) fn append(&mut self, line: &[u8]) {
        if self.file.is_none() {
            // No file (a failed open waiting for its retry): the line is lost.
            self.counters.add_dropped(1);
            return;
        }
        self.buf.extend_from_slice(line);
        self.buffered += 1;
        self.size += u64::try_from(line.len()).unwrap_or(0);
        self.counters.add_line(line.len());
        if self.buf.len() >= BUF_LIMIT {
            self.flush();
        }
    }

    /// Writes buffered lines out.
    pub(crate) fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let result = match &mut self.file {
            Some(file) => file.write_all(&self.buf),
            None => Err(io::Error::other("no open file")),
        };
        self.buf.clear();
        let lines = std::mem::take(&mut self.buffered);
        match result {
            Ok(()) => self.counters.wrote_ok(),
            Err(e) => {
                self.counters.add_dropped(lines);
                let now = self.clock.wall();
                self.failed(&e, now);
            }
        }
    }

    fn failed(&mut self, error: &io::Error, now: SystemTime) {
        self.counters.add_write_error();
        if self.file.take().is_some() || self.retry_at.is_none() {
            tracing::warn!(target: "pr_logging", event = "logging.file_write_failed", path = %self.settings.path.display(), error = %error, "log file write failed; retrying");
        }
        self.retry_at = Some(now + CHECK_EVERY);
    }

    fn check_moved(&mut self) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let moved = match fs::metadata(&self.settings.path) {
                Ok(meta) => meta.ino() != self.ino,
                Err(_) => true,
            };
            if moved && self.file.is_some() {
                self.flush();
                self.file = None;
                if let Err(e) = self.open_current() {
                    let now = self.clock.wall();
                    self.failed(&e, now);
                } else {
                    self.counters.add_reopen();
                }
            }
        }
    }

    fn rotate(&mut self, now: SystemTime) {
        self.flush();
        if self.size == 0 {
            return;
        }
        self.file = None;
        let stamp = file_stamp(self.started, &self.settings.tz);
        let mut n = 0;
        let target = loop {
            let candidate = self.settings.rotated_name(&stamp, n);
            let mut gz = candidate.as_os_str().to_owned();
            gz.push(".gz");
            if !candidate.exists() && !Path::new(&gz).exists() {
                break candidate;
            }
            n += 1;
        };
        match fs::rename(&self.settings.path, &target) {
            Ok(()) => {
                self.counters.add_rotation();
                tracing::debug!(target: "pr_logging", event = "logging.file_rotated", path = %target.display(), "log file rotated");
            }
            Err(e) => self.failed(&e, now),
        }
        if let Err(e) = self.open_current() {
            self.failed(&e, now);
        }
        match (&self.compressor, self.settings.compress) {
            (Some(compressor), true) => {
                compressor.send(target, &self.settings, &self.counters, &self.clock);
            }
            _ => enforce_retention(&self.settings, now, &self.counters),
        }
    }
}

/// The length of the file's whole lines (up to and including its last
/// newline).
fn whole_lines_len(file: &mut File, size: u64) -> io::Result<u64> {
    let mut pos = size;
    let mut chunk = [0_u8; 4096];
    while pos > 0 {
        let len = pos.min(4096);
        pos -= len;
        file.seek(SeekFrom::Start(pos))?;
        let len_usize = usize::try_from(len).unwrap_or(4096);
        file.read_exact(&mut chunk[..len_usize])?;
        if let Some(at) = chunk[..len_usize].iter().rposition(|b| *b == b'\n') {
            return Ok(pos + u64::try_from(at).unwrap_or(0) + 1);
        }
    }
    Ok(0)
}
