//! An event-driven orchestrator (the tutorial's exercise 3): `Orders::serve` runs the
//! workflow for every event of a stream, the event id as the run id, so an event delivered
//! twice starts one run. SIGTERM (or Ctrl-C) drains: nothing more is pulled, the runs in
//! flight finish.
//!
//! `cargo run --example event_driven`
//!
//! The journal here is in memory; a `SqliteJournal` or the NATS `KvJournal` makes the
//! runs survive the process, and `Runtime::recover` finishes those it left.

use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::stream::{self, Stream, StreamExt};
use onex::journal::MemoryJournal;
use onex::prelude::*;
use onex::{Event, Served};

/// How many orders were charged: once per order, however often its event came.
pub static CHARGED: AtomicUsize = AtomicUsize::new(0);

#[node(compute)]
fn price(qty: &u32) -> u64 {
    u64::from(*qty) * 250
}

#[node(effect, idempotent)]
async fn charge(cents: &u64) -> Result<String, NodeError> {
    CHARGED.fetch_add(1, Ordering::SeqCst);
    Ok(format!("charged {cents}"))
}

workflow! {
    /// An order: priced, then charged.
    #[durable]
    pub workflow Orders(qty: u32) -> String {
        cents = price(qty);
        receipt = charge(cents);
        return receipt;
    }
}

/// The events: order `o<n>` for `n` items, `o2` delivered twice.
pub fn events() -> impl Stream<Item = Event<u32>> {
    stream::iter([1, 2, 3, 2, 4]).map(|n| Event::new(format!("o{n}"), n))
}

/// Serves `source` on a runtime with a journal and at most two runs in flight, until the
/// source ends or `shutdown` completes.
pub async fn serve_orders(
    source: impl Stream<Item = Event<u32>>,
    shutdown: impl Future<Output = ()>,
) -> Served {
    let rt = Runtime::builder()
        .journal(MemoryJournal::new())
        .max_concurrent_workflows(2)
        .build();
    Orders::serve(&rt, source, RunOptions::new(), shutdown).await
}

/// Completes on SIGTERM or Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() {
    let served = serve_orders(events(), terminated()).await;
    println!(
        "{} runs, {} duplicate events, {} errors; {} orders charged",
        served.runs,
        served.duplicates,
        served.errors.len(),
        CHARGED.load(Ordering::SeqCst)
    );
}
