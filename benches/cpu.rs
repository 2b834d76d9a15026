//! cpu: 64 independent steps of about 1 ms of arithmetic each (and a sink summing them),
//! run Parallel and Batch. The ideal is 64 × (one call) / cores; the hand-written baselines
//! are the 64 calls in a row and a rayon `par_iter` over them; dagx 0.3 and dagrs 0.9 run
//! them as tasks on a multi-thread tokio runtime.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use onex::prelude::*;
use rayon::prelude::*;

const N: usize = 64;

/// Rounds of the arithmetic loop per call, calibrated at start to about 1 ms.
static ROUNDS: AtomicU64 = AtomicU64::new(1);

/// About 1 ms of arithmetic the optimizer cannot skip.
fn burn(seed: u64) -> u64 {
    let rounds = ROUNDS.load(Ordering::Relaxed);
    let mut h = black_box(seed) | 1;
    for i in 0..rounds {
        h = h.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        h ^= h >> 29;
    }
    h
}

fn calibrate() {
    let probe = 1_000_000;
    ROUNDS.store(probe, Ordering::Relaxed);
    let mut best = Duration::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        black_box(burn(7));
        best = best.min(t.elapsed());
    }
    let rounds = (probe as f64 * 1e-3 / best.as_secs_f64()) as u64;
    ROUNDS.store(rounds.max(1), Ordering::Relaxed);
}

#[node(compute)]
fn spin(x: &u64) -> u64 {
    burn(*x)
}

include!("gen/cpu64.rs");

async fn onex_cpu(rt: &Runtime, mode: ExecutionMode) -> u64 {
    let opts = RunOptions::new().mode(mode);
    Cpu64::run(rt, black_box(7), opts)
        .await
        .expect("the cpu workflow runs")
        .output
}

async fn dagx_cpu() -> u64 {
    use dagx::{DagRunner, task_fn};
    let dag = DagRunner::new();
    let src = dag.add_task(task_fn(|_: ()| async { black_box(7u64) }));
    let workers: Vec<_> = (0..N)
        .map(|_| {
            dag.add_task(task_fn(|x: u64| async move { burn(x) }))
                .depends_on(&src)
        })
        .collect();
    dag.run(|fut| {
        tokio::spawn(fut);
    })
    .await
    .expect("dagx runs");
    workers
        .into_iter()
        .map(|h| dag.get(h).expect("dagx output"))
        .fold(0, u64::wrapping_add)
}

mod dagrs_cpu {
    use async_trait::async_trait;
    use dagrs::{
        Action, Content, DefaultNode, EnvVar, Graph, InChannels, Node, NodeTable, OutChannels,
        Output,
    };
    use std::sync::Arc;

    /// A worker (no inputs: burns) or the sink (sums its inputs).
    struct Step;

    #[async_trait]
    impl Action for Step {
        async fn run(
            &self,
            input: &mut InChannels,
            out: &mut OutChannels,
            _: Arc<EnvVar>,
        ) -> Output {
            let vals: Vec<u64> = input
                .map(|c| *c.expect("an input").into_inner::<u64>().expect("a u64"))
                .await;
            let x = if vals.is_empty() {
                super::burn(7)
            } else {
                vals.into_iter().fold(0, u64::wrapping_add)
            };
            out.broadcast(Content::new(x)).await;
            Output::Out(Some(Content::new(x)))
        }
    }

    pub async fn run(n: usize) -> u64 {
        let mut table = NodeTable::new();
        let mut graph = Graph::new();
        let sink = DefaultNode::with_action("sink".to_string(), Step, &mut table);
        let sink_id = sink.id();
        graph.add_node(sink).expect("a node");
        for i in 0..n {
            let node = DefaultNode::with_action(format!("w{i}"), Step, &mut table);
            let id = node.id();
            graph.add_node(node).expect("a node");
            graph.add_edge(id, vec![sink_id]).expect("an edge");
        }
        graph.set_env(EnvVar::new(table));
        graph.async_start().await.expect("dagrs runs");
        *graph
            .get_results::<u64>()
            .get(&sink_id)
            .and_then(Clone::clone)
            .expect("dagrs output")
    }
}

fn cpu(c: &mut Criterion) {
    calibrate();
    let onex_rt = Runtime::default();
    let mt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    let expected = (0..N).map(|_| burn(7)).fold(0, u64::wrapping_add);
    for mode in [
        ExecutionMode::Parallel { max_parallel: 8 },
        ExecutionMode::Batch,
    ] {
        assert_eq!(mt.block_on(onex_cpu(&onex_rt, mode)), expected);
    }
    assert_eq!(mt.block_on(dagx_cpu()), expected);
    assert_eq!(mt.block_on(dagrs_cpu::run(N)), expected);
    eprintln!(
        "cpu: {} rounds per call, {} rayon threads",
        ROUNDS.load(Ordering::Relaxed),
        rayon::current_num_threads()
    );

    let mut g = c.benchmark_group("cpu");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("one_call", |b| b.iter(|| burn(black_box(7))));
    g.bench_function("sequential", |b| {
        b.iter(|| {
            (0..N)
                .map(|_| burn(black_box(7)))
                .fold(0, u64::wrapping_add)
        })
    });
    g.bench_function("rayon", |b| {
        b.iter(|| {
            (0..N)
                .into_par_iter()
                .map(|_| burn(black_box(7)))
                .reduce(|| 0, u64::wrapping_add)
        })
    });
    g.bench_function("onex/parallel8", |b| {
        b.iter(|| {
            mt.block_on(onex_cpu(
                &onex_rt,
                ExecutionMode::Parallel { max_parallel: 8 },
            ))
        })
    });
    g.bench_function("onex/batch", |b| {
        b.iter(|| mt.block_on(onex_cpu(&onex_rt, ExecutionMode::Batch)))
    });
    g.bench_function("dagx", |b| b.iter(|| mt.block_on(dagx_cpu())));
    g.bench_function("dagrs", |b| b.iter(|| mt.block_on(dagrs_cpu::run(N))));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(15)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = cpu
}
criterion_main!(benches);
