//! chain: 1,000 trivial compute steps in a line, each adding 1 to its predecessor's `u64`,
//! run Sequential. onex (records on and off, from a current-thread and a multi-thread
//! tokio runtime, and in a task spawned on a 2-worker one) against direct calls, dagx 0.3
//! and dagrs 0.9.
//!
//! Every figure is one whole run of the 1,000 steps; divide by 1,000 for the cost per node.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use onex::prelude::*;

const N: u64 = 1000;

#[node(compute)]
fn step(x: &u64) -> u64 {
    x + 1
}

include!("gen/chain1000.rs");
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

async fn onex_chain(rt: &Runtime, records: bool) -> u64 {
    let opts = RunOptions::new()
        .mode(ExecutionMode::Sequential)
        .records(records);
    let run = Chain1000::run(rt, black_box(0), opts)
        .await
        .expect("the chain runs");
    debug_assert_eq!(run.report.records, records);
    run.output
}

async fn dagx_chain() -> u64 {
    use dagx::{DagRunner, task_fn};
    let dag = DagRunner::new();
    let first = dag.add_task(task_fn(|_: ()| async { 0u64 }));
    let mut prev = dag
        .add_task(task_fn(|x: u64| async move { x + 1 }))
        .depends_on(&first);
    for _ in 1..N {
        prev = dag
            .add_task(task_fn(|x: u64| async move { x + 1 }))
            .depends_on(prev);
    }
    dag.run(|fut| {
        tokio::spawn(fut);
    })
    .await
    .expect("dagx runs");
    dag.get(prev).expect("dagx output")
}

mod dagrs_chain {
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
            out.broadcast(Content::new(0u64)).await;
            Output::Out(Some(Content::new(0u64)))
        }
    }

    struct Increment;

    #[async_trait]
    impl Action for Increment {
        async fn run(
            &self,
            input: &mut InChannels,
            out: &mut OutChannels,
            _: Arc<EnvVar>,
        ) -> Output {
            let vals: Vec<u64> = input
                .map(|c| *c.expect("an input").into_inner::<u64>().expect("a u64"))
                .await;
            let x = vals[0] + 1;
            out.broadcast(Content::new(x)).await;
            Output::Out(Some(Content::new(x)))
        }
    }

    /// The chain's last value. dagrs counts the source as a node, so it runs N - 1
    /// increments after it: N nodes in all, like the others.
    pub async fn run(n: u64) -> u64 {
        let mut table = NodeTable::new();
        let mut graph = Graph::new();
        let source = DefaultNode::with_action("n0".to_string(), Source, &mut table);
        let mut ids = vec![source.id()];
        graph.add_node(source).expect("a node");
        for i in 1..n {
            let node = DefaultNode::with_action(format!("n{i}"), Increment, &mut table);
            ids.push(node.id());
            graph.add_node(node).expect("a node");
        }
        for w in ids.windows(2) {
            graph.add_edge(w[0], vec![w[1]]).expect("an edge");
        }
        graph.set_env(EnvVar::new(table));
        graph.async_start().await.expect("dagrs runs");
        let last = ids[ids.len() - 1];
        *graph
            .get_results::<u64>()
            .get(&last)
            .and_then(Clone::clone)
            .expect("dagrs output")
    }
}

fn chain(c: &mut Criterion) {
    let onex_rt = Runtime::default();
    let ct = current_thread();
    let mt = multi_thread();
    // Check every contender computes the same thing before timing it.
    assert_eq!(ct.block_on(onex_chain(&onex_rt, true)), N);
    assert_eq!(ct.block_on(onex_chain(&onex_rt, false)), N);
    assert_eq!(mt.block_on(dagx_chain()), N);
    assert_eq!(mt.block_on(dagrs_chain::run(N)), N - 1);

    let mut g = c.benchmark_group("chain");
    g.throughput(Throughput::Elements(N));
    g.bench_function("direct", |b| {
        b.iter(|| {
            let mut x = black_box(0u64);
            for _ in 0..N {
                x = step(black_box(&x));
            }
            x
        })
    });
    for (driver, rt) in [("current_thread", &ct), ("multi_thread", &mt)] {
        g.bench_function(format!("onex/records_on/{driver}"), |b| {
            b.iter(|| rt.block_on(onex_chain(&onex_rt, true)))
        });
        g.bench_function(format!("onex/records_off/{driver}"), |b| {
            b.iter(|| rt.block_on(onex_chain(&onex_rt, false)))
        });
        g.bench_function(format!("dagx/{driver}"), |b| {
            b.iter(|| rt.block_on(dagx_chain()))
        });
    }
    // dagrs spawns its nodes as tasks: it needs a multi-thread runtime.
    g.sample_size(10);
    g.bench_function("dagrs/multi_thread", |b| {
        b.iter(|| mt.block_on(dagrs_chain::run(N)))
    });
    g.sample_size(20);
    let sp = spawned();
    for records in [true, false] {
        let on = if records { "on" } else { "off" };
        g.bench_function(format!("onex/records_{on}/spawned"), |b| {
            b.iter(|| {
                let rt = onex_rt.clone();
                in_task(&sp, async move { onex_chain(&rt, records).await })
            })
        });
    }
    g.bench_function("dagx/spawned", |b| b.iter(|| in_task(&sp, dagx_chain())));
    g.sample_size(10);
    g.bench_function("dagrs/spawned", |b| {
        b.iter(|| in_task(&sp, dagrs_chain::run(N)))
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
    targets = chain
}
criterion_main!(benches);
