//! `OpenMetrics` exemplars: the trace a histogram observation belongs to,
//! from a source the application plugs in ([`RegistryBuilder::exemplars`]),
//! kept as the last one per bucket.
//!
//! [`RegistryBuilder::exemplars`]: crate::RegistryBuilder::exemplars

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering, fence};

use crate::Clock;
use crate::literal::push_f64;

/// The ids of the trace and span an observation was made in: the label set
/// of its exemplar, `{trace_id="<32 hex>",span_id="<16 hex>"}`.
///
/// Fixed-size ids keep the label set at 63 characters, within
/// `OpenMetrics`' limit of 128 for an exemplar's names and values, and
/// cost the source no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TraceIds {
    /// The W3C / `OpenTelemetry` trace id, 16 bytes.
    pub trace_id: [u8; 16],
    /// The span id, 8 bytes.
    pub span_id: [u8; 8],
}

impl TraceIds {
    /// Ids from their bytes (as `OpenTelemetry`'s `TraceId::to_bytes()` and
    /// `SpanId::to_bytes()` give them).
    #[must_use]
    pub const fn new(trace_id: [u8; 16], span_id: [u8; 8]) -> Self {
        Self { trace_id, span_id }
    }
}

/// The application's source of trace ids, called on each observation.
#[derive(Clone)]
pub(crate) struct ExemplarSource(Arc<dyn Fn() -> Option<TraceIds> + Send + Sync>);

impl ExemplarSource {
    pub(crate) fn new(source: impl Fn() -> Option<TraceIds> + Send + Sync + 'static) -> Self {
        Self(Arc::new(source))
    }
}

impl fmt::Debug for ExemplarSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExemplarSource")
    }
}

/// One exemplar read back from a slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) ids: TraceIds,
    pub(crate) value: f64,
    /// Wall time, milliseconds since the Unix epoch.
    pub(crate) unix_millis: u64,
}

/// The last exemplar of one bucket, in atomics under a sequence number (a
/// seqlock): a writer never waits (it skips when another writer holds the
/// slot, whose exemplar is as recent), a reader retries a torn read.
#[derive(Debug, Default)]
struct Slot {
    /// Even: stable; odd: a write is under way; 0: never written.
    seq: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span: AtomicU64,
    value: AtomicU64,
    unix_millis: AtomicU64,
}

/// How often a scrape rereads a slot being written before it leaves the
/// exemplar out of this scrape.
const READ_ATTEMPTS: usize = 16;

impl Slot {
    fn write(&self, exemplar: &Exemplar) {
        let seq = self.seq.load(Ordering::Relaxed);
        if !seq.is_multiple_of(2)
            || self
                .seq
                .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // Orders the odd sequence number before the fields for a reader.
        fence(Ordering::Release);
        let (hi, lo) = exemplar.ids.trace_id.split_at(8);
        self.trace_hi.store(to_u64(hi), Ordering::Relaxed);
        self.trace_lo.store(to_u64(lo), Ordering::Relaxed);
        self.span
            .store(u64::from_be_bytes(exemplar.ids.span_id), Ordering::Relaxed);
        self.value
            .store(exemplar.value.to_bits(), Ordering::Relaxed);
        self.unix_millis
            .store(exemplar.unix_millis, Ordering::Relaxed);
        self.seq.store(seq + 2, Ordering::Release);
    }

    fn read(&self) -> Option<Exemplar> {
        for _ in 0..READ_ATTEMPTS {
            let before = self.seq.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            let hi = self.trace_hi.load(Ordering::Relaxed);
            let lo = self.trace_lo.load(Ordering::Relaxed);
            let span = self.span.load(Ordering::Relaxed);
            let value = self.value.load(Ordering::Relaxed);
            let unix_millis = self.unix_millis.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            let after = self.seq.load(Ordering::Relaxed);
            if before.is_multiple_of(2) && before == after {
                let mut trace_id = [0u8; 16];
                trace_id[..8].copy_from_slice(&hi.to_be_bytes());
                trace_id[8..].copy_from_slice(&lo.to_be_bytes());
                return Some(Exemplar {
                    ids: TraceIds::new(trace_id, span.to_be_bytes()),
                    value: f64::from_bits(value),
                    unix_millis,
                });
            }
            std::hint::spin_loop();
        }
        None
    }
}

fn to_u64(bytes: &[u8]) -> u64 {
    let mut array = [0u8; 8];
    array.copy_from_slice(bytes);
    u64::from_be_bytes(array)
}

