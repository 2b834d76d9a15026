use onex::prelude::*;

#[node(effect, idempotent, at_most_once)]
async fn charge(x: &u64) -> Result<u64, NodeError> {
    Ok(*x)
}

fn main() {}
