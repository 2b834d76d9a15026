// `crate = path` lets a re-exporting crate point the generated code at its own path.
extern crate onex as renamed;

use renamed::{node, workflow};

#[node(compute, crate = renamed)]
fn inc(x: &u32) -> u32 {
    x + 1
}

workflow! {
    #[onex(crate = renamed)]
    workflow W(x: u32) -> u32 {
        y = inc(x);
        return y;
    }
}

#[node(effect, idempotent, crate = renamed)]
fn send(x: &u32) -> u32 {
    *x
}

workflow! {
    /// The durable code names the runtime (and serde) through the same path.
    #[onex(crate = renamed)]
    #[durable]
    workflow D(x: u32) -> u32 {
        y = inc(x);
        z = send(y);
        return z;
    }
}

fn main() {
    use renamed::Program;
    assert_eq!(D.load_input(D.serialize_input(&3).unwrap().unwrap()).unwrap(), 3);
    assert_eq!(W::graph().steps().len(), 1);
    assert_eq!(inc(&1), 2);
}
