// A step calling a plain function that is not a `#[node]`: one error on the call, in
// rustc's words. `workflow!` sees only the path and names the proxy type `#[node]` puts
// beside the function; without it the name resolves to no type, and a name resolution
// error carries no message of ours (README says to add `#[node(compute)]`).
use onex::prelude::*;

fn double(x: &u64) -> u64 {
    x * 2
}

workflow! {
    workflow Etl(raw: u64) -> u64 {
        doubled = double(raw);
        return doubled;
    }
}

fn main() {}
