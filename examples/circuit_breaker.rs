//! # Circuit breaker: stop calling a service that is down
//!
//! ```text
//! cargo run --release --example circuit_breaker
//! RUST_LOG=onex_runtime=info cargo run --release --example circuit_breaker   # with logs
//! ```
//!
//! A `Checkout` workflow prices an order (compute) and charges it through a payment service
//! (effect). Many checkouts run at once on one [`Runtime`], and they all share the circuit
//! breaker the runtime keeps for the node type `NodePaymentService`:
//!
//! 1. while the service is healthy the circuit is **closed** and every call goes through;
//! 2. when the service goes down, the first calls fail and, after `FAILURE_THRESHOLD`
//!    consecutive failures, the circuit **opens**: further checkouts fail at once with
//!    `CIRCUIT_OPEN` *without calling the service* (it gets time to recover, and callers
//!    don't wait on a dead dependency);
//! 3. after the cool-down the circuit is **half-open**: exactly one probe call goes
//!    through. A failed probe opens the circuit again; a successful one **closes** it.
//!
//! The payment service counts the calls it receives, so the output shows that rejected
//! checkouts never reached it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onex::prelude::*;
use tracing_subscriber::EnvFilter;

/// The node type the breaker guards. It must match the `name = "..."` of the effect node:
/// breakers are keyed by node type, so every step calling that node shares one circuit.
pub const PAYMENT_SERVICE: &str = "NodePaymentService";

/// Consecutive failures that open the circuit.
pub const FAILURE_THRESHOLD: u32 = 3;

/// How many checkouts arrive at once in each phase of the demo.
pub const BURST: u64 = 8;

// ---- the data ----

/// An order as it arrives from the shop.
#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    pub subtotal_cents: u64,
}

/// What the order costs, tax included.
#[derive(Debug, Clone)]
pub struct Quote {
    pub order_id: u64,
    pub total_cents: u64,
}

/// The payment service's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub order_id: u64,
    pub charged_cents: u64,
}

// ---- the external service ----

/// A stand-in for a remote payment API client. Like most API clients it is a cheap handle
/// (clones share one connection state), so the runtime can own one as a resource that
/// effect nodes reach through their `Context`, while the demo keeps another to switch the
/// service off and on and to count the calls it receives.
#[derive(Clone)]
pub struct PaymentService {
    inner: Arc<ServiceState>,
}

struct ServiceState {
    up: AtomicBool,
    latency: Duration,
    /// The order ids of every call that reached the service, in arrival order.
    calls: Mutex<Vec<u64>>,
}

