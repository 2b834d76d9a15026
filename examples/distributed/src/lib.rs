//! The shop of the distributed example: its data, nodes and workflow, linked into both
//! binaries. The orchestrator (`src/bin/orchestrator.rs`) runs the workflow; the workers
//! (`src/bin/worker.rs`) run the nodes marked `remote` that the orchestrator sends them.
//! See the README's section "Run across machines".

use std::sync::atomic::{AtomicU64, Ordering};

use onex::prelude::*;
use serde::{Deserialize, Serialize};

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The article.
    pub sku: String,
    /// How many.
    pub qty: u32,
}

/// An order from the shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Its number.
    pub id: u64,
    /// What was ordered.
    pub lines: Vec<Line>,
}

/// A payment taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// The order paid.
    pub order: u64,
    /// In cents.
    pub amount: u64,
}

/// The refunds this process made: compensations run in the orchestrator.
pub static REFUNDS: AtomicU64 = AtomicU64::new(0);

/// The lines of an order. Every node of the shop is `remote`, so that a run with
/// `RunOptions::remote(true)` can send all its steps to the workers.
#[node(compute, remote)]
pub fn lines(order: &Order) -> Vec<Line> {
    order.lines.clone()
}

/// The price of one line, in cents: the heavy part, which the workers run, one thunk per
/// line.
#[node(compute, remote)]
pub fn price(line: &Line) -> u64 {
    let unit = line.sku.bytes().map(u64::from).sum::<u64>() % 1_000 + 100;
    unit * u64::from(line.qty)
}

/// The order's total.
#[node(reducer, remote)]
pub fn total(sum: &mut u64, price: &u64) {
    *sum += price;
}

/// Takes the payment, on a worker (which would hold the payment provider's credentials).
/// Refunded by the orchestrator when a later step fails.
#[node(effect, remote, idempotent, compensate = refund)]
pub async fn charge(order: &Order, amount: &u64) -> Result<Charge, NodeError> {
    if *amount == 0 {
        return Err(NodeError::permanent(format!("order {} is empty", order.id)));
    }
    Ok(Charge {
        order: order.id,
        amount: *amount,
    })
}

/// Gives a payment back.
pub async fn refund(_ctx: &Context, charge: &Charge) -> Result<(), NodeError> {
    REFUNDS.fetch_add(charge.amount, Ordering::SeqCst);
    Ok(())
}

/// The receipt's text; an order numbered 0 is a test order, refused after payment.
#[node(compute, remote)]
pub fn receipt(charge: &Charge) -> Result<String, NodeError> {
    if charge.order == 0 {
        return Err(NodeError::permanent("order 0 is a test order"));
    }
    Ok(format!(
        "order {}: charged {}.{:02}",
        charge.order,
        charge.amount / 100,
        charge.amount % 100
    ))
}

workflow! {
    /// An order: its lines priced (on the workers), totalled, charged (on a worker), and
    /// a receipt written.
    #[durable]
    pub workflow Orders(order: Order) -> String {
        items = lines(order);
        prices = map price(items);
        sum = total(prices);
        charged = charge(order, sum);
        text = receipt(charged);
        return text;
    }
}

/// The node types the orchestrator sends to the workers.
pub const REMOTE: [&str; 2] = ["Price", "Charge"];

/// Order `id`, with a few lines.
pub fn order(id: u64) -> Order {
    let lines = (0..3 + id % 3)
        .map(|i| Line {
            sku: format!("sku-{}", (id * 7 + i) % 11),
            qty: 1 + (i % 4) as u32,
        })
        .collect();
    Order { id, lines }
}
