//! The dead-letter queue on real files: push and read back, replay that
//! removes only what succeeded, purges, bounds, torn tails, and a child
//! process killed with SIGKILL while it pushes.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use pr_core::units::ByteSize;
use pr_errors::CodedError;
use pr_resilience::Error;
use pr_resilience::dlq::{Attempt, DeadLetter, Dlq, DlqConfig, Durability};
use pr_test_support::{CrashChild, temp_dir};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Job {
    n: u64,
    body: String,
}

fn letter(n: u64) -> DeadLetter<Job> {
    let error = Error::Timeout {
        name: "attempt".into(),
        after: Duration::from_millis(250),
    };
    DeadLetter::new(
        Job {
            n,
            body: format!("job {n}"),
        },
        &error,
    )
    .with_attempts(vec![Attempt::failed(&error), Attempt::failed(&error)])
    .with_idempotency_key(format!("job-{n}"))
}

fn config(dir: &Path) -> DlqConfig {
    let mut config = DlqConfig::new(dir).with_durability(Durability::Batched {
        max_records: 32,
        max_delay: pr_core::units::Duration::from_millis(5),
    });
    config.segment_size = ByteSize(4 * 1024);
    // The health tests must not depend on the machine's free disk space;
    // the free-space bounds have tests of their own.
    config.min_free = ByteSize(0);
    config.min_free_percent = 0;
    config
}

fn payloads(dlq: &Dlq<Job>) -> Vec<u64> {
    dlq.iter().map(|r| r.unwrap().letter.payload.n).collect()
}

