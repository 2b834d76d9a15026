use onex::prelude::*;

fn undo(_: &Context, _: &String) -> Result<(), NodeError> {
    Ok(())
}

#[node(effect, compensate = undo)]
async fn write(x: &u64) -> Result<u64, NodeError> {
    Ok(*x)
}

fn main() {}
