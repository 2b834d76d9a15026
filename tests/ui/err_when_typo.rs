// A typo in a `when` closure's parameter gets a "did you mean", like every other name;
// a transposition is one edit.
use onex::prelude::*;

#[node(compute)]
fn assess(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn double(x: &u64) -> u64 {
    x * 2
}

workflow! {
    workflow Etl(raw: u64) -> u64 {
        score = assess(raw);
        #[step(when = |socre| *socre > 90)]
        fast = double(raw);
        return fast;
    }
}

fn main() {}
