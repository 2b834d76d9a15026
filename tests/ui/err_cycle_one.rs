use onex::prelude::*;

#[node(compute)]
fn f(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn g(a: &u64, b: &u64) -> u64 {
    a + b
}

workflow! {
    workflow Etl(raw: u64) -> u64 {
        a = g(raw, a);
        return a;
    }
}

fn main() {}
