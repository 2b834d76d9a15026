use onex::prelude::*;

#[node(compute)]
fn f(x: &u64) -> u64 {
    *x
}

workflow! {
    workflow Etl(raw: u64) -> u64 {
        score = f(raw);
        #[step(when = |score| *score)]
        fast = f(score);
        return fast;
    }
}

fn main() {}