#[test]
fn records_survive_reopening_with_every_field() {
    let dir = temp_dir("resilience-dlq-reopen");
    for durability in [
        Durability::EachWrite,
        Durability::None,
        Durability::Batched {
            max_records: 3,
            max_delay: pr_core::units::Duration::from_secs(1),
        },
    ] {
        let _ = std::fs::remove_dir_all(dir.path());
        let dlq: Dlq<Job> = Dlq::open(config(dir.path()).with_durability(durability)).unwrap();
        let seqs: Vec<u64> = (0..100).map(|n| dlq.push(&letter(n)).unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        drop(dlq);
        let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
        assert!(dlq.snapshot().segments > 5, "{:?}", dlq.snapshot());
        assert_eq!(payloads(&dlq), (0..100).collect::<Vec<_>>());
        let first = dlq.peek().unwrap().unwrap();
        assert_eq!(first.seq, seqs[0]);
        assert_eq!(
            first.letter,
            letter(0).with_attempts(first.letter.attempts.clone())
        );
        assert_eq!(first.letter.code, "resilience.timeout");
        assert_eq!(first.letter.attempts.len(), 2);
        assert_eq!(first.letter.idempotency_key.as_deref(), Some("job-0"));
        assert!(first.pushed_at <= SystemTime::now());
        // New pushes continue the sequence.
        assert!(dlq.push(&letter(100)).unwrap() > seqs[99]);
    }
}

#[test]
fn replay_removes_only_what_succeeded() {
    let dir = temp_dir("resilience-dlq-replay");
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    for n in 0..50 {
        dlq.push(&letter(n)).unwrap();
    }
    let report = dlq
        .replay_blocking(|record| {
            if record.letter.payload.n % 5 == 0 {
                Err("still failing")
            } else {
                Ok(())
            }
        })
        .unwrap();
    assert_eq!((report.replayed, report.failed), (40, 10));
    let kept: Vec<u64> = (0..50).filter(|n| n % 5 == 0).collect();
    assert_eq!(payloads(&dlq), kept);
    drop(dlq);
    // Removals are durable too, and emptied segments are deleted.
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    assert_eq!(payloads(&dlq), kept);
    let report = dlq.replay_blocking(|_| Ok::<(), ()>(())).unwrap();
    assert_eq!(report.replayed, 10);
    assert!(dlq.is_empty());
    assert_eq!(dlq.snapshot().segments, 1);
    drop(dlq);
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    assert!(dlq.is_empty());
    assert_eq!(dlq.snapshot().bytes, 0);
}

#[tokio::test]
async fn async_replay_and_purges() {
    let dir = temp_dir("resilience-dlq-purge");
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    for n in 0..20 {
        dlq.push(&letter(n)).unwrap();
    }
    assert_eq!(dlq.purge_keep_newest(15).unwrap(), 5);
    assert_eq!(payloads(&dlq)[0], 5);
    let report = dlq
        .replay(|record| async move {
            if record.letter.payload.n < 10 {
                Ok(())
            } else {
                Err(())
            }
        })
        .await
        .unwrap();
    assert_eq!((report.replayed, report.failed), (5, 10));
    // Everything was pushed before now.
    assert_eq!(dlq.purge_older_than(Duration::from_secs(3600)).unwrap(), 0);
    let later = SystemTime::now() + Duration::from_secs(1);
    assert_eq!(dlq.purge_before(later).unwrap(), 10);
    assert!(dlq.is_empty());
}

#[test]
fn a_full_queue_refuses_with_a_coded_error() {
    let dir = temp_dir("resilience-dlq-full");
    let mut config = config(dir.path());
    config.max_records = 10;
    let dlq: Dlq<Job> = Dlq::open(config.clone()).unwrap();
    for n in 0..10 {
        dlq.push(&letter(n)).unwrap();
    }
    assert!(dlq.snapshot().full);
    let refused = dlq.push(&letter(10)).unwrap_err();
    assert_eq!(refused.info().code.as_str(), "resilience.dlq_full");
    assert_eq!(refused.info().status.as_u16(), 503);
    assert!(matches!(
        refused,
        Error::DlqFull {
            bound: "max_records",
            limit: 10,
            ..
        }
    ));
    // Nothing was lost: the ten are there, and room comes back on removal.
    assert_eq!(payloads(&dlq), (0..10).collect::<Vec<_>>());
    assert!(dlq.remove(dlq.peek().unwrap().unwrap().seq).unwrap());
    dlq.push(&letter(10)).unwrap();
    drop(dlq);

    let dir = temp_dir("resilience-dlq-full-bytes");
    let mut config = self::config(dir.path());
    config.max_size = ByteSize(1_000);
    config.max_record_size = ByteSize(1_000);
    let dlq: Dlq<Job> = Dlq::open(config).unwrap();
    let mut pushed = 0;
    let refused = loop {
        match dlq.push(&letter(pushed)) {
            Ok(_) => pushed += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(
        refused,
        Error::DlqFull {
            bound: "max_size",
            ..
        }
    ));
    assert!(dlq.snapshot().bytes <= 1_000);
    assert_eq!(dlq.len(), pushed);
}

#[test]
fn invalid_settings_are_reported_together() {
    let mut config = DlqConfig::new("");
    config.max_records = 0;
    config.segment_size = ByteSize(0);
    let problems = pr_core::validate::check(&config).unwrap_err();
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["dir", "max_records", "segment_size"], "{problems:?}");
    // `Dlq::open` refuses them all in one error, before touching the disk.
    let error = Dlq::<Job>::open(config).unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("dir: must not be empty")
            && text.contains("max_records: must be greater than 0")
            && text.contains("segment_size: must be greater than 0"),
        "{text}"
    );
    assert_eq!(error.info().code.as_str(), "resilience.invalid_config");
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    names.sort();
    names.pop().unwrap()
}

