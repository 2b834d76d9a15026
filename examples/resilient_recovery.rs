//! # Resilient recovery: retries with backoff, timeouts, and partial success
//!
//! ```text
//! cargo run --release --example resilient_recovery
//! RUST_LOG=onex_runtime=info cargo run --release --example resilient_recovery   # with logs
//! ```
//!
//! A store dashboard needs two upstream services: an inventory API (essential) and a
//! recommendation service (nice to have). Two kinds of trouble, two remedies:
//!
//! 1. **A slow upstream.** The inventory API hangs on its first calls. Its node has
//!    `timeout = 100ms`, so a hung call is cut off at its deadline and fails with
//!    `TIMEOUT`, a *transient* error; `retries = 3, backoff = exponential(50ms)` tries
//!    again after ~50 ms, then ~100 ms (jittered), and the third attempt gets through. The
//!    run completes; the report shows the attempts.
//! 2. **A broken optional dependency.** The recommendation service fails. With
//!    `FailureStrategy::ContinueOnError` the run goes on with every step that does not
//!    depend on the failure: the personalisation step that needs recommendations is
//!    *skipped*, the page is rendered without them (its node takes them as an `Option`),
//!    and the run ends `PartialSuccess` with its output. The same failure under the default
//!    `FailFast` fails the whole run.

use std::error::Error;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onex::prelude::*;
use onex::{RunEvent, WorkflowError};
use tracing_subscriber::EnvFilter;

// ---- the data ----

/// Which store's dashboard to build.
#[derive(Debug, Clone)]
pub struct DashboardRequest {
    pub store_id: u32,
}

/// Units on hand per product.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub store_id: u32,
    pub units: Vec<(String, u32)>,
}

/// Products the recommendation service suggests.
#[derive(Debug, Clone)]
pub struct Recommendations(pub Vec<String>);

/// Suggestions that are actually in stock.
#[derive(Debug, Clone, PartialEq)]
pub struct Picks(pub Vec<String>);

/// The essential part of the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub store_id: u32,
    pub total_units: u32,
    pub low_stock: Vec<String>,
}

/// The rendered dashboard: always a summary, picks when they could be made.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub summary: Summary,
    pub picks: Option<Picks>,
}

// ---- the upstream services ----

/// Stand-ins for the two remote services, as one cheap-to-clone client handle registered
/// on the runtime; the demo keeps a clone to set up each scenario and count calls.
#[derive(Clone)]
pub struct Upstreams {
    inner: Arc<UpstreamState>,
}

struct UpstreamState {
    /// How many of the next inventory calls hang.
    slow_inventory_calls: AtomicU32,
    inventory_calls: AtomicU32,
    recommendations_up: AtomicBool,
}

impl Upstreams {
    /// Services where the next `slow_inventory_calls` inventory calls hang, and the
    /// recommendation service is up or down.
    pub fn new(slow_inventory_calls: u32, recommendations_up: bool) -> Self {
        Upstreams {
            inner: Arc::new(UpstreamState {
                slow_inventory_calls: AtomicU32::new(slow_inventory_calls),
                inventory_calls: AtomicU32::new(0),
                recommendations_up: AtomicBool::new(recommendations_up),
            }),
        }
    }

    /// Calls the inventory API has received.
    pub fn inventory_calls(&self) -> u32 {
        self.inner.inventory_calls.load(Ordering::SeqCst)
    }

    async fn inventory(&self, store_id: u32) -> Inventory {
        self.inner.inventory_calls.fetch_add(1, Ordering::SeqCst);
        let hangs = self
            .inner
            .slow_inventory_calls
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        // A hung call would take far longer than the node's timeout; the runtime drops
        // this future at the deadline, so the sleep never completes.
        let latency = if hangs {
            Duration::from_secs(5)
        } else {
            Duration::from_millis(10)
        };
        tokio::time::sleep(latency).await;
        Inventory {
            store_id,
            units: vec![
                ("espresso beans".to_owned(), 42),
                ("oat milk".to_owned(), 3),
                ("grinder".to_owned(), 7),
                ("filter papers".to_owned(), 0),
            ],
        }
    }

    async fn recommendations(&self) -> Result<Recommendations, NodeError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if self.inner.recommendations_up.load(Ordering::SeqCst) {
            Ok(Recommendations(vec![
                "grinder".to_owned(),
                "filter papers".to_owned(),
                "oat milk".to_owned(),
            ]))
        } else {
            // A bug on their side: retrying would not help, so the error is permanent.
            Err(NodeError::permanent(
                "recommendation service answered HTTP 500",
            ))
        }
    }
}

// ---- the nodes ----

/// EFFECT: the essential upstream. Each attempt gets 100 ms; a timeout is transient, so
/// up to 3 retries follow, ~50 ms then ~100 ms then ~200 ms apart (jittered, so many
/// clients retrying at once don't hit the service in lockstep).
#[node(
    effect,
    name = "NodeInventoryApiEffect",
    timeout = 100ms,
    retries = 3,
    backoff = exponential(50ms)
)]
pub async fn fetch_inventory(
    ctx: &Context,
    request: &DashboardRequest,
) -> Result<Inventory, NodeError> {
    Ok(ctx
        .resource::<Upstreams>()?
        .inventory(request.store_id)
        .await)
}

/// EFFECT: the optional upstream. No retries: its failures are permanent.
#[node(effect, name = "NodeRecommendationEffect", timeout = 1s)]
pub async fn fetch_recommendations(
    ctx: &Context,
    _request: &DashboardRequest,
) -> Result<Recommendations, NodeError> {
    ctx.resource::<Upstreams>()?.recommendations().await
}

