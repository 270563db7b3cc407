//! Where lines go: the console or a rolling file, written by a background
//! thread through a bounded queue (or synchronously by the logging thread),
//! or a custom writer written synchronously.

use std::io::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::Error;
use crate::config::{Stream, WhenFull};
use crate::rolling::RollingFile;
use crate::stats::Counters;

/// A destination of whole lines.
pub(crate) trait Sink: Send + Sync + std::fmt::Debug {
    fn write_line(&self, line: &[u8]);
    /// Writes out what is buffered or queued so far, waiting until
    /// `deadline` at most; returns the lines not written by then.
    fn flush(&self, deadline: Instant) -> u64;
    /// Writes out what is queued and stops background work, waiting until
    /// `deadline` at most; later lines are dropped. Returns the lines lost:
    /// queued but not written by the deadline (also counted as dropped).
    fn shutdown(&self, deadline: Instant) -> u64 {
        self.flush(deadline)
    }
}

/// Where a queue's writer thread writes: the console or a rolling file.
/// Lines are counted as accepted when taken; a failed write counts an
/// error and the lines it loses as dropped.
pub(crate) trait Target: Send + 'static {
    /// Takes a whole line; it may be buffered until [`Target::flush`].
    fn write_line(&mut self, line: &[u8]);
    /// Writes out what is buffered.
    fn flush(&mut self);
}

impl Target for RollingFile {
    fn write_line(&mut self, line: &[u8]) {
        RollingFile::write_line(self, line);
    }

    fn flush(&mut self) {
        RollingFile::flush(self);
    }
}

/// Bytes the console writer gathers before it writes them out at once.
const CONSOLE_BUF: usize = 64 * 1024;

/// Standard output or standard error, written by a queue's writer thread:
/// the lines of a batch in one write.
#[derive(Debug)]
pub(crate) struct ConsoleTarget {
    stream: Stream,
    counters: Arc<Counters>,
    buf: Vec<u8>,
    /// Lines in `buf`.
    buffered: u64,
}

impl ConsoleTarget {
    pub(crate) fn new(stream: Stream, counters: Arc<Counters>) -> Self {
        Self {
            stream,
            counters,
            buf: Vec::with_capacity(CONSOLE_BUF),
            buffered: 0,
        }
    }
}

impl Target for ConsoleTarget {
    fn write_line(&mut self, line: &[u8]) {
        self.buf.extend_from_slice(line);
        self.buffered += 1;
        self.counters.add_line(line.len());
        if self.buf.len() >= CONSOLE_BUF {
            Target::flush(self);
        }
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let result = write_console(self.stream, &self.buf);
        self.buf.clear();
        let lines = std::mem::take(&mut self.buffered);
        match result {
            Ok(()) => self.counters.wrote_ok(),
            Err(_) => {
                self.counters.add_write_error();
                self.counters.add_dropped(lines);
            }
        }
    }
}

fn write_console(stream: Stream, data: &[u8]) -> io::Result<()> {
    match stream {
        Stream::Stdout => {
            let mut out = io::stdout().lock();
            write_whole_lines(&mut out, data)?;
            out.flush()
        }
        Stream::Stderr => write_whole_lines(&mut io::stderr().lock(), data),
    }
}

/// The most bytes a pipe takes in one write, all or nothing (`PIPE_BUF`:
/// 4096 on Linux, POSIX's minimum elsewhere).
const PIPE_ATOMIC: usize = if cfg!(target_os = "linux") { 4096 } else { 512 };

/// Writes `data` (whole lines) in writes of whole lines of at most
/// [`PIPE_ATOMIC`] bytes each. A pipe takes such a write whole or not at
/// all, so when the process exits, or is killed, while its reader lags and a
/// write is blocked, no torn line is left in the pipe. A single longer line
/// is written as it is.
fn write_whole_lines(out: &mut impl io::Write, data: &[u8]) -> io::Result<()> {
    let mut rest = data;
    while !rest.is_empty() {
        let cut = if rest.len() <= PIPE_ATOMIC {
            rest.len()
        } else {
            match rest[..PIPE_ATOMIC].iter().rposition(|&b| b == b'\n') {
                Some(end) => end + 1,
                None => rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |end| end + 1),
            }
        };
        out.write_all(&rest[..cut])?;
        rest = &rest[cut..];
    }
    Ok(())
}

