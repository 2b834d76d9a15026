// A step passing more arguments than its node takes: one error on the call, listing the
// node's inputs. The step's output is unused, but a step that does not type-check gets no
// dead-work warning on top of its error.
use onex::prelude::*;

#[node(compute)]
fn double(x: &u64) -> u64 {
    x * 2
}

workflow! {
    workflow Etl(raw: u64, extra: u64) -> u64 {
        kept = double(raw);
        d = double(raw, extra);
        return kept;
    }
}

fn main() {}
