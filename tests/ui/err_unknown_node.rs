use onex::prelude::*;

#[node(compute)]
fn validate(x: &u64) -> u64 {
    *x
}

workflow! {
    workflow Etl(raw: u64) -> u64 {
        valid = valdate(raw);
        return valid;
    }
}

fn main() {}
