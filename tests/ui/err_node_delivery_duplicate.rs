use onex::prelude::*;

#[node(effect, idempotent, retries = 2, idempotent)]
async fn charge(x: &u64) -> Result<u64, NodeError> {
    Ok(*x)
}

#[node(effect, at_most_once, at_most_once)]
fn notify(x: &u64) -> u64 {
    *x
}

fn main() {}
