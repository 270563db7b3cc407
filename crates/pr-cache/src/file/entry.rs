//! The file cache's entry files: their format (the table in the
//! [module](super) docs), the key hash that names them, and the header
//! check that lets a get refuse a damaged or foreign file before reading
//! all of it. Checksums and little-endian reads are pr-core's
//! (`pr_core::fs::frame`).

use std::time::SystemTime;

use pr_core::fs::frame;

pub(super) const MAGIC: &[u8; 4] = b"PRCF";

const VERSION: u16 = 2;

pub(super) const HEADER: usize = 40;

/// The 64-bit FNV-1a hash of a key, with a final mix.
pub(super) fn hash_key(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Encodes an entry file.
pub(super) fn encode(key: &str, value: &[u8], created: u64, expires: u64) -> Vec<u8> {
    let mut buf = Vec::with_capacity(HEADER + key.len() + value.len());
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&VERSION.to_le_bytes());
    buf.extend_from_slice(&0_u16.to_le_bytes());
    let key_len = u32::try_from(key.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&key_len.to_le_bytes());
    buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
    buf.extend_from_slice(&created.to_le_bytes());
    buf.extend_from_slice(&expires.to_le_bytes());
    let crc = frame::crc_append(frame::crc(&buf[..36]), key.as_bytes());
    buf.extend_from_slice(&frame::crc_append(crc, value).to_le_bytes());
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(value);
    buf
}

/// A decoded entry file.
pub(super) struct Decoded<'a> {
    pub(super) key: &'a [u8],
    pub(super) value: &'a [u8],
    pub(super) expires: u64,
}

/// Decodes a whole entry file; `None` when it is damaged in any way.
pub(super) fn decode(buf: &[u8]) -> Option<Decoded<'_>> {
    if buf.get(..4)? != MAGIC || buf.get(4..6)? != VERSION.to_le_bytes() {
        return None;
    }
    let key_len = usize::try_from(frame::u32_at(buf, 8)?).ok()?;
    let value_len = usize::try_from(frame::u64_at(buf, 12)?).ok()?;
    let expires = frame::u64_at(buf, 28)?;
    let stored_crc = frame::u32_at(buf, 36)?;
    let key_end = HEADER.checked_add(key_len)?;
    if buf.len() != key_end.checked_add(value_len)? {
        return None;
    }
    if frame::crc_append(frame::crc(&buf[..36]), &buf[HEADER..]) != stored_crc {
        return None;
    }
    Some(Decoded {
        key: &buf[HEADER..key_end],
        value: &buf[key_end..],
        expires,
    })
}

/// What an entry's header says before the rest is read.
pub(super) enum HeaderCheck {
    /// Another magic or version, or lengths that do not add up to the size.
    Damaged,
    /// A whole entry of a key of another length (a hash collision).
    OtherKey,
    /// Plausibly the key's entry, of this many bytes in all.
    Fits(usize),
}

pub(super) fn check_header(header: &[u8; HEADER], file_len: u64, key_len: usize) -> HeaderCheck {
    if header[..4] != *MAGIC || header[4..6] != VERSION.to_le_bytes() {
        return HeaderCheck::Damaged;
    }
    let (Some(stored_key), Some(value_len)) = (frame::u32_at(header, 8), frame::u64_at(header, 12))
    else {
        return HeaderCheck::Damaged;
    };
    let total = u64::from(stored_key)
        .checked_add(value_len)
        .and_then(|n| n.checked_add(HEADER as u64));
    if total != Some(file_len) {
        return HeaderCheck::Damaged;
    }
    if usize::try_from(stored_key).ok() != Some(key_len) {
        return HeaderCheck::OtherKey;
    }
    usize::try_from(file_len).map_or(HeaderCheck::Damaged, HeaderCheck::Fits)
}

/// Milliseconds since the Unix epoch of a wall-clock time (0 before it).
pub(super) fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_damage() {
        let buf = encode("k", b"value", 1, 2);
        let d = decode(&buf).expect("whole");
        assert_eq!((d.key, d.value, d.expires), (&b"k"[..], &b"value"[..], 2));
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad).is_none(), "flip at {i}");
        }
        for n in 0..buf.len() {
            assert!(decode(&buf[..n]).is_none(), "cut at {n}");
        }
    }

    #[test]
    fn a_header_is_checked_against_the_file_size_before_the_rest_is_read() {
        let buf = encode("key", b"value", 1, 0);
        let header: [u8; HEADER] = buf[..HEADER].try_into().expect("a header");
        let len = buf.len() as u64;
        assert!(matches!(check_header(&header, len, 3), HeaderCheck::Fits(n) if n == buf.len()));
        assert!(matches!(
            check_header(&header, len, 4),
            HeaderCheck::OtherKey
        ));
        // A size that does not match the lengths: damaged, however large.
        assert!(matches!(
            check_header(&header, len + 1, 3),
            HeaderCheck::Damaged
        ));
        assert!(matches!(
            check_header(&header, u64::MAX, 3),
            HeaderCheck::Damaged
        ));
        let mut huge = header;
        huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(check_header(&huge, len, 3), HeaderCheck::Damaged));
        let mut other = header;
        other[4] = 9;
        assert!(matches!(check_header(&other, len, 3), HeaderCheck::Damaged));
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128)) {
            let _ = decode(&bytes);
        }
    }
}
