// A compute step whose output nothing reads is dead work: a warning, promoted to an error
// here so trybuild can show it. `_quiet` opts out; `saved` is an effect, so it is not dead.
#![deny(deprecated)]
use onex::prelude::*;

#[node(compute)]
fn double(x: &u64) -> u64 {
    x * 2
}

#[node(effect)]
fn save(x: &u64) -> Result<(), NodeError> {
    let _ = x;
    Ok(())
}

workflow! {
    workflow W(x: u64) -> u64 {
        out = double(x);
        dead = double(out);
        _quiet = double(out);
        saved = save(out);
        return out;
    }
}

fn main() {}
