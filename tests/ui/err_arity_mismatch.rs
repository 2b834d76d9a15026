use onex::prelude::*;

#[node(compute)]
fn double(x: &u64) -> u64 {
    x * 2
}

workflow! {
    workflow Etl(raw: u64, extra: u64) -> u64 {
        d = double(raw, extra);
        return d;
    }
}

fn main() {}
