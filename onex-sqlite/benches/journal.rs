//! What journaling costs per step.
//!
//! - `chain_1000`: one run of 1,000 sequential steps; per step either an intent and an
//!   outcome as two commits (`separate`) or the outcome of step k with the intent of step
//!   k + 1 in one (`fused`). Reported per step.
//! - `runs_10000x5`: 10,000 runs of a 5-step chain (fused writes; the run's start, and
//!   its last outcome with its final status, journaled too), `c` runs at a time, so the
//!   writer can group-commit concurrent runs' writes. Reported per step (50,000 steps).
//!
//! Backends: `memory` (`MemoryJournal`, the floor), `normal` (`SqliteJournal`, the
//! recommended `synchronous = NORMAL`), `full` (`synchronous = FULL`).
//!
//! `cargo bench -p onex-sqlite --bench journal`

use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures_util::StreamExt;
use onex_runtime::journal::{Journal, MemoryJournal, NewRun, RunStatus, StepKey, Write};
use onex_sqlite::{SqliteJournal, SqliteOptions, Synchronous};

const TTL: Duration = Duration::from_secs(60);

/// A journal of one kind, in a fresh file; the directory lives as long as the journal.
struct Fresh {
    journal: Box<dyn Journal>,
    _dir: Option<tempfile::TempDir>,
}

fn fresh(backend: &str) -> Fresh {
    let synchronous = match backend {
        "memory" => {
            return Fresh {
                journal: Box::new(MemoryJournal::new()),
                _dir: None,
            };
        }
        "normal" => Synchronous::Normal,
        "full" => Synchronous::Full,
        other => panic!("unknown backend {other}"),
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = SqliteOptions::new().synchronous(synchronous);
    let journal =
        SqliteJournal::open_with(dir.path().join("bench.db"), options).expect("a journal to bench");
    Fresh {
        journal: Box::new(journal),
        _dir: Some(dir),
    }
}

/// A small JSON-sized output.
fn output(step: u32) -> Vec<u8> {
    format!("{{\"step\":{step},\"rows\":[1,2,3,4,5,6,7,8],\"ok\":true}}").into_bytes()
}

/// Journals `steps` steps of a chain in run `run_id`; with `fused`, one write per step.
async fn chain(journal: &dyn Journal, run_id: String, steps: u32, fused: bool) {
    let started = journal
        .start_run(NewRun::new(run_id, "Chain", b"{}".to_vec()), "bench", TTL)
        .await
        .expect("start");
    let lease = started.lease().expect("a new run").clone();
    let key = |i: u32| StepKey::new(i, "step");
    journal
        .record_intent(&lease, key(0), 1)
        .await
        .expect("intent");
    for i in 0..steps {
        let last = i + 1 == steps;
        if last {
            let writes = vec![
                Write::outcome(key(i), Ok(output(i)), 1),
                Write::Status(RunStatus::Completed),
            ];
            journal.write(&lease, writes).await.expect("finish");
        } else if fused {
            journal
                .record_outcome_and_intent(&lease, key(i), Ok(output(i)), 1, key(i + 1), 1)
                .await
                .expect("outcome and intent");
        } else {
            journal
                .record_outcome(&lease, key(i), Ok(output(i)), 1)
                .await
                .expect("outcome");
            journal
                .record_intent(&lease, key(i + 1), 1)
                .await
                .expect("intent");
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn chain_1000(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("chain_1000");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    for backend in ["memory", "normal", "full"] {
        for fused in [false, true] {
            let id = BenchmarkId::new(backend, if fused { "fused" } else { "separate" });
            group.bench_function(id, |b| {
                b.iter_custom(|steps| {
                    let fresh = fresh(backend);
                    let journal = &*fresh.journal;
                    rt.block_on(async {
                        let start = Instant::now();
                        let mut left = steps;
                        let mut run = 0;
                        while left > 0 {
                            let n = left.min(1_000) as u32;
                            chain(journal, format!("run-{run}"), n, fused).await;
                            left -= u64::from(n);
                            run += 1;
                        }
                        start.elapsed()
                    })
                });
            });
        }
    }
    group.finish();
}

fn runs_10000x5(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("runs_10000x5");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(50_000));
    for (backend, concurrency) in [("memory", 64), ("normal", 1), ("normal", 64), ("full", 64)] {
        let id = BenchmarkId::new(backend, format!("c{concurrency}"));
        group.bench_function(id, |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let fresh = fresh(backend);
                    let journal = &*fresh.journal;
                    total += rt.block_on(async {
                        let start = Instant::now();
                        futures_util::stream::iter(0..10_000)
                            .for_each_concurrent(concurrency, |run| {
                                chain(journal, format!("run-{run}"), 5, true)
                            })
                            .await;
                        start.elapsed()
                    });
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, chain_1000, runs_10000x5);
criterion_main!(benches);