#[test]
fn a_torn_tail_is_cut_and_never_returned() {
    let dir = temp_dir("resilience-dlq-torn");
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    for n in 0..3 {
        dlq.push(&letter(n)).unwrap();
    }
    drop(dlq);
    let segment = last_segment(dir.path());
    let whole = std::fs::metadata(&segment).unwrap().len();
    // Half a record: a header that promises more than is there.
    {
        let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
        dlq.push(&letter(3)).unwrap();
    }
    // A record's length varies (its timestamps are written in as few digits as
    // they need), so each cut is measured against the fourth record as written.
    let cuts: [fn(u64) -> u64; 6] = [|_| 1, |_| 7, |_| 20, |_| 30, |len| len / 2, |len| len - 1];
    for cut in cuts {
        let fourth = std::fs::metadata(&segment).unwrap().len() - whole;
        let cut = cut(fourth);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap();
        file.set_len(whole + cut).unwrap();
        drop(file);
        let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
        assert_eq!(payloads(&dlq), vec![0, 1, 2], "cut at {cut} of {fourth}");
        assert_eq!(std::fs::metadata(&segment).unwrap().len(), whole);
        drop(dlq);
        // Restore the fourth record for the next cut.
        let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
        dlq.push(&letter(3)).unwrap();
    }
    // Garbage whose checksum cannot match.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    file.write_all(&[0x30, 0, 0, 0, 1, 2, 3, 4]).unwrap();
    file.write_all(&[0xAB; 0x30]).unwrap();
    drop(file);
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    assert_eq!(payloads(&dlq), vec![0, 1, 2, 3]);
    dlq.push(&letter(4)).unwrap();
    drop(dlq);
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    assert_eq!(payloads(&dlq), vec![0, 1, 2, 3, 4]);
}

#[test]
fn lowering_max_record_size_keeps_the_records_already_stored() {
    let dir = temp_dir("resilience-dlq-lower-max");
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    let mut big = letter(0);
    big.payload.body = "x".repeat(1_000);
    dlq.push(&big).unwrap();
    dlq.push(&letter(1)).unwrap();
    drop(dlq);
    // A smaller bound applies to new records; it does not make the ones
    // acknowledged under the old bound look torn (and cut them off).
    let mut smaller = config(dir.path());
    smaller.max_record_size = ByteSize(512);
    let dlq: Dlq<Job> = Dlq::open(smaller.clone()).unwrap();
    assert_eq!(payloads(&dlq), vec![0, 1]);
    assert_eq!(
        dlq.push(&big).unwrap_err().info().code.as_str(),
        "resilience.dlq_full"
    );
    drop(dlq);
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    assert_eq!(payloads(&dlq), vec![0, 1]);
}

#[test]
fn damage_before_the_tail_is_a_coded_error_not_a_silent_loss() {
    let dir = temp_dir("resilience-dlq-corrupt");
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    for n in 0..200 {
        dlq.push(&letter(n)).unwrap();
    }
    drop(dlq);
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    names.sort();
    let first = &names[0];
    let mut bytes = std::fs::read(first).unwrap();
    bytes[40] ^= 0xFF;
    std::fs::write(first, bytes).unwrap();
    let error = Dlq::<Job>::open(config(dir.path())).unwrap_err();
    assert_eq!(error.info().code.as_str(), "resilience.dlq_corrupt");
}

/// The crash test's queue: a process crash needs no fsync (every push is
/// written before it returns), so the test does not pay for them.
fn crash_config(dir: &Path) -> DlqConfig {
    let mut config = config(dir).with_durability(Durability::None);
    config.segment_size = ByteSize(64 * 1024);
    config
}

const CHILD_DIR: &str = "PR_RESILIENCE_DLQ_CRASH_DIR";

