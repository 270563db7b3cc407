//! The tamper-evident audit log and its verifier.
//!
//! Each line is `{"seq":N,"key_id":"k1",["prev":"<hex>",]"event":{...},"chain":"<hex>"}`
//! where `chain` is HMAC-SHA256(key, previous chain value ‖ the line up to
//! `,"chain"`). The first line of each file carries `prev`, the chain value
//! it continues from (zeros at the very start), so the chain continues
//! across rotation and each file verifies on its own.

use std::fs::File;
use std::io::{BufRead, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ring::hmac;

use crate::Error;
use crate::json::{hex_decode, hex_into};
use crate::rolling::{FileSettings, RollingFile};
use crate::stats::Counters;

const CHAIN_SUFFIX: &str = ",\"chain\":\"";
/// `,"chain":"` + 64 hex digits + `"}`.
const TRAILER_LEN: usize = 10 + 64 + 2;

#[derive(Debug)]
struct State {
    file: RollingFile,
    seq: u64,
    chain: [u8; 32],
}

/// The audit output.
#[derive(Debug)]
pub(crate) struct AuditLog {
    state: Mutex<State>,
    key: hmac::Key,
    key_id: String,
    pub(crate) counters: Arc<Counters>,
}

impl AuditLog {
    pub(crate) fn new(
        file: RollingFile,
        settings: &FileSettings,
        key: &[u8],
        key_id: &str,
        counters: Arc<Counters>,
    ) -> Self {
        let (seq, chain) = resume(settings).unwrap_or((0, [0; 32]));
        Self {
            state: Mutex::new(State { file, seq, chain }),
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            key_id: key_id.to_owned(),
            counters,
        }
    }

    /// Appends one event (a JSON object) as a chained line, synchronously.
    pub(crate) fn write(&self, event_json: &str) {
        let mut state = pr_core::sync::lock(&self.state);
        let mut line = String::with_capacity(event_json.len() + 200);
        state.file.prepare(event_json.len() + 200);
        let seq = state.seq + 1;
        line.push_str("{\"seq\":");
        line.push_str(&seq.to_string());
        line.push_str(",\"key_id\":\"");
        line.push_str(&self.key_id);
        line.push('"');
        if state.file.is_empty() {
            line.push_str(",\"prev\":\"");
            hex_into(&mut line, &state.chain);
            line.push('"');
        }
        line.push_str(",\"event\":");
        line.push_str(event_json);
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&state.chain);
        ctx.update(line.as_bytes());
        let tag = ctx.sign();
        line.push_str(CHAIN_SUFFIX);
        hex_into(&mut line, tag.as_ref());
        line.push_str("\"}\n");
        state.file.append(line.as_bytes());
        state.file.flush();
        state.seq = seq;
        state.chain.copy_from_slice(tag.as_ref());
    }

    pub(crate) fn flush(&self) {
        pr_core::sync::lock(&self.state).file.flush();
    }
}

/// The sequence number and chain value of the last line written by an
/// earlier run: from the current file, or the newest rotated one.
fn resume(settings: &FileSettings) -> Option<(u64, [u8; 32])> {
    let last = match last_line(&settings.path) {
        Some(line) => line,
        None => {
            let newest = settings.rotated_files().into_iter().next()?;
            last_line(&newest.0)?
        }
    };
    let parsed = parse_line(&last).ok()?;
    Some((parsed.seq, parsed.chain))
}

/// The last whole line of a file: from its tail for a plain file, by
/// reading it through for a compressed one.
fn last_line(path: &Path) -> Option<String> {
    const TAIL: u64 = 64 * 1024;
    if path.extension().is_none_or(|e| e != "gz") {
        let mut file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let start = len.saturating_sub(TAIL);
        file.seek(SeekFrom::Start(start)).ok()?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).ok()?;
        let body = tail.strip_suffix(b"\n")?;
        match body.iter().rposition(|b| *b == b'\n') {
            Some(at) => return String::from_utf8(body[at + 1..].to_vec()).ok(),
            None if start == 0 => return String::from_utf8(body.to_vec()).ok(),
            None => {} // a line longer than the tail: read it all below
        }
    }
    let mut reader = open_lines(path).ok()?;
    let mut line = Vec::new();
    let mut last = None;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.ends_with(b"\n") => {
                last = Some(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
            }
            Ok(_) => break,
        }
    }
    last
}

