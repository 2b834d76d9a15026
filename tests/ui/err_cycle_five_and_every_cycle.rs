use onex::prelude::*;

#[node(compute)]
fn f(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn g(a: &u64, b: &u64) -> u64 {
    a + b
}

// Every cycle of the block is reported, each once, in data-flow order.
workflow! {
    workflow Etl(raw: u64) -> u64 {
        out = f(v);
        v = g(raw, z);
        w = f(v);
        x = f(w);
        y = f(x);
        z = f(y);
        p = f(q);
        q = f(p);
        return out;
    }
}

fn main() {}
