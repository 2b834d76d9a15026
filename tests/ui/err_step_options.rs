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
        #[step(retires = 2, timeout = 10x, priority = 1, priority = 2)]
        a = f(raw);
        #[step(backoff = exponential(100ms, max = 5), cache, timeout = 10)]
        b = f(a);
        #[stpe(retries = 1)]
        c = f(b);
        return c;
    }
}

fn main() {}
