use onex::prelude::*;

#[node(compute)]
async fn parse(x: &u64) -> u64 {
    *x
}

fn main() {}
