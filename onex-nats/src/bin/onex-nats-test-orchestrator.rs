//! An orchestrator process for onex-nats's failover test: runs a durable workflow whose
//! journal is the `KvJournal` of the default layout, so that another such process can
//! finish a run this one was killed in. Not for users.
//!
//! `onex-nats-test-orchestrator url=nats://127.0.0.1:4222 ledger=PATH run=ID input=N
//! [action=run|resume] [delay_ms=N] [ttl_ms=N]`
//!
//! The workflow is a chain of four steps `s0 → s1 → s2 → s3`, each the idempotent effect
//! `Add` (ten times its input, plus one). Every call appends `start <key>` to the
//! ledger, sleeps `delay_ms`, then appends `end <key>`, `<key>` being the call's
//! idempotency key (run id / step). A resumer whose run is still leased by a killed
//! holder waits for the lease to expire, as a restarted service would.
//!
//! Prints `OK <output JSON>` or `ERR <message>`.
//!
//! With `runs=FROM..TO [prefix=soak-] [concurrency=N] [ack_wait_ms=N]` (the soak test) it
//! runs `<prefix>FROM` .. `<prefix>TO` (exclusive), `concurrency` at a time, each with
//! input `i`, on the chain `Double → Inc → Add` whose `Double` and `Inc` run remote on
//! the workers (`RemoteSteps`, a `Layout` with that ack wait) and `Add` here, appending
//! to the ledger as above. Prints `OK <run id> <output JSON> <redelivered>` (how many of
//! its remote steps a worker ran on a redelivery: one a killed worker held) or
//! `ERR <run id> <message>` per run.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use onex_nats::{Dispatcher, KvJournal, Layout, RemoteSteps};
use onex_runtime::journal::JournalError;
use onex_runtime::{Context, Delivery, NodeError, RunOptions, Runtime, WorkflowError};
use onex_spec::NodeRegistry;
use serde_json::Value;

const WORKFLOW: &str = "
workflow_id: failover_chain
steps:
  - step_id: main
    thunks:
      - { thunk_id: s0, target_node_type: Add, dependencies: [$input] }
      - { thunk_id: s1, target_node_type: Add, dependencies: [s0] }
      - { thunk_id: s2, target_node_type: Add, dependencies: [s1] }
      - { thunk_id: s3, target_node_type: Add, dependencies: [s2] }
output: s3
";

const SOAK: &str = "
workflow_id: soak_chain
steps:
  - step_id: main
    thunks:
      - { thunk_id: doubled, target_node_type: Double, dependencies: [$input] }
      - { thunk_id: plus, target_node_type: Inc, dependencies: [doubled] }
      - { thunk_id: added, target_node_type: Add, dependencies: [plus] }
output: added
";

fn append(ledger: &PathBuf, line: &str) -> Result<(), NodeError> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ledger)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    Ok(())
}

fn registry(ledger: PathBuf, delay: Duration) -> NodeRegistry {
    let ledger = Arc::new(ledger);
    let mut registry = NodeRegistry::new();
    registry.effect("Add", move |ctx: Context, n: i64| {
        let ledger = Arc::clone(&ledger);
        async move {
            let key = ctx.idempotency_key();
            append(&ledger, &format!("start {key}"))?;
            tokio::time::sleep(delay).await;
            append(&ledger, &format!("end {key}"))?;
            Ok::<_, NodeError>(n * 10 + 1)
        }
    });
    registry.delivery("Add", Delivery::Idempotent);
    // Run by the workers in the soak; registered here for their types.
    registry
        .compute_infallible("Double", |n: &i64| n * 2)
        .compute_infallible("Inc", |n: &i64| n + 1);
    registry
}

fn leased(result: &Result<onex_runtime::WorkflowRun<Value>, WorkflowError>) -> bool {
    matches!(result, Err(WorkflowError::Durable(e))
        if matches!(e.journal_error(), Some(JournalError::RunLeased { .. })))
}

#[tokio::main]
async fn main() {
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let arg = |k: &str| args.get(k).map(String::as_str).unwrap_or("");
    let delay = Duration::from_millis(arg("delay_ms").parse().unwrap_or(0));
    let ttl = Duration::from_millis(arg("ttl_ms").parse().unwrap_or(500));
    let client = async_nats::connect(arg("url")).await.expect("a client");
    if let Some(runs) = args.get("runs") {
        return soak(&args, runs, client, delay, ttl).await;
    }
    let journal = KvJournal::open(client, &Layout::default())
        .await
        .expect("the journal opens");
    let rt = Runtime::builder().journal(journal).lease_ttl(ttl).build();
    let wf = registry(PathBuf::from(arg("ledger")), delay)
        .load_yaml(WORKFLOW)
        .expect("the workflow loads");
    let run_id = arg("run").to_owned();
    let input = Value::from(arg("input").parse::<i64>().expect("input=N"));
    let opts = RunOptions::new();
    let result = loop {
        let result = if arg("action") == "resume" {
            wf.resume(&rt, &run_id, opts.clone()).await
        } else {
            wf.run_on(&rt, input.clone(), opts.clone().run_id(&run_id))
                .await
        };
        if !leased(&result) {
            break result;
        }
        tokio::time::sleep(ttl / 4).await;
    };
    match result {
        Ok(run) => println!("OK {}", run.output),
        Err(e) => println!("ERR {}", e.to_string().replace('\n', " | ")),
    }
}

/// The soak mode: many runs whose `Double` and `Inc` run on the workers.
async fn soak(
    args: &HashMap<String, String>,
    runs: &str,
    client: async_nats::Client,
    delay: Duration,
    ttl: Duration,
) {
    let arg = |k: &str| args.get(k).map(String::as_str).unwrap_or("");
    let (from, to) = runs.split_once("..").expect("runs=FROM..TO");
    let (from, to): (i64, i64) = (from.parse().expect("FROM"), to.parse().expect("TO"));
    let number = |k: &str, default: u64| arg(k).parse().unwrap_or(default);
    let layout = Layout::default().ack_wait(Duration::from_millis(number("ack_wait_ms", 30_000)));
    let journal = KvJournal::open(client.clone(), &layout)
        .await
        .expect("the journal opens");
    let dispatcher = Dispatcher::with_layout(client, layout)
        .await
        .expect("the dispatcher")
        .timeout(Duration::from_secs(120));
    let remote = RemoteSteps::new(dispatcher).node_types(["Double", "Inc"]);
    let rt = Runtime::builder()
        .journal(journal)
        .lease_ttl(ttl)
        .step_driver(remote.clone())
        .build();
    let wf = registry(PathBuf::from(arg("ledger")), delay)
        .load_yaml(SOAK)
        .expect("the workflow loads");
    let prefix = arg("prefix");
    let concurrency = number("concurrency", 32) as usize;
    let mut finished = futures_util::stream::iter(from..to)
        .map(|i| {
            let (rt, wf) = (&rt, &wf);
            async move {
                let run_id = format!("{prefix}{i}");
                let options = RunOptions::new().run_id(&run_id);
                (run_id, wf.run_on(rt, Value::from(i), options).await)
            }
        })
        .buffer_unordered(concurrency);
    while let Some((run_id, result)) = finished.next().await {
        match result {
            Ok(run) => {
                let spans = remote.worker_spans(run.report.workflow_id);
                let redelivered = spans.iter().filter(|s| s.delivery > 1).count();
                println!("OK {run_id} {} {redelivered}", run.output);
            }
            Err(e) => println!("ERR {run_id} {}", e.to_string().replace('\n', " | ")),
        }
    }
}
