//! Verifiable values for the file cache tests.

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

/// The value written for `key` at version `v`: `"{key}:{v};"` repeated to a
/// length that depends on both, so a mix of two writes is detected.
pub(crate) fn value_for(key: &str, v: u64) -> Vec<u8> {
    let unit = format!("{key}:{v};");
    let len = 64 + usize::try_from(mix(v ^ (key.len() as u64) << 40) % 12_000).unwrap();
    unit.bytes().cycle().take(len).collect()
}

/// Whether `value` is exactly some version's complete value for `key`.
pub(crate) fn is_whole_value(key: &str, value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    let Some(rest) = text.strip_prefix(&format!("{key}:")) else {
        return false;
    };
    let Some((v, _)) = rest.split_once(';') else {
        return false;
    };
    v.parse::<u64>().is_ok_and(|v| value_for(key, v) == value)
}

/// A small pseudo-random number from the clock, the process id and `seed`.
pub(crate) fn jitter(seed: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    mix(u64::from(nanos) ^ (u64::from(std::process::id()) << 20) ^ seed)
}
