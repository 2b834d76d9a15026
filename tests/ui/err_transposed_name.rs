// A transposed name is one edit away (Damerau / optimal string alignment), so it gets a
// "did you mean" like any other typo.
use onex::prelude::*;

#[node(compute)]
fn double(x: &u64) -> u64 {
    x * 2
}

workflow! {
    workflow Etl(raw: u64) -> u64 {
        totals = double(rwa);
        return totlas;
    }
}

fn main() {}
