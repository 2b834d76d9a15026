//! The orchestrator: runs the shop's `Orders` workflow, sending its `Price` and `Charge`
//! calls to the workers and running the rest here.
//!
//! `cargo run -p onex-example-distributed --bin orchestrator -- nats://127.0.0.1:4222 [orders] [--all] [--trace trace.json]`
//!
//! `--all` sends every step to the workers (`RunOptions::remote(true)`); `--trace` writes
//! the first run's Perfetto timeline, with a track per worker.

use std::time::Instant;

use onex::prelude::*;
use onex_example_distributed::{Orders, REMOTE, order};
use onex_nats::{Dispatcher, RemoteSteps, async_nats, chrome_trace};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let count: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10);
    let all = args.iter().any(|a| a == "--all");
    let trace = args
        .iter()
        .position(|a| a == "--trace")
        .and_then(|at| args.get(at + 1));

    let client = async_nats::connect(&url).await?;
    let remote = RemoteSteps::new(Dispatcher::new(client).await?).node_types(REMOTE);
    let rt = Runtime::builder().step_driver(remote.clone()).build();
    let started = Instant::now();
    for id in 1..=count {
        let run = Orders::run(&rt, order(id), RunOptions::new().remote(all)).await?;
        println!("{}", run.output);
        let spans = remote.worker_spans(run.report.workflow_id);
        if id == 1
            && let Some(path) = trace
        {
            std::fs::write(path, chrome_trace(&run.report, &spans).to_string())?;
        }
    }
    eprintln!("{count} orders in {:?}", started.elapsed());
    Ok(())
}
