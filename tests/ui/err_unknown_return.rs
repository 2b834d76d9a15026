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
        totals = f(raw);
        return total;
    }
}

workflow! {
    workflow Twice(raw: u64) -> u64 {
        a = f(raw);
        return raw;
        return a;
    }
}

fn main() {}