/// Standard output or standard error, written by the logging thread.
#[derive(Debug)]
pub(crate) struct ConsoleSink {
    pub(crate) stream: Stream,
    pub(crate) counters: Arc<Counters>,
}

impl Sink for ConsoleSink {
    fn write_line(&self, line: &[u8]) {
        match write_console(self.stream, line) {
            Ok(()) => {
                self.counters.add_line(line.len());
                self.counters.wrote_ok();
            }
            Err(_) => {
                self.counters.add_write_error();
                self.counters.add_dropped(1);
            }
        }
    }

    fn flush(&self, _deadline: Instant) -> u64 {
        let _ = match self.stream {
            Stream::Stdout => io::stdout().flush(),
            Stream::Stderr => io::stderr().flush(),
        };
        0
    }
}

/// Any `Write` (a test buffer, a socket, `io::sink()`).
pub(crate) struct WriterSink {
    pub(crate) writer: Mutex<Box<dyn io::Write + Send>>,
    pub(crate) counters: Arc<Counters>,
}

impl std::fmt::Debug for WriterSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriterSink")
    }
}

impl Sink for WriterSink {
    fn write_line(&self, line: &[u8]) {
        let result = pr_core::sync::lock(&self.writer).write_all(line);
        match result {
            Ok(()) => {
                self.counters.add_line(line.len());
                self.counters.wrote_ok();
            }
            Err(_) => self.counters.add_write_error(),
        }
    }

    fn flush(&self, _deadline: Instant) -> u64 {
        let _ = pr_core::sync::lock(&self.writer).flush();
        0
    }
}

/// A rolling file written by the logging thread, flushed after each line.
#[derive(Debug)]
pub(crate) struct FileSink {
    pub(crate) file: Mutex<RollingFile>,
}

impl Sink for FileSink {
    fn write_line(&self, line: &[u8]) {
        let mut file = pr_core::sync::lock(&self.file);
        file.write_line(line);
        file.flush();
    }

    fn flush(&self, _deadline: Instant) -> u64 {
        pr_core::sync::lock(&self.file).flush();
        0
    }
}

/// What the threads that log and the writer thread share.
#[derive(Debug, Default)]
struct Progress {
    /// Lines put in the queue.
    sent: AtomicU64,
    /// Lines taken from the queue and written out (or counted as lost to a
    /// write error), published after each batch.
    written: AtomicU64,
    /// New lines are dropped: the sink is shutting down or has shut down.
    closed: AtomicBool,
    /// The writer drains the queue and ends.
    stopping: AtomicBool,
    /// The writer has ended.
    finished: AtomicBool,
    /// Threads waiting in [`Progress::wait`]; the writer wakes them only
    /// when there are any.
    waiters: AtomicUsize,
    lock: Mutex<()>,
    changed: Condvar,
}

