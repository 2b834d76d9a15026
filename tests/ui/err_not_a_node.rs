// A step calling a plain function that is not a `#[node]`: one error on the call. The
// text is rustc's: `workflow!` sees only the path, and a function has no type of that
// name for it to check (see the case's report in issue 19).
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