impl PaymentService {
    pub fn new(latency: Duration) -> Self {
        PaymentService {
            inner: Arc::new(ServiceState {
                up: AtomicBool::new(true),
                latency,
                calls: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn set_up(&self, up: bool) {
        self.inner.up.store(up, Ordering::SeqCst);
    }

    /// The order ids the service has been called for so far.
    pub fn calls(&self) -> Vec<u64> {
        // A poisoned lock only means a panic elsewhere; the list itself is still valid.
        self.inner
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn charge(&self, quote: &Quote) -> Result<Receipt, NodeError> {
        self.inner
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(quote.order_id);
        if !self.inner.up.load(Ordering::SeqCst) {
            // A dead endpoint refuses at once. `transient` marks the error as worth
            // retrying later, and the breaker counts it as a failure.
            return Err(NodeError::transient(
                "payment gateway refused the connection",
            ));
        }
        tokio::time::sleep(self.inner.latency).await;
        Ok(Receipt {
            order_id: quote.order_id,
            charged_cents: quote.total_cents,
        })
    }
}

// ---- the nodes ----

/// COMPUTE: adds 20% VAT. Pure, so it needs no context and is never guarded by a breaker.
#[node(compute, name = "NodePricingCompute")]
pub fn price(order: &Order) -> Result<Quote, NodeError> {
    if order.subtotal_cents == 0 {
        return Err(NodeError::permanent("empty order").with_code(ErrorCode::InvalidInput));
    }
    Ok(Quote {
        order_id: order.id,
        total_cents: order.subtotal_cents + order.subtotal_cents / 5,
    })
}

/// EFFECT: charges the quote. The fixed `name` is the `target_node_type` recorded in
/// thunks and reports, and the key of the runtime's breaker for this node
/// ([`PAYMENT_SERVICE`]).
#[node(effect, name = "NodePaymentService")]
pub async fn charge(ctx: &Context, quote: &Quote) -> Result<Receipt, NodeError> {
    ctx.resource::<PaymentService>()?.charge(quote).await
}

workflow! {
    /// Price an order, then charge it.
    pub workflow Checkout(order: Order) -> Receipt {
        quote = price(order);
        receipt = charge(quote);
        return receipt;
    }
}

// ---- the scenario ----

/// One checkout's result.
#[derive(Debug)]
pub struct Outcome {
    pub order_id: u64,
    pub result: Result<Receipt, NodeError>,
    pub report: WorkflowReport,
}

impl Outcome {
    /// Whether the open circuit turned the checkout away before it called the service.
    pub fn rejected(&self) -> bool {
        matches!(&self.result, Err(e) if e.code() == ErrorCode::CircuitOpen)
    }

    /// Attempts the `receipt` step made: 0 when the circuit rejected it.
    pub fn charge_attempts(&self) -> u32 {
        self.report.step("receipt").map_or(0, |s| s.attempts)
    }
}

/// One burst of concurrent checkouts.
#[derive(Debug)]
pub struct Phase {
    pub name: &'static str,
    pub service_up: bool,
    pub outcomes: Vec<Outcome>,
    /// The order ids that reached the payment service during this phase.
    pub service_calls: Vec<u64>,
    pub state_before: CircuitState,
    pub state_after: CircuitState,
    pub elapsed: Duration,
}

impl Phase {
    fn ids(&self, keep: impl Fn(&Outcome) -> bool) -> Vec<u64> {
        self.outcomes
            .iter()
            .filter(|o| keep(o))
            .map(|o| o.order_id)
            .collect()
    }

    pub fn charged(&self) -> Vec<u64> {
        self.ids(|o| o.result.is_ok())
    }

    pub fn failed_at_service(&self) -> Vec<u64> {
        self.ids(|o| o.result.is_err() && !o.rejected())
    }

    pub fn rejected(&self) -> Vec<u64> {
        self.ids(Outcome::rejected)
    }
}

/// Everything the demo did.
#[derive(Debug)]
pub struct Simulation {
    pub phases: Vec<Phase>,
    /// The circuit's state at each checkpoint, consecutive repeats removed.
    pub transitions: Vec<CircuitState>,
}

/// Runs `BURST` checkouts at once against the shared runtime and waits for all of them.
async fn burst(rt: &Runtime, first_order: u64) -> Vec<Outcome> {
    let mut runs = tokio::task::JoinSet::new();
    for order_id in first_order..first_order + BURST {
        // A `Runtime` is a cheap handle: clones share breakers, resources and the cache.
        let rt = rt.clone();
        let order = Order {
            id: order_id,
            subtotal_cents: 1_000 * order_id,
        };
        runs.spawn(async move {
            let result = Checkout::run(&rt, order, RunOptions::new()).await;
            let (result, report) = match result {
                Ok(run) => (Ok(run.output), run.report),
                Err(err) => {
                    let error = err
                        .node_error()
                        .cloned()
                        .unwrap_or_else(|| NodeError::permanent(err.to_string()));
                    let report = err
                        .report()
                        .cloned()
                        .unwrap_or_else(|| WorkflowReport::empty("Checkout"));
                    (Err(error), report)
                }
            };
            Outcome {
                order_id,
                result,
                report,
            }
        });
    }
    let mut outcomes = runs.join_all().await;
    outcomes.sort_by_key(|o| o.order_id);
    outcomes
}

/// Drives the circuit through its whole life: closed, open, half-open, open again after a
/// failed probe, half-open, closed after a successful probe. `cool_down` is how long the
/// circuit stays open; the demo waits it out in real time.
pub async fn simulate(cool_down: Duration) -> Simulation {
    let service = PaymentService::new(Duration::from_millis(20));
    let rt = Runtime::builder()
        .resource(service.clone())
        // Keyed by the node itself (`charge`): a misspelt node would not compile.
        .circuit_breaker_for::<charge>(CircuitBreaker::new(FAILURE_THRESHOLD, cool_down))
        .build();
    let state = || {
        rt.circuit_state(PAYMENT_SERVICE)
            .unwrap_or(CircuitState::Closed { failures: 0 })
    };
    let mut transitions = vec![state()];
    let mut note = |s: CircuitState| {
        if transitions.last() != Some(&s) {
            transitions.push(s);
        }
    };

    let plan: [(&'static str, bool, bool); 6] = [
        // (phase, service up, wait for the cool-down first)
        ("normal traffic", true, false),
        ("payment gateway goes down", false, false),
        ("gateway still down, circuit open", false, false),
        ("cool-down over, gateway still down", false, true),
        ("cool-down over, gateway recovered", true, true),
        ("normal traffic again", true, false),
    ];
    let mut phases = Vec::new();
    let mut next_order = 1;
    for (name, up, wait) in plan {
        if wait {
            // Real time: the breaker reads the clock when the next call asks to go through.
            tokio::time::sleep(cool_down).await;
            note(state());
        }
        service.set_up(up);
        let state_before = state();
        let calls_before = service.calls().len();
        let started = Instant::now();
        let outcomes = burst(&rt, next_order).await;
        next_order += BURST;
        let service_calls = service.calls().split_off(calls_before);
        let state_after = state();
        note(state_after);
        phases.push(Phase {
            name,
            service_up: up,
            outcomes,
            service_calls,
            state_before,
            state_after,
            elapsed: started.elapsed(),
        });
    }
    Simulation {
        phases,
        transitions,
    }
}

/// A circuit state the way an operator reads it.
pub fn describe(state: CircuitState) -> String {
    match state {
        CircuitState::Closed { failures: 0 } => "closed".to_owned(),
        CircuitState::Closed { failures } => format!("closed ({failures} recent failures)"),
        CircuitState::Open => "OPEN".to_owned(),
        CircuitState::HalfOpen => "half-open".to_owned(),
    }
}

fn ids(ids: &[u64]) -> String {
    if ids.is_empty() {
        return "-".to_owned();
    }
    let ids: Vec<String> = ids.iter().map(|id| format!("#{id}")).collect();
    ids.join(" ")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr, filtered by RUST_LOG (e.g. `onex_runtime=info` shows every run
    // finishing, `debug` every step span); by default only errors are shown.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let cool_down = Duration::from_millis(200);
    println!(
        "Circuit breaker on `{PAYMENT_SERVICE}`: opens after {FAILURE_THRESHOLD} consecutive failures, \
         cool-down {cool_down:?}; {BURST} concurrent checkouts per phase.\n"
    );
    let sim = simulate(cool_down).await;

    for (n, phase) in sim.phases.iter().enumerate() {
        println!(
            "phase {} — {}: service {}, circuit {}, took {:.0?}",
            n + 1,
            phase.name,
            if phase.service_up { "up" } else { "down" },
            describe(phase.state_before),
            phase.elapsed
        );
        println!("  charged                 {}", ids(&phase.charged()));
        println!(
            "  failed at the service   {}",
            ids(&phase.failed_at_service())
        );
        println!("  rejected, not called    {}", ids(&phase.rejected()));
        println!(
            "  calls that reached the service: {}",
            phase.service_calls.len()
        );
        println!("  circuit now: {}\n", describe(phase.state_after));
    }

    let path: Vec<String> = sim.transitions.iter().copied().map(describe).collect();
    println!("circuit transitions: {}\n", path.join(" → "));

    // The per-run reports say the same thing step by step: a rejected checkout made no
    // attempt at `receipt`, and its error names the open circuit.
    let all = || sim.phases.iter().flat_map(|p| &p.outcomes);
    if let Some(rejected) = all().find(|o| o.rejected()) {
        println!("a rejected checkout (order #{}):", rejected.order_id);
        println!("{}\n", rejected.report);
    }
    if let Some(charged) = all().rfind(|o| o.result.is_ok()) {
        println!("a successful checkout (order #{}):", charged.order_id);
        println!("{}", charged.report);
    }

    // Every call the service saw belongs to a checkout that was not rejected.
    let called: BTreeSet<u64> = sim
        .phases
        .iter()
        .flat_map(|p| p.service_calls.iter().copied())
        .collect();
    let rejected: BTreeSet<u64> = all().filter(|o| o.rejected()).map(|o| o.order_id).collect();
    println!(
        "\n{} checkouts, {} service calls, {} rejected by the breaker; overlap: {}",
        all().count(),
        called.len(),
        rejected.len(),
        called.intersection(&rejected).count()
    );
    Ok(())
}
