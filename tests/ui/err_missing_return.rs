use onex::prelude::*;

#[node(compute)]
fn f(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn g(a: &u64, b: &u64) -> u64 {
    a + b
}

workflow! {
    workflow Etl(raw: u64) -> u64 {
        a = f(raw);
    }
}

// The type still exists, with its methods: no follow-on errors here.
fn use_it() -> &'static onex::Graph {
    Etl::graph()
}

fn main() {
    let _ = use_it;
}
