// A step passing fewer arguments than its node takes: one error on the call, listing the
// node's inputs.
use onex::prelude::*;

pub struct Order;
pub struct Rates;

#[node(compute)]
fn price(order: &Order, rates: &Rates) -> u64 {
    let _ = (order, rates);
    1
}

workflow! {
    workflow Shop(order: Order) -> u64 {
        priced = price(order);
        return priced;
    }
}

fn main() {}
