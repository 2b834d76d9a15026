//! durable: what journaling costs per step of a whole run, through the runtime — the
//! journal's own cost (`onex-sqlite/benches/journal.rs`) plus serializing every output, the
//! lease, the run's start and end.
//!
//! - `chain_1000`: one run of a `#[durable]` 1,000-step chain (Sequential). Reported per
//!   step.
//! - `runs_10000x5`: 10,000 runs of a `#[durable]` 5-step chain, `c` runs at a time.
//!   Reported per step (50,000 steps).
//!
//! Journals: `none` (the same workflow on a runtime without a journal: not journaled, the
//! in-memory floor), `memory` (`MemoryJournal`), `normal` (`SqliteJournal`, the
//! recommended `synchronous = NORMAL`), `full` (`synchronous = FULL`). Every run has a fresh
//! id (a UUID), so nothing is replayed. The journal cost per step is a row's figure minus
//! `none`'s.
//!
//! `cargo bench -p onex-benches --bench durable -- --quick`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use futures_util::StreamExt;
use onex::journal::MemoryJournal;
use onex::prelude::*;
use onex::sqlite::{SqliteJournal, SqliteOptions, Synchronous};

#[node(compute)]
fn step(x: &u64) -> u64 {
    x + 1
}

include!("gen/durable_chain1000.rs");

workflow! {
    /// Five increments in a row, journaled.
    #[durable]
    pub workflow Five(x: u64) -> u64 {
        a = step(x);
        b = step(a);
        c = step(b);
        d = step(c);
        e = step(d);
        return e;
    }
}

/// A runtime with the journal `kind`, in a fresh file; the directory lives as long as it.
struct Fresh {
    rt: Runtime,
    _dir: Option<tempfile::TempDir>,
}

fn fresh(kind: &str) -> Fresh {
    let builder = Runtime::builder();
    let synchronous = match kind {
        "none" => {
            return Fresh {
                rt: builder.build(),
                _dir: None,
            };
        }
        "memory" => {
            return Fresh {
                rt: builder.journal(MemoryJournal::new()).build(),
                _dir: None,
            };
        }
        "normal" => Synchronous::Normal,
        "full" => Synchronous::Full,
        other => panic!("unknown journal {other}"),
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = SqliteOptions::new().synchronous(synchronous);
    let journal =
        SqliteJournal::open_with(dir.path().join("bench.db"), options).expect("a journal to bench");
    Fresh {
        rt: builder.journal(journal).build(),
        _dir: Some(dir),
    }
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime")
}

async fn chain_run(rt: &Runtime) -> u64 {
    let opts = RunOptions::new().mode(ExecutionMode::Sequential);
    DurableChain1000::run(rt, black_box(0), opts)
        .await
        .expect("the chain runs")
        .output
}

/// 10,000 runs of `Five`, `c` at a time.
async fn five_runs(rt: &Runtime, c: usize) {
    futures_util::stream::iter(0..10_000u64)
        .map(|i| async move {
            let opts = RunOptions::new().mode(ExecutionMode::Sequential);
            let run = Five::run(rt, i, opts).await.expect("a run");
            assert_eq!(run.output, i + 5);
        })
        .buffer_unordered(c)
        .for_each(|()| async {})
        .await;
}

fn durable(c: &mut Criterion) {
    let tokio = multi_thread();

    let mut g = c.benchmark_group("durable/chain_1000");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    for kind in ["none", "memory", "normal", "full"] {
        let fresh = fresh(kind);
        assert_eq!(tokio.block_on(chain_run(&fresh.rt)), 1000);
        g.bench_function(kind, |b| b.iter(|| tokio.block_on(chain_run(&fresh.rt))));
    }
    g.finish();

    let mut g = c.benchmark_group("durable/runs_10000x5");
    g.throughput(Throughput::Elements(50_000));
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    for (kind, c) in [
        ("none", 1),
        ("none", 64),
        ("memory", 64),
        ("normal", 1),
        ("normal", 64),
        ("full", 64),
    ] {
        let fresh = fresh(kind);
        g.bench_function(BenchmarkId::new(kind, format!("c{c}")), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    tokio.block_on(five_runs(&fresh.rt, c));
                }
                start.elapsed()
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = durable
}
criterion_main!(benches);
