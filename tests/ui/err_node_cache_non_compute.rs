use onex::prelude::*;

#[node(effect, cache)]
async fn load(x: &u64) -> Result<u64, NodeError> {
    Ok(*x)
}

#[node(reducer, cache)]
fn total(acc: &mut u64, x: &u64) {
    *acc += x;
}

fn main() {}
