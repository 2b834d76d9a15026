// A node taking its input by value: one error saying inputs are borrowed, and the workflow
// that uses the node reports nothing more.
use onex::prelude::*;

pub struct Order {
    total: u64,
}

#[node(compute)]
fn price(order: Order) -> u64 {
    order.total
}

workflow! {
    workflow Shop(order: Order) -> u64 {
        priced = price(order);
        return priced;
    }
}

fn main() {}
