use onex::prelude::*;

#[node(compute)]
fn f(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn g(a: &u64, b: &u64) -> u64 {
    a + b
}

pub struct Totals;

workflow! {
    workflow Etl(raw: u64) -> Totals {
        totals = f(raw);
        return totals;
    }
}

fn main() {}