/// COMPUTE: keeps the recommendations that are in stock.
#[node(compute)]
pub fn personalise(inventory: &Inventory, recommendations: &Recommendations) -> Picks {
    let in_stock = |name: &String| {
        inventory
            .units
            .iter()
            .any(|(product, units)| product == name && *units > 0)
    };
    Picks(
        recommendations
            .0
            .iter()
            .filter(|name| in_stock(name))
            .cloned()
            .collect(),
    )
}

/// COMPUTE: totals and the products running low.
#[node(compute)]
pub fn summarise(inventory: &Inventory) -> Summary {
    Summary {
        store_id: inventory.store_id,
        total_units: inventory.units.iter().map(|(_, units)| units).sum(),
        low_stock: inventory
            .units
            .iter()
            .filter(|(_, units)| *units < 5)
            .map(|(product, _)| product.clone())
            .collect(),
    }
}

/// COMPUTE: the page. Taking `picks` as `Option<&Picks>` is what lets it run when the
/// picks were skipped: it degrades instead of being skipped too.
#[node(compute)]
pub fn render(summary: &Summary, picks: Option<&Picks>) -> Page {
    Page {
        summary: summary.clone(),
        picks: picks.cloned(),
    }
}

workflow! {
    /// A store dashboard from an essential and an optional upstream.
    pub workflow Dashboard(request: DashboardRequest) -> Page {
        inventory = fetch_inventory(request);
        recommendations = fetch_recommendations(request);
        picks = personalise(inventory, recommendations);
        summary = summarise(inventory);
        page = render(summary, picks);
        return page;
    }
}

// ---- the scenarios ----

/// One run of the dashboard.
#[derive(Debug)]
pub struct Scenario {
    pub title: &'static str,
    pub result: Result<WorkflowRun<Page>, WorkflowError>,
    /// Calls the inventory API received.
    pub inventory_calls: u32,
    /// What the run's observer heard about retries, as it happened.
    pub retries: Vec<String>,
}

impl Scenario {
    /// The run's report, whether it produced its output or not.
    pub fn report(&self) -> Option<&WorkflowReport> {
        match &self.result {
            Ok(run) => Some(&run.report),
            Err(e) => e.report(),
        }
    }
}

/// Builds one dashboard against fresh upstreams.
async fn scenario(
    title: &'static str,
    upstreams: Upstreams,
    strategy: FailureStrategy,
) -> Scenario {
    let rt = Runtime::builder().resource(upstreams.clone()).build();
    // An observer sees events as they happen: a progress bar or a log could hook in here.
    let retries = Arc::new(Mutex::new(Vec::new()));
    let heard = Arc::clone(&retries);
    let observer = move |event: &RunEvent<'_>| {
        if let RunEvent::StepRetried { .. } = event {
            heard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(event.to_string());
        }
    };
    let opts = RunOptions::new()
        // The two upstreams are independent: fetch them in the same wave, concurrently.
        .mode(ExecutionMode::Parallel { max_parallel: 4 })
        .failure_strategy(strategy)
        .observer(Arc::new(observer));
    let result = Dashboard::run(&rt, DashboardRequest { store_id: 7 }, opts).await;
    let retries = retries.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Scenario {
        title,
        result,
        inventory_calls: upstreams.inventory_calls(),
        retries,
    }
}

/// 1. The inventory API hangs twice, then answers: recovered by retries.
pub async fn slow_upstream() -> Scenario {
    scenario(
        "inventory API hangs on the first two calls",
        Upstreams::new(2, true),
        FailureStrategy::ContinueOnError,
    )
    .await
}

/// 2. The recommendation service is down: a partial success without picks.
pub async fn optional_dependency_down() -> Scenario {
    scenario(
        "recommendation service down, ContinueOnError",
        Upstreams::new(0, false),
        FailureStrategy::ContinueOnError,
    )
    .await
}

/// 3. The same outage under FailFast: the whole run fails.
pub async fn optional_dependency_down_fail_fast() -> Scenario {
    scenario(
        "recommendation service down, FailFast",
        Upstreams::new(0, false),
        FailureStrategy::FailFast,
    )
    .await
}

fn print(n: usize, s: &Scenario) {
    println!("{n}. {}", s.title);
    match &s.result {
        Ok(run) => {
            let picks = run
                .output
                .picks
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |p| p.0.join(", "));
            println!(
                "   → page for store {}: {} units, low stock: {}; picks: {picks}",
                run.output.summary.store_id,
                run.output.summary.total_units,
                run.output.summary.low_stock.join(", "),
            );
        }
        Err(e) => println!("   → no page: {e}"),
    }
    println!("   inventory API calls: {}", s.inventory_calls);
    for line in &s.retries {
        println!("   observer: {line}");
    }
    if let Some(report) = s.report() {
        for record in report
            .steps
            .iter()
            .filter(|r| !r.failed_attempts.is_empty())
        {
            for a in &record.failed_attempts {
                println!(
                    "   {} attempt {}: {:.0?}..{:.0?} {}",
                    record.step,
                    a.attempt,
                    a.started,
                    a.finished,
                    a.error.code()
                );
            }
        }
        println!("{report}\n");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Logs go to stderr, filtered by RUST_LOG (`onex_runtime=info` logs each retry with
    // its delay, `onex_runtime=warn` each failed step); by default only errors are shown.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    print(1, &slow_upstream().await);
    print(2, &optional_dependency_down().await);
    print(3, &optional_dependency_down_fail_fast().await);
    Ok(())
}
