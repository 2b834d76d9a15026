use onex::prelude::*;

#[node(compute)]
fn parse(ctx: &Context, x: &u64) -> u64 {
    let _ = ctx;
    *x
}

fn main() {}