/// A buffered reader of a plain or `.gz` file. Without feature `gzip` a
/// `.gz` file is an error that names the feature, never skipped: the
/// audit log does not compress its own files, but an operator may have.
fn open_lines(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let file = File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        #[cfg(feature = "gzip")]
        return Ok(Box::new(BufReader::new(flate2::read::GzDecoder::new(file))));
        #[cfg(not(feature = "gzip"))]
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "reading a gzip file needs pr-logging's `gzip` feature",
        ));
    }
    Ok(Box::new(BufReader::new(file)))
}

struct Parsed<'a> {
    seq: u64,
    key_id: &'a str,
    prev: Option<[u8; 32]>,
    body: &'a str,
    chain: [u8; 32],
}

fn to_32(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

fn parse_line(line: &str) -> Result<Parsed<'_>, &'static str> {
    let malformed = "malformed line (not an audit record)";
    if line.len() < TRAILER_LEN || !line.ends_with("\"}") {
        return Err(malformed);
    }
    let body_end = line.len() - TRAILER_LEN;
    if !line.is_char_boundary(body_end) || !line[body_end..].starts_with(CHAIN_SUFFIX) {
        return Err(malformed);
    }
    let chain = hex_decode(&line[body_end + 10..line.len() - 2])
        .and_then(|b| to_32(&b))
        .ok_or(malformed)?;
    let body = &line[..body_end];
    let rest = body.strip_prefix("{\"seq\":").ok_or(malformed)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let seq = rest[..digits].parse().map_err(|_| malformed)?;
    let rest = rest[digits..]
        .strip_prefix(",\"key_id\":\"")
        .ok_or(malformed)?;
    let id_end = rest.find('"').ok_or(malformed)?;
    let key_id = &rest[..id_end];
    let rest = &rest[id_end + 1..];
    let (prev, rest) = match rest.strip_prefix(",\"prev\":\"") {
        Some(rest) if rest.len() > 65 => (
            Some(
                hex_decode(&rest[..64])
                    .and_then(|b| to_32(&b))
                    .ok_or(malformed)?,
            ),
            rest[64..].strip_prefix('"').ok_or(malformed)?,
        ),
        Some(_) => return Err(malformed),
        None => (None, rest),
    };
    if !rest.starts_with(",\"event\":{") {
        return Err(malformed);
    }
    Ok(Parsed {
        seq,
        key_id,
        prev,
        body,
        chain,
    })
}

/// Where and why an audit chain breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditBreak {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line number of the first line that does not verify.
    pub line: u64,
    /// Why, in words.
    pub reason: String,
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditReport {
    /// Lines that verified before the break (all of them when intact).
    pub verified: u64,
    /// The sequence number of the last verified line.
    pub last_seq: Option<u64>,
    /// The key id of the first line.
    pub key_id: Option<String>,
    /// The chain value of the last verified line, in hex: where the next
    /// file's `prev` must start.
    pub last_chain: Option<String>,
    /// The first break, if any.
    pub broken: Option<AuditBreak>,
}

impl AuditReport {
    /// Whether every line verified.
    #[must_use]
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Verifies one audit file (plain or `.gz`) with `key`, reporting the first
/// line where the chain breaks: an edited, deleted, reordered or inserted
/// line. Deleting lines at the very end of the newest file is only visible
/// against an outside record of the last sequence number.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read.
pub fn verify(path: impl AsRef<Path>, key: &[u8]) -> Result<AuditReport, Error> {
    verify_files(&[path.as_ref()], key)
}

/// Verifies the audit log whose current file is `current`: its rotated files
/// (found beside it by name, oldest first, compressed or not), then the
/// current file, as one chain.
///
/// # Errors
///
/// [`Error::Io`] when a file cannot be read.
pub fn verify_all(current: impl AsRef<Path>, key: &[u8]) -> Result<AuditReport, Error> {
    let mut paths = audit_files(current.as_ref());
    if !current.as_ref().exists() {
        paths.pop();
    }
    verify_files(&paths, key)
}

/// The files of the log whose current file is `current`, oldest first: the
/// rotated ones found beside it, then `current` itself.
#[must_use]
pub fn audit_files(current: &Path) -> Vec<PathBuf> {
    let settings = FileSettings::new(
        current,
        None,
        None,
        None,
        None,
        false,
        0o640,
        crate::time::Tz::Utc,
    );
    let mut paths: Vec<PathBuf> = settings
        .rotated_files()
        .into_iter()
        .rev()
        .map(|(path, _)| path)
        .filter(|path| !path.to_string_lossy().ends_with(".tmp"))
        .collect();
    paths.push(current.to_path_buf());
    paths
}

/// Verifies consecutive audit files, oldest first: each file's chain and
/// that each file continues where the one before it ended.
///
/// # Errors
///
/// [`Error::Io`] when a file cannot be read.
pub fn verify_files<P: AsRef<Path>>(paths: &[P], key: &[u8]) -> Result<AuditReport, Error> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut report = AuditReport::default();
    let mut chain: Option<[u8; 32]> = None;
    for path in paths {
        let path = path.as_ref();
        let mut reader = open_lines(path).map_err(|e| Error::io(path, "open", e))?;
        let mut bytes = Vec::new();
        let mut number = 0_u64;
        let mut first = true;
        loop {
            bytes.clear();
            let read = reader
                .read_until(b'\n', &mut bytes)
                .map_err(|e| Error::io(path, "read", e))?;
            if read == 0 {
                break;
            }
            number += 1;
            let complete = bytes.ends_with(b"\n");
            let line = String::from_utf8_lossy(bytes.strip_suffix(b"\n").unwrap_or(&bytes));
            let fail = |reason: String| AuditBreak {
                path: path.to_path_buf(),
                line: number,
                reason,
            };
            if !complete {
                report.broken = Some(fail("incomplete last line".to_owned()));
                return Ok(report);
            }
            let parsed = match parse_line(&line) {
                Ok(parsed) => parsed,
                Err(reason) => {
                    report.broken = Some(fail(reason.to_owned()));
                    return Ok(report);
                }
            };
            let start = match (first, parsed.prev, chain) {
                (true, None, _) => {
                    report.broken = Some(fail(
                        "the file does not start a chain segment (its first line was deleted)"
                            .to_owned(),
                    ));
                    return Ok(report);
                }
                (true, Some(prev), Some(before)) if prev != before => {
                    report.broken = Some(fail(
                        "the file does not continue the previous file's chain".to_owned(),
                    ));
                    return Ok(report);
                }
                (true, Some(prev), _) => prev,
                (false, Some(_), _) => {
                    report.broken = Some(fail(
                        "a chain start in the middle of a file (line inserted)".to_owned(),
                    ));
                    return Ok(report);
                }
                (false, None, Some(before)) => before,
                (false, None, None) => [0; 32],
            };
            if let Some(last) = report.last_seq
                && parsed.seq != last + 1
            {
                report.broken = Some(fail(format!(
                    "sequence {} where {} was expected (line deleted, inserted or reordered)",
                    parsed.seq,
                    last + 1
                )));
                return Ok(report);
            }
            let mut message = Vec::with_capacity(32 + parsed.body.len());
            message.extend_from_slice(&start);
            message.extend_from_slice(parsed.body.as_bytes());
            if hmac::verify(&key, &message, &parsed.chain).is_err() {
                report.broken = Some(fail(
                    "the chain value does not match (line edited, or key wrong)".to_owned(),
                ));
                return Ok(report);
            }
            if report.key_id.is_none() {
                report.key_id = Some(parsed.key_id.to_owned());
            }
            first = false;
            chain = Some(parsed.chain);
            report.verified += 1;
            report.last_seq = Some(parsed.seq);
            let mut hex = String::with_capacity(64);
            hex_into(&mut hex, &parsed.chain);
            report.last_chain = Some(hex);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_line_parser_never_panics(s in "\\PC{0,200}") {
            let _ = parse_line(&s);
        }
    }
}