impl Progress {
    fn publish(&self, written: u64, finished: bool) {
        self.written.store(written, Ordering::SeqCst);
        if finished {
            self.finished.store(true, Ordering::SeqCst);
        }
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _lock = pr_core::sync::lock(&self.lock);
            self.changed.notify_all();
        }
    }

    /// Lines sent but not yet written.
    fn pending(&self) -> u64 {
        self.sent
            .load(Ordering::SeqCst)
            .saturating_sub(self.written.load(Ordering::SeqCst))
    }

    /// Waits until `done` or `deadline`; whether `done` held.
    fn wait(&self, deadline: Instant, done: impl Fn(&Self) -> bool) -> bool {
        if done(self) {
            return true;
        }
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut lock = pr_core::sync::lock(&self.lock);
        let held = loop {
            if done(self) {
                break true;
            }
            let now = Instant::now();
            if now >= deadline {
                break false;
            }
            lock = self
                .changed
                .wait_timeout(lock, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        drop(lock);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        held
    }
}

/// Lines the writer takes from the queue before it flushes.
const BATCH: usize = 1024;

/// An output written by a background thread through a bounded queue: the
/// thread that logs never waits on the output with `drop`, only on room in
/// the queue with `block`.
///
/// An empty line in the queue only wakes the writer (a line always ends
/// with its newline).
#[derive(Debug)]
pub(crate) struct QueueSink {
    tx: SyncSender<Vec<u8>>,
    when_full: WhenFull,
    counters: Arc<Counters>,
    progress: Arc<Progress>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl QueueSink {
    pub(crate) fn start(
        target: impl Target,
        capacity: usize,
        when_full: WhenFull,
        counters: Arc<Counters>,
    ) -> Result<Self, Error> {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(capacity);
        let progress = Arc::new(Progress::default());
        let shared = Arc::clone(&progress);
        let handle = std::thread::Builder::new()
            .name("pr-logging-writer".to_owned())
            .spawn(move || {
                // The writer's own events (a failed write, a rotation) must not
                // come back into its own queue: with `block` and a full queue
                // it would wait on itself. They are counted in the stats.
                let _no_events = tracing::dispatcher::set_default(&tracing::Dispatch::none());
                run_writer(target, &rx, &shared);
            })
            .map_err(|e| Error::io("pr-logging-writer", "start the writer thread", e))?;
        Ok(Self {
            tx,
            when_full,
            counters,
            progress,
            handle: Mutex::new(Some(handle)),
        })
    }
}

fn run_writer(mut target: impl Target, rx: &Receiver<Vec<u8>>, progress: &Progress) {
    let mut written = 0_u64;
    while let Ok(mut line) = rx.recv() {
        let mut taken = 0;
        loop {
            if !line.is_empty() {
                target.write_line(&line);
                written += 1;
            }
            taken += 1;
            if taken >= BATCH {
                break;
            }
            match rx.try_recv() {
                Ok(next) => line = next,
                Err(_) => break,
            }
        }
        target.flush();
        progress.publish(written, false);
        if progress.stopping.load(Ordering::SeqCst) {
            // New lines are refused now: write out what is left and end.
            while let Ok(line) = rx.try_recv() {
                if !line.is_empty() {
                    target.write_line(&line);
                    written += 1;
                }
            }
            target.flush();
            break;
        }
    }
    progress.publish(written, true);
}

impl Sink for QueueSink {
    fn write_line(&self, line: &[u8]) {
        if self.progress.closed.load(Ordering::Relaxed) {
            self.counters.add_dropped(1);
            return;
        }
        let line = line.to_vec();
        let sent = match self.when_full {
            WhenFull::Block => self.tx.send(line).is_ok(),
            WhenFull::Drop => match self.tx.try_send(line) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
        };
        if sent {
            self.progress.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.add_dropped(1);
        }
    }

    fn flush(&self, deadline: Instant) -> u64 {
        let target = self.progress.sent.load(Ordering::SeqCst);
        let done = |p: &Progress| {
            p.written.load(Ordering::SeqCst) >= target || p.finished.load(Ordering::SeqCst)
        };
        if self.progress.wait(deadline, done) {
            0
        } else {
            target.saturating_sub(self.progress.written.load(Ordering::SeqCst))
        }
    }

    fn shutdown(&self, deadline: Instant) -> u64 {
        let progress = &self.progress;
        if progress.closed.swap(true, Ordering::SeqCst) {
            // Shut down before: what was lost then is counted already.
            return 0;
        }
        progress.stopping.store(true, Ordering::SeqCst);
        // Wakes a writer waiting on an empty queue; a full queue wakes it anyway.
        let _ = self.tx.try_send(Vec::new());
        let finished = progress.wait(deadline, |p| p.finished.load(Ordering::SeqCst));
        if finished {
            let handle = pr_core::sync::lock(&self.handle).take();
            if let Some(handle) = handle {
                let _ = handle.join();
            }
        }
        // Sent after the writer's last look, or still queued at the deadline
        // (the writer is stuck on its output and is left behind).
        let lost = progress.pending();
        if lost > 0 {
            self.counters.add_dropped(lost);
        }
        lost
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

    /// Records each write it is given, as a pipe would see them.
    struct Writes(Vec<Vec<u8>>);

    impl io::Write for Writes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn console_writes_are_whole_lines_a_pipe_takes_at_once() {
        let line = |n: usize| format!("{}\n", "x".repeat(n)).into_bytes();
        let mut data = Vec::new();
        for n in [100, 3000, 2000, 10_000, 10] {
            data.extend(line(n));
        }
        let mut out = Writes(Vec::new());
        write_whole_lines(&mut out, &data).unwrap();
        assert_eq!(out.0.concat(), data, "every byte, in order");
        let sizes: Vec<usize> = out.0.iter().map(Vec::len).collect();
        // 101 + 3001 fit one write; 2001 starts the next; the long line goes alone.
        assert_eq!(sizes, [3102, 2001, 10_001, 11]);
        assert!(out.0.iter().all(|w| w.ends_with(b"\n")));
        let mut none = Writes(Vec::new());
        write_whole_lines(&mut none, b"").unwrap();
        assert!(none.0.is_empty());
    }
    use super::*;
    use std::sync::mpsc::Sender;
    use std::time::Duration;

    /// A target that takes lines until told to stop, then waits on a
    /// channel like an output that does not drain.
    struct Stuck {
        lines: Arc<Mutex<Vec<Vec<u8>>>>,
        stall: Receiver<()>,
        stalled: Sender<()>,
    }

    impl Target for Stuck {
        fn write_line(&mut self, line: &[u8]) {
            self.lines.lock().unwrap().push(line.to_vec());
        }

        fn flush(&mut self) {
            let _ = self.stalled.send(());
            // Blocks until the test ends (the sender is dropped).
            let _ = self.stall.recv();
        }
    }

    #[test]
    fn a_stuck_output_drops_counts_and_shutdown_gives_up_at_the_deadline() {
        let (stall_tx, stall_rx) = mpsc::channel();
        let (stalled_tx, stalled_rx) = mpsc::channel();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let counters = Arc::new(Counters::default());
        let sink = QueueSink::start(
            Stuck {
                lines: Arc::clone(&lines),
                stall: stall_rx,
                stalled: stalled_tx,
            },
            4,
            WhenFull::Drop,
            Arc::clone(&counters),
        )
        .unwrap();
        sink.write_line(b"first\n");
        // The writer took the first line and is stuck flushing it.
        stalled_rx.recv().unwrap();
        for _ in 0..10 {
            sink.write_line(b"more\n");
        }
        // Four fit in the queue; six are dropped.
        assert_eq!(counters.snapshot("t").dropped, 6);
        let now = Instant::now();
        assert_eq!(sink.flush(now), 5);
        assert_eq!(sink.shutdown(now + Duration::from_millis(1)), 5);
        assert_eq!(counters.snapshot("t").dropped, 11);
        // Closed: later lines are dropped at once.
        sink.write_line(b"late\n");
        assert_eq!(counters.snapshot("t").dropped, 12);
        assert_eq!(sink.shutdown(now), 0);
        assert_eq!(lines.lock().unwrap().len(), 1);
        drop(stall_tx);
    }

    /// A target that collects lines in memory.
    struct Collect(Arc<Mutex<Vec<u8>>>);

    impl Target for Collect {
        fn write_line(&mut self, line: &[u8]) {
            self.0.lock().unwrap().extend_from_slice(line);
        }

        fn flush(&mut self) {}
    }

    #[test]
    fn shutdown_writes_out_what_is_queued() {
        let counters = Arc::new(Counters::default());
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = QueueSink::start(
            Collect(Arc::clone(&buf)),
            1024,
            WhenFull::Block,
            Arc::clone(&counters),
        )
        .unwrap();
        for _ in 0..1000 {
            sink.write_line(b"x\n");
        }
        let far = Instant::now() + Duration::from_secs(3600);
        assert_eq!(sink.flush(far), 0);
        assert_eq!(buf.lock().unwrap().len(), 2000);
        sink.write_line(b"y\n");
        assert_eq!(sink.shutdown(far), 0);
        assert_eq!(buf.lock().unwrap().len(), 2002);
        assert_eq!(counters.snapshot("t").dropped, 0);
    }
}
