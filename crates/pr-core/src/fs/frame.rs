//! CRC-framed records for append-only files, and the pieces binary formats
//! are built from: the CRC-32C checksum and little-endian reads that
//! return `None` on short input instead of panicking.
//!
//! # Frame format (little endian)
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | payload length, `n` |
//! | 4..8 | CRC-32C of the payload |
//! | 8..8+n | payload |
//!
//! A file is a run of frames. A crash mid-append leaves at most one torn
//! frame, at the end: [`Frames`] reads the whole frames before it and
//! stops at the first frame that is short or fails its checksum, with the
//! length of that good prefix, which is where recovery cuts the file
//! ([`truncate`]). Whether damage *before* the end is a torn tail or lost
//! data is for the store to say: it knows which file was the last.
//!
//! CRC-32C (Castagnoli), not the CRC-32 of zip: it has hardware support on
//! x86-64 (SSE 4.2) and Arm, and better error detection for these sizes.

use std::fs::File;
use std::io;

/// Bytes of a frame's header: its length and checksum.
pub const HEADER: usize = 8;

/// The CRC-32C of `bytes`.
#[must_use]
pub fn crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// The CRC-32C of what `crc` was computed over, followed by `bytes`: a
/// checksum over several pieces without joining them
/// (`crc_append(crc(a), b) == crc(ab)`).
#[must_use]
pub fn crc_append(crc: u32, bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, bytes)
}

/// The little-endian `u32` at `at`; `None` when `bytes` is too short.
#[must_use]
pub fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(word.try_into().ok()?))
}

/// The little-endian `u64` at `at`; `None` when `bytes` is too short.
#[must_use]
pub fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let word = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(word.try_into().ok()?))
}

/// The error for a payload whose length does not fit a frame's 32 bits.
fn too_long() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "a frame's payload must be under 4GiB (its length is stored in 32 bits)",
    )
}

/// Seals a frame built in place: `buf[HEADER..]` holds the payload, and its
/// length and checksum are written into `buf[..HEADER]`. A store that
/// encodes a record straight into its buffer copies nothing.
///
/// # Errors
///
/// [`io::ErrorKind::InvalidInput`] when `buf` is shorter than [`HEADER`]
/// or the payload is 4GiB or more.
pub fn seal(buf: &mut [u8]) -> io::Result<()> {
    let payload = buf.get(HEADER..).ok_or_else(too_long)?;
    let len = u32::try_from(payload.len()).map_err(|_| too_long())?;
    let crc = crc(payload);
    buf[..4].copy_from_slice(&len.to_le_bytes());
    buf[4..HEADER].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Appends a frame of `payload` to `out`.
///
/// # Errors
///
/// [`io::ErrorKind::InvalidInput`] when the payload is 4GiB or more
/// (`out` is then left as it was).
pub fn append(out: &mut Vec<u8>, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| too_long())?;
    out.reserve(HEADER + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Why [`Frames`] stopped before the end of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// Fewer than [`HEADER`] bytes were left.
    TornHeader,
    /// The header promises more payload than is left.
    TornPayload,
    /// The payload does not match its checksum.
    Checksum,
}

impl Damage {
    /// A short description for logs and errors (`"checksum mismatch"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TornHeader => "header past the end",
            Self::TornPayload => "length past the end",
            Self::Checksum => "checksum mismatch",
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One whole frame read by [`Frames`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Where the frame starts in the input.
    pub offset: usize,
    /// Its payload, checksum verified.
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Where the next frame starts: the offset past this one's payload.
    #[must_use]
    pub fn end(&self) -> usize {
        self.offset + HEADER + self.payload.len()
    }
}

/// The whole, verified frames at the start of `bytes`, in order; it stops
/// at the end of the input or at the first damaged frame, never panics, and
/// then tells the length of the good prefix and why it stopped.
///
/// # Examples
///
/// ```
/// use pr_core::fs::frame::{self, Damage, Frames};
///
/// let mut log = Vec::new();
/// frame::append(&mut log, b"one")?;
/// frame::append(&mut log, b"two")?;
/// let whole = log.len();
/// frame::append(&mut log, b"three")?;
/// log.truncate(log.len() - 2); // a crash mid-append
///
/// let mut frames = Frames::new(&log);
/// let payloads: Vec<&[u8]> = frames.by_ref().map(|f| f.payload).collect();
/// assert_eq!(payloads, [&b"one"[..], b"two"]);
/// assert_eq!(frames.good_len(), whole); // cut the file here
/// assert_eq!(frames.damage(), Some(Damage::TornPayload));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Frames<'a> {
    bytes: &'a [u8],
    good: usize,
    damage: Option<Damage>,
}

impl<'a> Frames<'a> {
    /// Frames read from the start of `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            good: 0,
            damage: None,
        }
    }

    /// Bytes of whole, verified frames read so far: once the iterator has
    /// ended, the good prefix, where a torn tail is cut.
    #[must_use]
    pub fn good_len(&self) -> usize {
        self.good
    }

    /// Why the iterator stopped before the end of its input; `None` while
    /// it has not, or when it read every byte as whole frames.
    #[must_use]
    pub fn damage(&self) -> Option<Damage> {
        self.damage
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        if self.damage.is_some() {
            return None;
        }
        let rest = self.bytes.get(self.good..).filter(|r| !r.is_empty())?;
        let (Some(len), Some(stored)) = (u32_at(rest, 0), u32_at(rest, 4)) else {
            self.damage = Some(Damage::TornHeader);
            return None;
        };
        let end = usize::try_from(len)
            .ok()
            .and_then(|n| n.checked_add(HEADER));
        let Some(payload) = end.and_then(|end| rest.get(HEADER..end)) else {
            self.damage = Some(Damage::TornPayload);
            return None;
        };
        if crc(payload) != stored {
            self.damage = Some(Damage::Checksum);
            return None;
        }
        let frame = Frame {
            offset: self.good,
            payload,
        };
        self.good = frame.end();
        Some(frame)
    }
}

