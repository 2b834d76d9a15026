// A nested workflow's inputs are cloned into the nested run: an input that is not `Clone`
// is one error naming the type and the bound.
use onex::prelude::*;

pub struct Batch(u64);

#[node(compute)]
fn size(b: &Batch) -> u64 {
    b.0
}

workflow! {
    workflow Inner(batch: Batch) -> u64 {
        n = size(batch);
        return n;
    }
}

workflow! {
    workflow Outer(batch: Batch) -> u64 {
        n = Inner(batch);
        return n;
    }
}

fn main() {}
