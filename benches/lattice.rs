//! lattice: 4 levels × 8 steps, each sleeping 10 ms and reading all 8 steps of the level
//! before, then a sink summing the last level; run Parallel. onex against a `JoinSet` per
//! level, dagx 0.3 and dagrs 0.9. tokio's timer ticks in 1 ms, so a 10 ms sleep takes up to
//! 11 ms and about 45 ms is the floor for the four levels, not 40.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use onex::prelude::*;

const NAP: Duration = Duration::from_millis(10);
/// 8 ones, summed three times, then the sink's sum: 8^4.
const EXPECTED: u64 = 4096;

#[node(effect)]
async fn first(x: &u64) -> Result<u64, NodeError> {
    tokio::time::sleep(NAP).await;
    Ok(x + 1)
}

#[node(effect)]
#[allow(clippy::too_many_arguments)]
async fn level(
    a: &u64,
    b: &u64,
    c: &u64,
    d: &u64,
    e: &u64,
    f: &u64,
    g: &u64,
    h: &u64,
) -> Result<u64, NodeError> {
    tokio::time::sleep(NAP).await;
    Ok(a + b + c + d + e + f + g + h)
}

#[node(compute)]
#[allow(clippy::too_many_arguments)]
fn total(a: &u64, b: &u64, c: &u64, d: &u64, e: &u64, f: &u64, g: &u64, h: &u64) -> u64 {
    a + b + c + d + e + f + g + h
}

workflow! {
    /// 4 levels of 8 sleeping steps, each reading all 8 of the level before.
    pub workflow Lattice(x: u64) -> u64 {
        l0_0 = first(x);
        l0_1 = first(x);
        l0_2 = first(x);
        l0_3 = first(x);
        l0_4 = first(x);
        l0_5 = first(x);
        l0_6 = first(x);
        l0_7 = first(x);
        l1_0 = level(l0_0, l0_1, l0_2, l0_3, l0_4, l0_5, l0_6, l0_7);
        l1_1 = level(l0_0, l0_1, l0_2, l0_3, l0_4, l0_5, l0_6, l0_7);
        l1_2 = level(l0_0, l0_1, l0_2, l0_3, l0_4, l0_5, l0_6, l0_7);
        l1_3 = level(l0_0, l0_1, l0_2, l0_3, l0_4, l0_5, l0_6, l0_7);
        l1_4 = level(l0_0, l0_1, l0_2, l0_3, l0_4, l0_5, l0_6, l0_7);
        l1_5 = level(l0_0, l0_1, l0_2, l0_3, l0_4, l0_5, l0_6, l0_7);
        l1_6 = level(l0_0, l0_1, l0_2, l0_3, l0_4, l0_5, l0_6, l0_7);
        l1_7 = level(l0_0, l0_1, l0_2, l0_3, l0_4, l0_5, l0_6, l0_7);
        l2_0 = level(l1_0, l1_1, l1_2, l1_3, l1_4, l1_5, l1_6, l1_7);
        l2_1 = level(l1_0, l1_1, l1_2, l1_3, l1_4, l1_5, l1_6, l1_7);
        l2_2 = level(l1_0, l1_1, l1_2, l1_3, l1_4, l1_5, l1_6, l1_7);
        l2_3 = level(l1_0, l1_1, l1_2, l1_3, l1_4, l1_5, l1_6, l1_7);
        l2_4 = level(l1_0, l1_1, l1_2, l1_3, l1_4, l1_5, l1_6, l1_7);
        l2_5 = level(l1_0, l1_1, l1_2, l1_3, l1_4, l1_5, l1_6, l1_7);
        l2_6 = level(l1_0, l1_1, l1_2, l1_3, l1_4, l1_5, l1_6, l1_7);
        l2_7 = level(l1_0, l1_1, l1_2, l1_3, l1_4, l1_5, l1_6, l1_7);
        l3_0 = level(l2_0, l2_1, l2_2, l2_3, l2_4, l2_5, l2_6, l2_7);
        l3_1 = level(l2_0, l2_1, l2_2, l2_3, l2_4, l2_5, l2_6, l2_7);
        l3_2 = level(l2_0, l2_1, l2_2, l2_3, l2_4, l2_5, l2_6, l2_7);
        l3_3 = level(l2_0, l2_1, l2_2, l2_3, l2_4, l2_5, l2_6, l2_7);
        l3_4 = level(l2_0, l2_1, l2_2, l2_3, l2_4, l2_5, l2_6, l2_7);
        l3_5 = level(l2_0, l2_1, l2_2, l2_3, l2_4, l2_5, l2_6, l2_7);
        l3_6 = level(l2_0, l2_1, l2_2, l2_3, l2_4, l2_5, l2_6, l2_7);
        l3_7 = level(l2_0, l2_1, l2_2, l2_3, l2_4, l2_5, l2_6, l2_7);
        out = total(l3_0, l3_1, l3_2, l3_3, l3_4, l3_5, l3_6, l3_7);
        return out;
    }
}

async fn onex_lattice(rt: &Runtime, records: bool) -> u64 {
    let opts = RunOptions::new()
        .mode(ExecutionMode::Parallel { max_parallel: 8 })
        .records(records);
    Lattice::run(rt, black_box(0), opts)
        .await
        .expect("the lattice runs")
        .output
}

