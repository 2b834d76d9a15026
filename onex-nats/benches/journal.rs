//! journal: what a `KvJournal` costs per journaled step, against a real `nats-server -js`
//! on loopback (file storage, the server's default sync).
//!
//! - `journal/chain/intent+outcome`: a 1,000-step chain, each step an intent then an
//!   outcome (two commits); the time per step.
//! - `journal/chain/fused`: the same chain with the outcome of step k and the intent of
//!   step k + 1 in one commit; the time per step.
//! - `journal/chain/fused, unbuffered`: the fused chain with `max_buffered(0)`: every
//!   commit an atomic batch, which nats-server syncs to disk before answering.
//! - `journal/runs/64 concurrent`: 1,000 runs of 5 fused steps each (start, 5 commits,
//!   the final status), at most 64 runs at once; the time per step.
//!
//! Needs `nats-server` (`$ONEX_NATS_SERVER` or `PATH`); without one it prints why and
//! measures nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use onex_nats::{KvJournal, KvJournalOptions, Layout};
use onex_runtime::journal::{Journal, Lease, NewRun, RunStatus, StepKey};
use support::{NatsServer, connect};

const CHAIN: u32 = 1000;
const RUNS: u64 = 1000;
const STEPS: u32 = 5;
const CONCURRENT: usize = 64;
const TTL: Duration = Duration::from_secs(60);

static RUN: AtomicU64 = AtomicU64::new(0);

fn step(index: u32) -> StepKey {
    StepKey::new(index, format!("step{index}"))
}

async fn start(journal: &KvJournal) -> Lease {
    let run_id = format!("run-{}", RUN.fetch_add(1, Ordering::Relaxed));
    let started = journal
        .start_run(NewRun::new(run_id, "Bench", b"{}".to_vec()), "bench", TTL)
        .await
        .expect("a new run");
    started.lease().expect("a lease").clone()
}

/// A chain of `steps` steps with a small output each; `fused` puts the outcome of step k
/// and the intent of step k + 1 in one commit.
async fn chain(journal: &KvJournal, lease: &Lease, steps: u32, fused: bool) {
    let output = |i: u32| format!("{{\"value\":{i}}}").into_bytes();
    if fused {
        journal.record_intent(lease, step(0), 1).await.unwrap();
        for i in 0..steps - 1 {
            journal
                .record_outcome_and_intent(lease, step(i), Ok(output(i)), 1, step(i + 1), 1)
                .await
                .unwrap();
        }
        let last = steps - 1;
        journal
            .record_outcome(lease, step(last), Ok(output(last)), 1)
            .await
            .unwrap();
    } else {
        for i in 0..steps {
            journal.record_intent(lease, step(i), 1).await.unwrap();
            journal
                .record_outcome(lease, step(i), Ok(output(i)), 1)
                .await
                .unwrap();
        }
    }
}

fn journal(c: &mut Criterion) {
    let Some(server) = NatsServer::start("bench journal") else {
        return;
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let open = |options: KvJournalOptions| {
        tokio.block_on(async {
            KvJournal::open_with(connect(&server).await, &Layout::default(), options)
                .await
                .expect("the journal")
        })
    };
    let journal = open(KvJournalOptions::new());
    let unbuffered = open(KvJournalOptions::new().max_buffered(0));

    let mut group = c.benchmark_group("journal/chain");
    group
        .throughput(Throughput::Elements(u64::from(CHAIN)))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for (name, fused, journal) in [
        ("intent+outcome", false, &journal),
        ("fused", true, &journal),
        ("fused, unbuffered", true, &unbuffered),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                tokio.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let lease = start(journal).await;
                        let started = Instant::now();
                        chain(journal, &lease, CHAIN, fused).await;
                        total += started.elapsed();
                        journal
                            .set_status(&lease, RunStatus::Completed)
                            .await
                            .unwrap();
                    }
                    total
                })
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("journal/runs");
    group
        .throughput(Throughput::Elements(RUNS * u64::from(STEPS)))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function(format!("{CONCURRENT} concurrent"), |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    futures_util::stream::iter(0..RUNS)
                        .for_each_concurrent(CONCURRENT, |_| async {
                            let lease = start(&journal).await;
                            chain(&journal, &lease, STEPS, true).await;
                            journal
                                .set_status(&lease, RunStatus::Completed)
                                .await
                                .unwrap();
                        })
                        .await;
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, journal);
criterion_main!(benches);
