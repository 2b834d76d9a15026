//! fanout: 1 → 1,000 → 1 (a source, 1,000 steps each adding 1 to it, a sink summing
//! them), run Parallel. onex (records on and off, Parallel and Batch, from a
//! current-thread and a multi-thread tokio runtime, and in a task spawned on a 2-worker
//! one) against a tokio `JoinSet` with one
//! task per node, dagx 0.3 and dagrs 0.9.
//!
//! Every figure is one whole run; divide by 1,000 for the cost per node.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onex::prelude::*;

const N: u64 = 1000;
/// The sum the sink sees with input 0: 1,000 × (0 + 1 + 1).
const EXPECTED: u64 = 2 * N;

#[node(compute)]
fn step(x: &u64) -> u64 {
    x + 1
}

include!("gen/fanout1000.rs");
include!("spawned.rs");

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime")
}

const PARALLEL: ExecutionMode = ExecutionMode::Parallel { max_parallel: 8 };

async fn onex_fanout(rt: &Runtime, mode: ExecutionMode, records: bool) -> u64 {
    let opts = RunOptions::new().mode(mode).records(records);
    let run = Fanout1000::run(rt, black_box(0), opts)
        .await
        .expect("the fan-out runs");
    run.output
}

/// The hand-written baseline: one task per node on a `JoinSet`.
async fn joinset_fanout() -> u64 {
    let src = tokio::spawn(async { black_box(0u64) + 1 })
        .await
        .expect("the source task");
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..N {
        set.spawn(async move { black_box(src) + 1 });
    }
    let mut sum = 0;
    while let Some(x) = set.join_next().await {
        sum += x.expect("a middle task");
    }
    sum
}

/// dagx cannot feed 1,000 handles to one task (tuples of up to 8), so its sink is the
/// caller reading the 1,000 outputs back: a little less work than the others do.
async fn dagx_fanout() -> u64 {
    use dagx::{DagRunner, task_fn};
    let dag = DagRunner::new();
    let src = dag.add_task(task_fn(|_: ()| async { black_box(0u64) + 1 }));
    let middle: Vec<_> = (0..N)
        .map(|_| {
            dag.add_task(task_fn(|x: u64| async move { x + 1 }))
                .depends_on(&src)
        })
        .collect();
    dag.run(|fut| {
        tokio::spawn(fut);
    })
    .await
    .expect("dagx runs");
    middle
        .into_iter()
        .map(|h| dag.get(h).expect("dagx output"))
        .sum()
}

mod dagrs_fanout {
    use async_trait::async_trait;
    use dagrs::{
        Action, Content, DefaultNode, EnvVar, Graph, InChannels, Node, NodeTable, OutChannels,
        Output,
    };
    use std::sync::Arc;

    struct Source;

    #[async_trait]
    impl Action for Source {
        async fn run(&self, _: &mut InChannels, out: &mut OutChannels, _: Arc<EnvVar>) -> Output {
            out.broadcast(Content::new(1u64)).await;
            Output::Out(Some(Content::new(1u64)))
        }
    }

    /// Adds 1 to each input and sends the sum on: the middle steps (one input) and the sink
    /// (1,000 inputs) alike.
    struct Sum {
        add: u64,
    }

    #[async_trait]
    impl Action for Sum {
        async fn run(
            &self,
            input: &mut InChannels,
            out: &mut OutChannels,
            _: Arc<EnvVar>,
        ) -> Output {
            let vals: Vec<u64> = input
                .map(|c| *c.expect("an input").into_inner::<u64>().expect("a u64"))
                .await;
            let x = vals.iter().sum::<u64>() + self.add;
            out.broadcast(Content::new(x)).await;
            Output::Out(Some(Content::new(x)))
        }
    }

    pub async fn run(n: u64) -> u64 {
        let mut table = NodeTable::new();
        let mut graph = Graph::new();
        let source = DefaultNode::with_action("src".to_string(), Source, &mut table);
        let src = source.id();
        graph.add_node(source).expect("a node");
        let sink = DefaultNode::with_action("sink".to_string(), Sum { add: 0 }, &mut table);
        let sink_id = sink.id();
        graph.add_node(sink).expect("a node");
        let mut middle = Vec::new();
        for i in 0..n {
            let node = DefaultNode::with_action(format!("m{i}"), Sum { add: 1 }, &mut table);
            middle.push(node.id());
            graph.add_node(node).expect("a node");
        }
        graph.add_edge(src, middle.clone()).expect("edges");
        for m in middle {
            graph.add_edge(m, vec![sink_id]).expect("an edge");
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

fn fanout(c: &mut Criterion) {
    let onex_rt = Runtime::default();
    let ct = current_thread();
    let mt = multi_thread();
    for mode in [PARALLEL, ExecutionMode::Batch] {
        for records in [true, false] {
            assert_eq!(ct.block_on(onex_fanout(&onex_rt, mode, records)), EXPECTED);
        }
    }
    assert_eq!(ct.block_on(joinset_fanout()), EXPECTED);
    assert_eq!(mt.block_on(dagx_fanout()), EXPECTED);
    assert_eq!(mt.block_on(dagrs_fanout::run(N)), EXPECTED);

    let mut g = c.benchmark_group("fanout");
    g.throughput(Throughput::Elements(N));
    for (driver, rt) in [("current_thread", &ct), ("multi_thread", &mt)] {
        g.bench_function(format!("joinset/{driver}"), |b| {
            b.iter(|| rt.block_on(joinset_fanout()))
        });
        for (mode_name, mode) in [("parallel8", PARALLEL), ("batch", ExecutionMode::Batch)] {
            g.bench_function(format!("onex/{mode_name}/records_on/{driver}"), |b| {
                b.iter(|| rt.block_on(onex_fanout(&onex_rt, mode, true)))
            });
            g.bench_function(format!("onex/{mode_name}/records_off/{driver}"), |b| {
                b.iter(|| rt.block_on(onex_fanout(&onex_rt, mode, false)))
            });
        }
        g.bench_function(format!("dagx/{driver}"), |b| {
            b.iter(|| rt.block_on(dagx_fanout()))
        });
    }
    g.sample_size(10);
    g.bench_function("dagrs/multi_thread", |b| {
        b.iter(|| mt.block_on(dagrs_fanout::run(N)))
    });
    g.sample_size(20);
    let sp = spawned();
    g.bench_function("joinset/spawned", |b| {
        b.iter(|| in_task(&sp, joinset_fanout()))
    });
    for (mode_name, mode) in [("parallel8", PARALLEL), ("batch", ExecutionMode::Batch)] {
        for records in [true, false] {
            let on = if records { "on" } else { "off" };
            g.bench_function(format!("onex/{mode_name}/records_{on}/spawned"), |b| {
                b.iter(|| {
                    let rt = onex_rt.clone();
                    in_task(&sp, async move { onex_fanout(&rt, mode, records).await })
                })
            });
        }
    }
    g.bench_function("dagx/spawned", |b| b.iter(|| in_task(&sp, dagx_fanout())));
    g.sample_size(10);
    g.bench_function("dagrs/spawned", |b| {
        b.iter(|| in_task(&sp, dagrs_fanout::run(N)))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = fanout
}
criterion_main!(benches);
