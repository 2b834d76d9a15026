// `crate = path` lets a re-exporting crate point the generated code at its own path.
extern crate onex as renamed;

use renamed::{node, workflow};

#[node(compute, crate = renamed)]
fn inc(x: &u32) -> u32 {
    x + 1
}

workflow! {
    #[onex(crate = renamed)]
    workflow W(x: u32) -> u32 {
        y = inc(x);
        return y;
    }
}

fn main() {
    assert_eq!(W::graph().steps().len(), 1);
    assert_eq!(inc(&1), 2);
}
