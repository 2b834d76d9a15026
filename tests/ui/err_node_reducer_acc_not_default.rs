use onex::prelude::*;

pub struct Totals(u64);

#[node(reducer)]
fn total(acc: &mut Totals, x: &u64) {
    acc.0 += x;
}

fn main() {}
