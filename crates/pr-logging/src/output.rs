//! Where lines go: the console, a custom writer, a rolling file written
//! synchronously, or a rolling file behind a bounded queue.

use std::io::{self, Write as _};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::Error;
use crate::config::{Stream, WhenFull};
use crate::rolling::RollingFile;
use crate::stats::Counters;

/// A destination of whole lines.
pub(crate) trait Sink: Send + Sync + std::fmt::Debug {
    fn write_line(&self, line: &[u8]);
    fn flush(&self);
    /// Flushes and stops background work; later lines are dropped.
    fn shutdown(&self) {
        self.flush();
    }
}

/// Standard output or standard error.
#[derive(Debug)]
pub(crate) struct ConsoleSink {
    pub(crate) stream: Stream,
    pub(crate) counters: Arc<Counters>,
}

impl Sink for ConsoleSink {
    fn write_line(&self, line: &[u8]) {
        let result = match self.stream {
            Stream::Stdout => io::stdout().lock().write_all(line),
            Stream::Stderr => io::stderr().lock().write_all(line),
        };
        match result {
            Ok(()) => self.counters.add_line(line.len()),
            Err(_) => self.counters.add_write_error(),
        }
    }

    fn flush(&self) {
        let _ = match self.stream {
            Stream::Stdout => io::stdout().flush(),
            Stream::Stderr => io::stderr().flush(),
        };
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
        let result = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_all(line);
        match result {
            Ok(()) => self.counters.add_line(line.len()),
            Err(_) => self.counters.add_write_error(),
        }
    }

    fn flush(&self) {
        let _ = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush();
    }
}

/// A rolling file written by the logging thread, flushed after each line.
#[derive(Debug)]
pub(crate) struct FileSink {
    pub(crate) file: Mutex<RollingFile>,
}

impl Sink for FileSink {
    fn write_line(&self, line: &[u8]) {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_line(line);
        file.flush();
    }

    fn flush(&self) {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush();
    }
}

enum Msg {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
    Stop,
}

/// A rolling file written by a background thread through a bounded queue.
#[derive(Debug)]
pub(crate) struct QueueSink {
    tx: SyncSender<Msg>,
    when_full: WhenFull,
    counters: Arc<Counters>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

/// Lines the writer takes from the queue before it flushes.
const BATCH: usize = 1024;

impl QueueSink {
    pub(crate) fn start(
        mut file: RollingFile,
        capacity: usize,
        when_full: WhenFull,
        counters: Arc<Counters>,
    ) -> Result<Self, Error> {
        let (tx, rx) = mpsc::sync_channel::<Msg>(capacity);
        let handle = std::thread::Builder::new()
            .name("pr-logging-writer".to_owned())
            .spawn(move || {
                // The writer's own events (a failed write, a rotation) must not
                // come back into its own queue: with `block` and a full queue
                // it would wait on itself. They are counted in the stats.
                let _no_events = tracing::dispatcher::set_default(&tracing::Dispatch::none());
                'run: while let Ok(mut msg) = rx.recv() {
                    let mut taken = 0;
                    loop {
                        match msg {
                            Msg::Line(line) => file.write_line(&line),
                            Msg::Flush(done) => {
                                file.flush();
                                let _ = done.send(());
                            }
                            Msg::Stop => break 'run,
                        }
                        taken += 1;
                        if taken >= BATCH {
                            break;
                        }
                        match rx.try_recv() {
                            Ok(next) => msg = next,
                            Err(_) => break,
                        }
                    }
                    file.flush();
                }
                file.flush();
            })
            .map_err(|e| Error::io("pr-logging-writer", "start the writer thread", e))?;
        Ok(Self {
            tx,
            when_full,
            counters,
            handle: Mutex::new(Some(handle)),
        })
    }
}

impl Sink for QueueSink {
    fn write_line(&self, line: &[u8]) {
        let msg = Msg::Line(line.to_vec());
        let sent = match self.when_full {
            WhenFull::Block => self.tx.send(msg).is_ok(),
            WhenFull::Drop => match self.tx.try_send(msg) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
        };
        if !sent {
            self.counters.add_dropped(1);
        }
    }

    fn flush(&self) {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }

    fn shutdown(&self) {
        let _ = self.tx.send(Msg::Stop);
        let handle = self
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}
