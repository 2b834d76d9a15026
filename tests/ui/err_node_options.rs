use onex::prelude::*;

#[node(comptue)]
fn a(x: &u64) -> u64 {
    *x
}

#[node(compute, retries = 2, retries = 3, timout = 1s, timeout = 5parsecs, backoff = linear(1s))]
fn b(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn c(x: u64) -> u64 {
    x
}

fn main() {}