/// The hand-written baseline: one `JoinSet` per level, each task sleeping then summing the
/// level before.
async fn joinset_lattice() -> u64 {
    let mut prev = vec![black_box(0u64); 1];
    for level in 0..4 {
        let mut set = tokio::task::JoinSet::new();
        let input: u64 = if level == 0 {
            prev[0] + 1
        } else {
            prev.iter().sum()
        };
        for _ in 0..8 {
            set.spawn(async move {
                tokio::time::sleep(NAP).await;
                input
            });
        }
        prev = set.join_all().await;
    }
    prev.iter().sum()
}

type Handles8<'a> = (
    &'a dagx::TaskHandle<u64>,
    &'a dagx::TaskHandle<u64>,
    &'a dagx::TaskHandle<u64>,
    &'a dagx::TaskHandle<u64>,
    &'a dagx::TaskHandle<u64>,
    &'a dagx::TaskHandle<u64>,
    &'a dagx::TaskHandle<u64>,
    &'a dagx::TaskHandle<u64>,
);

fn eight(p: &[dagx::TaskHandle<u64>]) -> Handles8<'_> {
    (&p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &p[6], &p[7])
}

async fn dagx_lattice() -> u64 {
    use dagx::{DagRunner, TaskHandle, task_fn};
    type Eight = (u64, u64, u64, u64, u64, u64, u64, u64);
    let dag = DagRunner::new();
    let src = dag.add_task(task_fn(|_: ()| async { black_box(0u64) }));
    let mut prev: Vec<TaskHandle<u64>> = (0..8)
        .map(|_| {
            dag.add_task(task_fn(|x: u64| async move {
                tokio::time::sleep(NAP).await;
                x + 1
            }))
            .depends_on(&src)
        })
        .collect();
    for _ in 1..4 {
        let next = (0..8)
            .map(|_| {
                dag.add_task(task_fn(|(a, b, c, d, e, f, g, h): Eight| async move {
                    tokio::time::sleep(NAP).await;
                    a + b + c + d + e + f + g + h
                }))
                .depends_on(eight(&prev))
            })
            .collect();
        prev = next;
    }
    let out = dag
        .add_task(task_fn(|(a, b, c, d, e, f, g, h): Eight| async move {
            a + b + c + d + e + f + g + h
        }))
        .depends_on(eight(&prev));
    dag.run(|fut| {
        tokio::spawn(fut);
    })
    .await
    .expect("dagx runs");
    dag.get(out).expect("dagx output")
}

mod dagrs_lattice {
    use async_trait::async_trait;
    use dagrs::{
        Action, Content, DefaultNode, EnvVar, Graph, InChannels, Node, NodeTable, OutChannels,
        Output,
    };
    use std::sync::Arc;

    use super::NAP;

    /// Sums its inputs (or starts from `base` when it has none), after sleeping if `nap`.
    struct Step {
        base: u64,
        nap: bool,
    }

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
            if self.nap {
                tokio::time::sleep(NAP).await;
            }
            let x = self.base + vals.iter().sum::<u64>();
            out.broadcast(Content::new(x)).await;
            Output::Out(Some(Content::new(x)))
        }
    }

    pub async fn run() -> u64 {
        let mut table = NodeTable::new();
        let mut graph = Graph::new();
        let mut prev = Vec::new();
        for level in 0..4 {
            let mut ids = Vec::new();
            for j in 0..8 {
                let step = Step {
                    base: u64::from(level == 0),
                    nap: true,
                };
                let node = DefaultNode::with_action(format!("l{level}_{j}"), step, &mut table);
                ids.push(node.id());
                graph.add_node(node).expect("a node");
            }
            for &p in &prev {
                graph.add_edge(p, ids.clone()).expect("edges");
            }
            prev = ids;
        }
        let sink = DefaultNode::with_action(
            "out".to_string(),
            Step {
                base: 0,
                nap: false,
            },
            &mut table,
        );
        let sink_id = sink.id();
        graph.add_node(sink).expect("a node");
        for &p in &prev {
            graph.add_edge(p, vec![sink_id]).expect("an edge");
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

fn lattice(c: &mut Criterion) {
    let onex_rt = Runtime::default();
    let mt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    assert_eq!(mt.block_on(onex_lattice(&onex_rt, true)), EXPECTED);
    assert_eq!(mt.block_on(joinset_lattice()), EXPECTED);
    assert_eq!(mt.block_on(dagx_lattice()), EXPECTED);
    assert_eq!(mt.block_on(dagrs_lattice::run()), EXPECTED);

    let mut g = c.benchmark_group("lattice");
    g.bench_function("joinset", |b| b.iter(|| mt.block_on(joinset_lattice())));
    g.bench_function("onex/records_on", |b| {
        b.iter(|| mt.block_on(onex_lattice(&onex_rt, true)))
    });
    g.bench_function("onex/records_off", |b| {
        b.iter(|| mt.block_on(onex_lattice(&onex_rt, false)))
    });
    g.bench_function("dagx", |b| b.iter(|| mt.block_on(dagx_lattice())));
    g.bench_function("dagrs", |b| b.iter(|| mt.block_on(dagrs_lattice::run())));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = lattice
}
criterion_main!(benches);
