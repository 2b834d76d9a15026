use onex::prelude::*;

fn undo(_: &Context, _: &u64) -> Result<(), NodeError> {
    Ok(())
}

#[node(compute, compensate = undo)]
fn parse(x: &u64) -> u64 {
    *x
}

#[node(reducer, compensate = undo)]
fn total(acc: &mut u64, x: &u64) {
    *acc += x;
}

fn main() {}