/// Cuts `file` to its good prefix of `len` bytes and syncs it, so that the
/// torn tail is gone, on disk too, before anything is appended after it.
///
/// # Errors
///
/// The I/O error of the truncation or the sync.
pub fn truncate(file: &File, len: u64) -> io::Result<()> {
    file.set_len(len)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is a failed test")]

    use proptest::prelude::*;

    use super::*;

    fn encode(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
        let mut out = Vec::new();
        let mut ends = Vec::new();
        for p in payloads {
            append(&mut out, p).unwrap();
            ends.push(out.len());
        }
        (out, ends)
    }

    fn read_all(bytes: &[u8]) -> (Vec<Vec<u8>>, usize, Option<Damage>) {
        let mut frames = Frames::new(bytes);
        let payloads = frames.by_ref().map(|f| f.payload.to_vec()).collect();
        (payloads, frames.good_len(), frames.damage())
    }

    #[test]
    fn a_sealed_frame_carries_its_length_and_checksum() {
        let mut buf = vec![0_u8; HEADER];
        buf.extend_from_slice(b"payload");
        seal(&mut buf).unwrap();
        assert_eq!(u32_at(&buf, 0), Some(7));
        assert_eq!(u32_at(&buf, 4), Some(crc(b"payload")));
        let mut appended = Vec::new();
        append(&mut appended, b"payload").unwrap();
        assert_eq!(buf, appended);
        assert!(seal(&mut [0_u8; HEADER - 1]).is_err());
    }

    #[test]
    fn each_kind_of_damage_is_named() {
        let (whole, _) = encode(&[b"abc".to_vec()]);
        assert_eq!(read_all(&whole).2, None);
        assert_eq!(read_all(&whole[..5]).2, Some(Damage::TornHeader));
        assert_eq!(read_all(&whole[..9]).2, Some(Damage::TornPayload));
        let mut bad = whole.clone();
        bad[HEADER] ^= 1;
        assert_eq!(read_all(&bad).2, Some(Damage::Checksum));
        assert_eq!(Damage::Checksum.to_string(), "checksum mismatch");
        // A length near u32::MAX promises more than any input holds.
        let mut huge = whole;
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read_all(&huge).2, Some(Damage::TornPayload));
    }

    #[test]
    fn readers_return_none_on_short_input() {
        let bytes = [1, 0, 0, 0, 2, 0, 0, 0, 0];
        assert_eq!(u32_at(&bytes, 0), Some(1));
        assert_eq!(u64_at(&bytes, 1), Some(2 << 24));
        assert_eq!(u32_at(&bytes, 6), None);
        assert_eq!(u64_at(&bytes, 2), None);
        assert_eq!(u64_at(&bytes, usize::MAX), None);
        assert_eq!(crc_append(crc(b"ab"), b"cd"), crc(b"abcd"));
    }

    #[test]
    fn a_cut_file_keeps_its_good_prefix() {
        let path = std::env::temp_dir().join(format!("pr-core-frame-{}", std::process::id()));
        let (mut bytes, ends) = encode(&[b"one".to_vec(), b"two".to_vec()]);
        bytes.extend_from_slice(&[3, 0]);
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut frames = Frames::new(&bytes);
        frames.by_ref().for_each(drop);
        truncate(&file, frames.good_len() as u64).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), &bytes[..ends[1]]);
        std::fs::remove_file(&path).ok();
    }

    fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..8)
    }

    proptest! {
        /// A file cut anywhere reads as exactly the frames that end at or
        /// before the cut.
        #[test]
        fn any_truncation_yields_exactly_the_good_prefix(payloads in payloads(), cut in any::<prop::sample::Index>()) {
            let (bytes, ends) = encode(&payloads);
            let cut = cut.index(bytes.len() + 1);
            let whole = ends.iter().take_while(|&&end| end <= cut).count();
            let (read, good, damage) = read_all(&bytes[..cut]);
            prop_assert_eq!(&read[..], &payloads[..whole]);
            prop_assert_eq!(good, if whole == 0 { 0 } else { ends[whole - 1] });
            prop_assert_eq!(damage.is_some(), good < cut);
        }

        /// One flipped byte ends the read at the frame that holds it: the
        /// frames before it are returned, it and those after it are not. (A
        /// flipped length makes the checksum cover other bytes, which CRC-32C
        /// catches but for a 2^-32 chance.)
        #[test]
        fn any_single_byte_corruption_yields_exactly_the_good_prefix(
            payloads in payloads().prop_filter("something to damage", |p| !p.is_empty()),
            at in any::<prop::sample::Index>(),
            flip in 1..=255_u8,
        ) {
            let (mut bytes, ends) = encode(&payloads);
            let at = at.index(bytes.len());
            bytes[at] ^= flip;
            let hit = ends.iter().take_while(|&&end| end <= at).count();
            let (read, good, damage) = read_all(&bytes);
            prop_assert_eq!(&read[..], &payloads[..hit]);
            prop_assert_eq!(good, if hit == 0 { 0 } else { ends[hit - 1] });
            prop_assert!(damage.is_some());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let (_, good, damage) = read_all(&bytes);
            prop_assert!(good <= bytes.len());
            prop_assert_eq!(damage.is_none(), good == bytes.len());
        }
    }
}
