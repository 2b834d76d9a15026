// `&Context` anywhere but first: one error, and the workflow using the node adds nothing.
use onex::prelude::*;

pub struct Order;

#[node(effect)]
async fn charge(order: &Order, ctx: &Context) -> Result<u64, NodeError> {
    let _ = (order, ctx);
    Ok(1)
}

workflow! {
    workflow Shop(order: Order) -> u64 {
        charged = charge(order);
        return charged;
    }
}

fn main() {}
