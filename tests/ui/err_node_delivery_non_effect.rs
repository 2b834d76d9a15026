use onex::prelude::*;

#[node(compute, idempotent)]
fn parse(x: &u64) -> u64 {
    *x
}

#[node(reducer, at_most_once)]
fn total(acc: &mut u64, x: &u64) {
    *acc += x;
}

fn main() {}
