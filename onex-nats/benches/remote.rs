//! remote: trivial thunks run by worker processes over a real `nats-server -js` on
//! loopback (file storage), dispatched from this process.
//!
//! - `throughput/<k> workers`: thunks per second end to end — publish, a worker pulls and
//!   runs `Echo`, writes its result, the dispatcher's watch sees it — with 1,000 in flight
//!   and 1, 2 or 4 worker processes of 32 concurrent thunks each.
//! - `latency/1 worker`: one thunk at a time, the time a remote step adds to a node that
//!   costs nothing. Criterion's median is the p50; the p50 and p99 of every call measured
//!   are printed after the group.
//! - `workflow/local` and `workflow/remote step`: a one-step spec workflow (`Echo`) run
//!   one at a time, in process and with its step sent to the worker through
//!   `RemoteSteps`: the difference is what a remote step adds inside a run (the driver's
//!   boundaries included). The p50 and p99 of the remote runs are printed too.
//!
//! Needs `nats-server` (`$ONEX_NATS_SERVER` or `PATH`); without one it prints why and
//! measures nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use onex_nats::{Dispatcher, Layout, RemoteSteps};
use onex_runtime::{Runtime, Thunk, ThunkType};
use onex_spec::NodeRegistry;
use serde_json::{Value, json};
use support::{NatsServer, WorkerProcess, connect, wait_for_pullers};

const IN_FLIGHT: usize = 1000;

fn echo(i: u64) -> Thunk {
    let mut thunk = Thunk::new(ThunkType::Compute, "Echo");
    thunk.operation_data = json!(i);
    thunk
}

/// Runs `n` thunks with at most [`IN_FLIGHT`] at once; the time it took.
async fn run_many(dispatcher: &Dispatcher, n: u64) -> Duration {
    let started = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut next = 0;
    while next < n || !in_flight.is_empty() {
        while next < n && in_flight.len() < IN_FLIGHT {
            in_flight.push(dispatcher.call(echo(next)));
            next += 1;
        }
        if let Some(output) = in_flight.next().await {
            output.expect("an echo");
        }
    }
    started.elapsed()
}

fn remote(c: &mut Criterion) {
    let Some(server) = NatsServer::start("bench remote") else {
        return;
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let layout = Layout::default();
    let (client, dispatcher) = tokio.block_on(async {
        let client = connect(&server).await;
        let dispatcher = Dispatcher::with_layout(client.clone(), layout.clone())
            .await
            .expect("a dispatcher");
        (client, dispatcher)
    });

    let mut group = c.benchmark_group("remote/throughput");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    for workers in [1, 2, 4] {
        let _workers: Vec<_> = (0..workers)
            .map(|i| WorkerProcess::start(&server, &format!("w{workers}-{i}"), &[]))
            .collect();
        tokio.block_on(wait_for_pullers(&client, &layout, workers));
        group.bench_function(format!("{workers} workers"), |b| {
            b.iter_custom(|n| tokio.block_on(run_many(&dispatcher, n)));
        });
    }
    group.finish();

    let _worker = WorkerProcess::start(&server, "latency", &[]);
    tokio.block_on(wait_for_pullers(&client, &layout, 1));
    let samples = Mutex::new(Vec::new());
    let mut group = c.benchmark_group("remote/latency");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("1 worker", |b| {
        b.iter_custom(|n| {
            tokio.block_on(time_each(n, &samples, |i| {
                let dispatcher = &dispatcher;
                async move {
                    dispatcher.call(echo(i)).await.expect("an echo");
                }
            }))
        });
    });
    group.finish();
    print_quantiles("remote/latency/1 worker", &samples);

    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Echo", |v: &Value| v.clone());
    let wf = registry
        .load_yaml(
            "
workflow_id: echo
steps:
  - step_id: s
    thunks:
      - { thunk_id: echoed, target_node_type: Echo, operation_data: 1 }
output: echoed
",
        )
        .expect("the echo spec");
    let local = Runtime::default();
    let remote = Runtime::builder()
        .step_driver(RemoteSteps::new(dispatcher.clone()).node_types(["Echo"]))
        .build();
    let samples = Mutex::new(Vec::new());
    let mut group = c.benchmark_group("remote/workflow");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("local", |b| {
        b.iter_custom(|n| {
            tokio.block_on(async {
                let started = Instant::now();
                for _ in 0..n {
                    wf.run(&local, wf.run_options()).await.expect("a run");
                }
                started.elapsed()
            })
        });
    });
    group.bench_function("remote step", |b| {
        b.iter_custom(|n| {
            tokio.block_on(time_each(n, &samples, |_| async {
                wf.run(&remote, wf.run_options()).await.expect("a run");
            }))
        });
    });
    group.finish();
    print_quantiles("remote/workflow/remote step", &samples);
}

/// Runs `call(0..n)` one at a time; their total time, each call's time kept in `samples`.
async fn time_each<F, Fut>(n: u64, samples: &Mutex<Vec<Duration>>, mut call: F) -> Duration
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut seen = Vec::with_capacity(n as usize);
    for i in 0..n {
        let started = Instant::now();
        call(i).await;
        seen.push(started.elapsed());
    }
    let total = seen.iter().sum();
    samples.lock().unwrap().extend(seen);
    total
}

fn print_quantiles(name: &str, samples: &Mutex<Vec<Duration>>) {
    let mut samples = samples.lock().unwrap();
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{name}: {} calls, p50 {:?}, p99 {:?}",
        samples.len(),
        at(0.50),
        at(0.99)
    );
}

criterion_group!(benches, remote);
criterion_main!(benches);
