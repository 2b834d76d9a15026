use onex::prelude::*;

#[node(compute)]
fn double(x: &u64) -> u64 {
    x * 2
}

workflow! {
    #[durable(sqlite)]
    workflow Args(x: u64) -> u64 {
        y = double(x);
        return y;
    }
}

workflow! {
    #[durable]
    #[durable]
    workflow Twice(x: u64) -> u64 {
        y = double(x);
        return y;
    }
}

fn main() {}
