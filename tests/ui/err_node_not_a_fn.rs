use onex::prelude::*;

#[node(compute)]
struct NotAFunction;

#[node(orchestrator)]
fn f(x: &u64) -> u64 {
    *x
}

fn main() {}