/// The exemplars of one histogram series (or one counter series, with a
/// single slot): the source, the clock that stamps them, one slot each.
#[derive(Debug)]
pub(crate) struct Exemplars {
    source: ExemplarSource,
    clock: Clock,
    slots: Box<[Slot]>,
}

impl Exemplars {
    pub(crate) fn new(source: ExemplarSource, clock: Clock, slots: usize) -> Self {
        Self {
            source,
            clock,
            slots: (0..slots).map(|_| Slot::default()).collect(),
        }
    }

    /// Asks the source for the current trace and, if there is one, keeps
    /// `value` as slot `index`'s exemplar.
    #[inline]
    pub(crate) fn offer(&self, index: usize, value: f64) {
        let Some(ids) = (self.source.0)() else {
            return;
        };
        // An all-zero trace id is W3C's "no trace".
        if ids.trace_id == [0; 16] {
            return;
        }
        let Some(slot) = self.slots.get(index) else {
            return;
        };
        let unix_millis = self
            .clock
            .wall()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        slot.write(&Exemplar {
            ids,
            value,
            unix_millis,
        });
    }

    /// Slot `index`'s exemplar, if it has one.
    pub(crate) fn get(&self, index: usize) -> Option<Exemplar> {
        self.slots.get(index)?.read()
    }
}

/// Writes ` # {trace_id="…",span_id="…"} <value> <timestamp>`, the
/// `OpenMetrics` exemplar that ends a sample line.
pub(crate) fn push_exemplar(out: &mut String, exemplar: &Exemplar) {
    out.push_str(" # {trace_id=\"");
    push_hex(out, &exemplar.ids.trace_id);
    out.push_str("\",span_id=\"");
    push_hex(out, &exemplar.ids.span_id);
    out.push_str("\"} ");
    push_f64(out, exemplar.value);
    out.push(' ');
    // Seconds with exactly millisecond precision, no float rounding.
    out.push_str(itoa::Buffer::new().format(exemplar.unix_millis / 1000));
    out.push('.');
    let millis = exemplar.unix_millis % 1000;
    out.push(char::from(b'0' + (millis / 100) as u8));
    out.push(char::from(b'0' + (millis / 10 % 10) as u8));
    out.push(char::from(b'0' + (millis % 10) as u8));
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pr_core::time::ManualClock;

    #[test]
    fn label_set_stays_within_the_openmetrics_limit_and_formats() {
        let exemplar = Exemplar {
            ids: TraceIds::new([0xab; 16], [0x01; 8]),
            value: 0.25,
            unix_millis: 1_700_000_000_007,
        };
        let mut out = String::new();
        push_exemplar(&mut out, &exemplar);
        assert_eq!(
            out,
            concat!(
                r#" # {trace_id="abababababababababababababababab","#,
                r#"span_id="0101010101010101"} 0.25 1700000000.007"#
            )
        );
        // Names and values combined, as the spec counts them.
        let chars = "trace_id".len() + 32 + "span_id".len() + 16;
        assert!(chars <= 128, "{chars}");
    }

    #[test]
    fn a_slot_keeps_the_last_exemplar_and_none_without_a_trace() {
        let manual = ManualClock::at_unix(1_700_000_000);
        let current = Arc::new(std::sync::Mutex::new(None));
        let source_ids = current.clone();
        let exemplars = Exemplars::new(
            ExemplarSource::new(move || *pr_core::sync::lock(&source_ids)),
            manual.clock(),
            2,
        );
        exemplars.offer(0, 1.0);
        assert_eq!(exemplars.get(0), None);
        *pr_core::sync::lock(&current) = Some(TraceIds::new([0; 16], [1; 8]));
        exemplars.offer(0, 1.0);
        assert_eq!(exemplars.get(0), None, "all-zero trace id is no trace");
        *pr_core::sync::lock(&current) = Some(TraceIds::new([7; 16], [8; 8]));
        exemplars.offer(0, 1.0);
        manual.advance(std::time::Duration::from_millis(1500));
        exemplars.offer(0, 2.0);
        let got = exemplars.get(0);
        assert_eq!(
            got,
            Some(Exemplar {
                ids: TraceIds::new([7; 16], [8; 8]),
                value: 2.0,
                unix_millis: 1_700_000_001_500,
            })
        );
        assert_eq!(exemplars.get(1), None);
        exemplars.offer(9, 1.0);
        assert_eq!(exemplars.get(9), None);
    }
}