/// Pushes records and prints each one's number once its push returned:
/// forever in the child (until killed), a few as an ordinary test.
#[test]
fn crash_child_entry() {
    let child_dir = std::env::var_os(CHILD_DIR);
    // A killed child never drops a temp dir, so it makes none.
    let temp = child_dir
        .is_none()
        .then(|| temp_dir("resilience-dlq-crash-inline"));
    let dir = child_dir
        .as_deref()
        .map_or_else(|| temp.as_ref().unwrap().path(), Path::new);
    let dlq: Dlq<Job> = Dlq::open(crash_config(dir)).unwrap();
    let start = dlq
        .peek_newest()
        .unwrap()
        .map_or(0, |r| r.letter.payload.n + 1);
    let limit = if child_dir.is_some() {
        u64::MAX
    } else {
        start + 50
    };
    let stdout = std::io::stdout();
    if child_dir.is_some() {
        println!("ready {start}");
    }
    for n in start..limit {
        dlq.push(&letter(n)).unwrap();
        if child_dir.is_some() {
            let mut out = stdout.lock();
            writeln!(out, "{n}").unwrap();
            out.flush().unwrap();
        }
    }
    assert_eq!(dlq.len(), 50);
}

/// A small pseudo-random number from the clock and the process id.
fn jitter(round: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut x = u64::from(nanos) ^ (u64::from(std::process::id()) << 20) ^ (round << 40);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

#[cfg(unix)]
#[test]
fn sigkill_while_pushing_loses_no_acknowledged_record() {
    let dir = temp_dir("resilience-dlq-crash");
    let mut acknowledged: Option<u64> = None;
    for round in 0..50_u64 {
        let mut child = CrashChild::spawn("dlq::crash_child_entry", &[(CHILD_DIR, dir.path())]);
        child.wait_for("ready");
        // Let it push a random number more (sometimes none), then kill it.
        let target = jitter(round) % 200;
        let mut seen = 0;
        while seen < target {
            let Some(line) = child.next_line() else {
                break;
            };
            if let Ok(n) = line.trim().parse::<u64>() {
                acknowledged = Some(n);
            }
            seen += 1;
        }
        child.kill(); // SIGKILL
        // Lines already written were acknowledged too.
        while let Some(line) = child.next_line() {
            if let Ok(n) = line.trim().parse::<u64>() {
                acknowledged = Some(n);
            }
        }
        let dlq: Dlq<Job> = Dlq::open(crash_config(dir.path())).unwrap();
        let mut expected = 0;
        for record in dlq.iter() {
            let record = record.unwrap();
            assert_eq!(
                record.letter.payload.n, expected,
                "round {round}: out of order or torn"
            );
            assert_eq!(record.letter.payload.body, format!("job {expected}"));
            assert_eq!(
                record.letter.idempotency_key,
                Some(format!("job-{expected}"))
            );
            expected += 1;
        }
        if let Some(last) = acknowledged {
            assert!(
                expected > last,
                "round {round}: acknowledged {last} but recovered {expected}"
            );
        }
    }
    assert!(acknowledged.is_some_and(|n| n > 100), "{acknowledged:?}");
}

#[tokio::test(start_paused = true)]
async fn operations_that_exhaust_their_retries_are_dead_lettered() {
    let dir = temp_dir("resilience-dlq-route");
    let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    let retry = pr_resilience::retry::Retry::builder()
        .max_retries(3)
        .build()
        .unwrap();
    let timeout = || Error::Timeout {
        name: "attempt".into(),
        after: Duration::from_secs(1),
    };
    // Succeeds on the third attempt: nothing is dead-lettered.
    let mut calls = 0;
    let answer = dlq
        .retry_or_dead_letter(&retry, letter(1).payload, Some("job-1"), |_job: &Job| {
            calls += 1;
            let outcome = if calls < 3 { Err(timeout()) } else { Ok(calls) };
            async move { outcome }
        })
        .await
        .unwrap();
    assert_eq!(answer, 3);
    assert!(dlq.is_empty());
    // Always fails: four attempts, then the queue holds it with each one.
    let failed = dlq
        .retry_or_dead_letter(
            &retry,
            letter(2).payload,
            Some("job-2"),
            |_job: &Job| async { Err::<(), _>(timeout()) },
        )
        .await
        .unwrap_err();
    let seq = failed.stored.unwrap();
    let record = dlq.peek().unwrap().unwrap();
    assert_eq!(record.seq, seq);
    assert_eq!(record.letter.payload, letter(2).payload);
    assert_eq!(record.letter.attempts.len(), 4);
    assert_eq!(record.letter.code, "resilience.timeout");
    assert_eq!(record.letter.idempotency_key.as_deref(), Some("job-2"));
    // A permanent error is not retried, and is dead-lettered at once.
    let failed = dlq
        .retry_or_dead_letter(&retry, letter(3).payload, None, |_job: &Job| async {
            Err::<(), _>(Error::InvalidConfig {
                problems: vec![pr_core::validate::Violation::new("x", "bad")],
            })
        })
        .await
        .unwrap_err();
    assert!(failed.stored.is_ok());
    assert_eq!(dlq.iter().last().unwrap().unwrap().letter.attempts.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_hands_the_failure_back() {
    let dir = temp_dir("resilience-dlq-route-full");
    let mut config = config(dir.path());
    config.max_records = 1;
    let dlq: Dlq<Job> = Dlq::open(config).unwrap();
    dlq.push(&letter(0)).unwrap();
    let retry = pr_resilience::retry::Retry::builder()
        .max_retries(0)
        .build()
        .unwrap();
    let failed = dlq
        .retry_or_dead_letter(&retry, letter(1).payload, None, |_job: &Job| async {
            Err::<(), _>(Error::Timeout {
                name: "attempt".into(),
                after: Duration::from_secs(1),
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(failed.stored, Err(Error::DlqFull { .. })));
    assert!(failed.to_string().contains("not dead-lettered"));
}

#[cfg(feature = "health")]
#[tokio::test]
async fn a_full_queue_is_a_down_health_check() {
    use pr_health::{Check, Status};
    let dir = temp_dir("resilience-dlq-health");
    let mut config = config(dir.path());
    config.max_records = 5;
    let dlq: Dlq<Job> = Dlq::open(config).unwrap();
    let check = dlq.health_check();
    assert!(check.name().starts_with("dlq:"));
    assert_eq!(check.check().await.status(), Status::Up);
    for n in 0..4 {
        dlq.push(&letter(n)).unwrap();
    }
    assert_eq!(check.check().await.status(), Status::Degraded);
    dlq.push(&letter(4)).unwrap();
    let outcome = check.check().await;
    assert_eq!(outcome.status(), Status::Down);
    assert!(outcome.message().unwrap().contains("full"), "{outcome:?}");
    dlq.purge_keep_newest(0).unwrap();
    assert_eq!(check.check().await.status(), Status::Up);
}

#[cfg(feature = "health")]
#[tokio::test]
async fn a_queue_with_huge_bounds_is_up_when_nearly_empty() {
    use pr_health::{Check, Status};
    let dir = temp_dir("resilience-dlq-health-huge");
    // Bounds whose 4/5 do not fit a u64 once multiplied out.
    for bound in [u64::MAX, 1 << 62] {
        let _ = std::fs::remove_dir_all(dir.path());
        let mut config = config(dir.path());
        config.max_records = bound;
        config.max_size = ByteSize(bound);
        let dlq: Dlq<Job> = Dlq::open(config).unwrap();
        dlq.push(&letter(0)).unwrap();
        assert_eq!(dlq.health_check().check().await.status(), Status::Up);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Push,
    Remove(usize),
    KeepNewest(u64),
    Reopen,
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        6 => Just(Op::Push),
        3 => (0_usize..64).prop_map(Op::Remove),
        1 => (0_u64..20).prop_map(Op::KeepNewest),
        1 => Just(Op::Reopen),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Against a model (an ordered list), any sequence of pushes, removals,
    /// purges and reopenings leaves the queue holding what the model holds.
    #[test]
    fn the_queue_matches_a_model(ops in proptest::collection::vec(op(), 1..120)) {
        let dir = temp_dir("resilience-dlq-model");
        let mut config = config(dir.path()).with_durability(Durability::None);
        config.segment_size = ByteSize(1_024);
        let mut dlq: Dlq<Job> = Dlq::open(config.clone()).unwrap();
        let mut model: Vec<(u64, u64)> = Vec::new();
        let mut next = 0;
        for op in ops {
            match op {
                Op::Push => {
                    let seq = dlq.push(&letter(next)).unwrap();
                    proptest::prop_assert!(model.last().is_none_or(|(s, _)| *s < seq));
                    model.push((seq, next));
                    next += 1;
                }
                Op::Remove(i) if !model.is_empty() => {
                    let (seq, _) = model.remove(i % model.len());
                    proptest::prop_assert!(dlq.remove(seq).unwrap());
                    proptest::prop_assert!(!dlq.remove(seq).unwrap());
                }
                Op::Remove(_) => {}
                Op::KeepNewest(keep) => {
                    let excess = model.len().saturating_sub(keep as usize);
                    proptest::prop_assert_eq!(dlq.purge_keep_newest(keep).unwrap(), excess as u64);
                    model.drain(..excess);
                }
                Op::Reopen => {
                    drop(dlq);
                    dlq = Dlq::open(config.clone()).unwrap();
                }
            }
            proptest::prop_assert_eq!(dlq.len(), model.len() as u64);
        }
        let held: Vec<(u64, u64)> = dlq
            .iter()
            .map(|r| r.map(|r| (r.seq, r.letter.payload.n)))
            .collect::<Result<_, _>>()
            .unwrap();
        proptest::prop_assert_eq!(&held, &model);
        drop(dlq);
        let dlq: Dlq<Job> = Dlq::open(config).unwrap();
        let held: Vec<(u64, u64)> = dlq
            .iter()
            .map(|r| r.map(|r| (r.seq, r.letter.payload.n)))
            .collect::<Result<_, _>>()
            .unwrap();
        proptest::prop_assert_eq!(held, model);
        // Segments whose records are all gone were deleted.
        proptest::prop_assert!(dlq.snapshot().segments as u64 <= dlq.len() + 1, "{:?}", dlq.snapshot());
    }
}

/// A directory holds one open queue: a second open, while the first (or a
/// clone of it) lives, is refused with a reason; after the last is dropped
/// the directory opens again with every record.
#[test]
fn a_second_open_of_one_directory_is_refused_while_the_first_lives() {
    let dir = temp_dir("resilience-dlq-lock");
    let first: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    first.push(&letter(1)).unwrap();
    let clone = first.clone();
    drop(first);
    // Refused at once without a wait, and after the wait with one.
    for wait_ms in [0, 20] {
        let mut config = config(dir.path());
        config.lock_wait = pr_core::units::Duration::from_millis(wait_ms);
        let err = Dlq::<Job>::open(config).unwrap_err();
        assert_eq!(err.code().as_str(), "resilience.dlq_io");
        let message = err.to_string();
        assert!(message.contains("LOCK"), "{message}");
        assert!(message.contains("one queue per directory"), "{message}");
        assert!(message.contains("(lock_wait)"), "{message}");
    }
    clone.push(&letter(2)).unwrap();
    drop(clone);
    let again: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
    assert_eq!(again.len(), 2);
}

const HOLDER_DIR: &str = "PR_RESILIENCE_DLQ_HOLDER_DIR";

/// Opens the queue in `$PR_RESILIENCE_DLQ_HOLDER_DIR`, pushes a record,
/// says `locked`, and holds the queue until its stdin closes; as an
/// ordinary test, opens and drops a queue of its own.
#[test]
fn lock_holder_entry() {
    let Some(dir) = std::env::var_os(HOLDER_DIR) else {
        let dir = temp_dir("resilience-dlq-holder-inline");
        let dlq: Dlq<Job> = Dlq::open(config(dir.path())).unwrap();
        dlq.push(&letter(0)).unwrap();
        return;
    };
    let dlq: Dlq<Job> = Dlq::open(config(Path::new(&dir))).unwrap();
    dlq.push(&letter(7)).unwrap();
    println!("locked");
    std::io::stdout().flush().unwrap();
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut rest).unwrap();
}

/// A lock held by a process that is exiting is waited for, not refused:
/// with another process holding the directory, an open without a wait is
/// refused; one with a wait, started while the holder still holds it,
/// succeeds once the holder exits, with the holder's record.
#[cfg(unix)]
#[test]
fn open_waits_for_a_lock_whose_holder_is_exiting() {
    let dir = temp_dir("resilience-dlq-lock-wait");
    // Its stdin: a pipe whose write end, dropped below, is the signal to exit.
    let (stdin, closer) = std::io::pipe().unwrap();
    let mut command = CrashChild::command("dlq::lock_holder_entry", &[(HOLDER_DIR, dir.path())]);
    command.stdin(stdin);
    let mut child = CrashChild::spawn_command(command);
    child.wait_for("locked");
    let mut at_once = config(dir.path());
    at_once.lock_wait = pr_core::units::Duration::from_secs(0);
    assert_eq!(
        Dlq::<Job>::open(at_once).unwrap_err().code().as_str(),
        "resilience.dlq_io"
    );
    let mut waiting = config(dir.path());
    waiting.lock_wait = pr_core::units::Duration::from_secs(60);
    let opener = std::thread::spawn(move || Dlq::<Job>::open(waiting));
    // Closing its stdin makes the holder exit, releasing the lock.
    drop(closer);
    let dlq = opener.join().unwrap().unwrap();
    assert!(child.wait().success());
    assert_eq!(payloads(&dlq), vec![7]);
}

#[test]
fn a_lock_wait_past_a_minute_is_invalid() {
    let mut config = DlqConfig::new("dlq");
    config.lock_wait = pr_core::units::Duration::from_millis(60_001);
    let problems = pr_core::validate::check(&config).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].to_string(), "lock_wait: must be at most 1m");
    config.lock_wait = pr_core::units::Duration::from_secs(60);
    pr_core::validate::check(&config).unwrap();
}

#[cfg(all(target_os = "linux", feature = "metrics", feature = "health"))]
const FSIZE_DIR: &str = "PR_RESILIENCE_DLQ_FSIZE_DIR";

/// The soft `RLIMIT_FSIZE` of this process in bytes, from
/// `/proc/self/limits`; `None` when unlimited.
#[cfg(all(target_os = "linux", feature = "metrics", feature = "health"))]
fn file_size_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max file size"))
        .unwrap();
    line["Max file size".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .ok()
}

/// Run by [`pushes_past_a_file_size_limit_fail_loudly`] in a child whose
/// `RLIMIT_FSIZE` is small and which ignores `SIGXFSZ`, so a write past
/// the limit fails with `EFBIG`: fills the segment until a big record no
/// longer fits, then checks the failed push's error, its metric and the
/// health check, and that a record that fits is stored again. Outside that
/// child it returns at once.
#[cfg(all(target_os = "linux", feature = "metrics", feature = "health"))]
#[test]
fn full_disk_child_entry() {
    use pr_health::{Check, Status};
    let Some(dir) = std::env::var_os(FSIZE_DIR) else {
        return;
    };
    let limit = file_size_limit().expect("the parent set RLIMIT_FSIZE");
    let capture = crate::rate_metrics::Capture::default();
    let mut config = config(Path::new(&dir)).with_durability(Durability::EachWrite);
    // One segment, larger than a file may grow: the limit, not a roll,
    // ends it.
    config.segment_size = ByteSize::mib(1);
    config.max_record_size = ByteSize(16 * 1024);
    let dlq: Dlq<Job> = metrics::with_local_recorder(&capture, || Dlq::open(config)).unwrap();
    let check = dlq.health_check();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let status = || runtime.block_on(check.check());
    assert_eq!(status().status(), Status::Up);

    let mut big = letter(1_000_000);
    big.payload.body = "x".repeat(8_000);
    let mut n = 0;
    // Fill until less than half a big record is left in the file.
    while limit.saturating_sub(dlq.snapshot().bytes) >= 4_000 {
        dlq.push(&letter(n)).unwrap();
        n += 1;
    }
    let held = dlq.len();
    let error = dlq.push(&big).unwrap_err();
    assert_eq!(error.code().as_str(), "resilience.dlq_io", "{error}");
    let message = error.to_string();
    assert!(message.contains("cannot write"), "{message}");
    assert!(message.contains("File too large"), "{message}");
    assert_eq!(dlq.len(), held, "the failed record is not held");
    assert_eq!(
        capture.value("pr_resilience_dlq_push_failures_total{reason=io}"),
        1
    );
    let outcome = status();
    assert_eq!(outcome.status(), Status::Degraded, "{outcome:?}");
    let health = outcome.message().unwrap();
    assert!(health.contains("last write failed"), "{health}");
    assert!(health.contains("File too large"), "{health}");

    // Too large for the queue: refused before any write, counted apart.
    let mut huge = letter(2_000_000);
    huge.payload.body = "x".repeat(20_000);
    assert!(matches!(
        dlq.push(&huge),
        Err(Error::DlqFull {
            bound: "max_record_size",
            ..
        })
    ));
    assert_eq!(
        capture.value("pr_resilience_dlq_push_failures_total{reason=too_large}"),
        1
    );

    // A record that fits is stored, and the check is Up again.
    dlq.push(&letter(n)).unwrap();
    assert_eq!(status().status(), Status::Up);
    assert_eq!(payloads(&dlq), (0..=n).collect::<Vec<_>>());
    assert_eq!(
        capture.value("pr_resilience_dlq_push_failures_total{reason=io}"),
        1
    );
    println!("full disk child: ok");
}

/// A size-limited file (`RLIMIT_FSIZE` in a child, `SIGXFSZ` ignored, so a
/// write past it fails with `EFBIG` as on a full filesystem) makes a push
/// fail loudly: the caller's error, the failure metric, a Degraded check.
#[cfg(all(target_os = "linux", feature = "metrics", feature = "health"))]
#[test]
fn pushes_past_a_file_size_limit_fail_loudly() {
    let dir = temp_dir("resilience-dlq-fsize");
    // 64 KiB; the child's stderr (its panic, if any) is kept.
    let output = CrashChild::file_size_limited(
        "dlq::full_disk_child_entry",
        64 * 1024,
        &[(FSIZE_DIR, dir.path())],
    )
    .output()
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("full disk child: ok"), "{text}");
}

/// Free space under either bound makes the check Degraded, naming it;
/// with both bounds off it is Up.
#[cfg(all(target_os = "linux", feature = "health"))]
#[tokio::test]
async fn low_free_space_is_a_degraded_health_check() {
    use pr_health::{Check, Status};
    let dir = temp_dir("resilience-dlq-free-space");
    for (bytes, percent, expected) in [
        (0, 0, Status::Up),
        (1, 0, Status::Up),
        (u64::MAX, 0, Status::Degraded),
        (0, 100, Status::Degraded),
    ] {
        let _ = std::fs::remove_dir_all(dir.path());
        let mut config = config(dir.path());
        config.min_free = ByteSize(bytes);
        config.min_free_percent = percent;
        let dlq: Dlq<Job> = Dlq::open(config).unwrap();
        dlq.push(&letter(0)).unwrap();
        let outcome = dlq.health_check().check().await;
        assert_eq!(outcome.status(), expected, "{bytes} {percent}: {outcome:?}");
        if expected == Status::Degraded {
            let message = outcome.message().unwrap();
            assert!(message.contains("low free space"), "{message}");
        }
    }
}
