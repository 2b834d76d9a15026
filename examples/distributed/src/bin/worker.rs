//! A worker: runs the shop's `remote` nodes for any orchestrator on the same NATS server.
//!
//! `cargo run -p onex-example-distributed --bin worker -- nats://127.0.0.1:4222 [name]`
//!
//! Start as many as you like, on any machine that reaches the server; each stops cleanly
//! on Ctrl-C or SIGTERM (finishing the thunks it started).

use onex::dynamic::NodeRegistry;
use onex_example_distributed as _;
use onex_nats::{Worker, async_nats}; // links the shop's nodes into this binary

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "onex_nats=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let registry = NodeRegistry::linked();
    let client = async_nats::connect(&url).await?;
    let mut worker = Worker::new(client, registry);
    if let Some(name) = args.next() {
        worker = worker.name(name);
    }
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    worker
        .run_until(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = sigterm.recv() => {}
            }
        })
        .await?;
    Ok(())
}
