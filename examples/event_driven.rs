//! An event-driven orchestrator (the tutorial's exercise 3): `Orders::serve` runs the
//! workflow for every event of a stream, the event id as the run id, so an event delivered
//! twice starts one run. SIGTERM (or Ctrl-C) drains: nothing more is pulled, the runs in
//! flight finish.
//!
//! `cargo run --example event_driven` serves a stream of five events with an in-memory
//! journal. Built with `--features nats` and run with `ONEX_NATS_URL=nats://127.0.0.1:4222`,
//! it serves the JetStream subject
//! `orders.created` instead (`NatsTrigger`, payload: the quantity as JSON, `Nats-Msg-Id`:
//! the order id) with the `KvJournal`, so its runs survive the process and another
//! orchestrator's `Runtime::recover` finishes those it left:
//!
//! ```text
//! $ nats-server -js -sd /tmp/nats &
//! $ ONEX_NATS_URL=nats://127.0.0.1:4222 cargo run --features nats --example event_driven &
//! $ nats pub orders.created 3 -H Nats-Msg-Id:o1
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::stream::{self, Stream, StreamExt};
use onex::journal::{Journal, MemoryJournal};
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

/// Serves `source` on a runtime with `journal` and at most two runs in flight, until the
/// source ends or `shutdown` completes.
pub async fn serve_orders(
    journal: impl Journal + 'static,
    source: impl Stream<Item = Event<u32>>,
    shutdown: impl Future<Output = ()>,
) -> Served {
    let rt = Runtime::builder()
        .journal(journal)
        .max_concurrent_workflows(2)
        .build();
    Orders::serve(&rt, source, RunOptions::new(), shutdown).await
}

/// Serves the events of subject `orders.created` on the server at `url`, with the
/// `KvJournal`, until SIGTERM.
#[cfg(feature = "nats")]
async fn serve_nats(url: &str) -> Result<Served, Box<dyn std::error::Error>> {
    use onex::nats::{KvJournal, Layout, NatsTrigger, async_nats};
    let client = async_nats::connect(url).await?;
    let journal = KvJournal::open(client.clone(), &Layout::default()).await?;
    let events = NatsTrigger::subject("orders.created")
        .events::<u32>(client)
        .await?;
    Ok(serve_orders(journal, events, terminated()).await)
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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let served = match std::env::var("ONEX_NATS_URL") {
        #[cfg(feature = "nats")]
        Ok(url) => serve_nats(&url).await?,
        #[cfg(not(feature = "nats"))]
        Ok(_) => return Err("ONEX_NATS_URL is set: build the example with --features nats".into()),
        Err(_) => serve_orders(MemoryJournal::new(), events(), terminated()).await,
    };
    println!(
        "{} runs, {} duplicate events, {} errors; {} orders charged",
        served.runs,
        served.duplicates,
        served.errors.len(),
        CHARGED.load(Ordering::SeqCst)
    );
    Ok(())
}
