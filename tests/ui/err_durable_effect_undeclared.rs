use onex::prelude::*;

fn refund(_: &Context, _: &u64) -> Result<(), NodeError> {
    Ok(())
}

#[node(effect)]
async fn charge(x: &u64) -> Result<u64, NodeError> {
    Ok(*x)
}

#[node(effect, idempotent)]
async fn reserve(x: &u64) -> Result<u64, NodeError> {
    Ok(*x)
}

#[node(effect, at_most_once)]
fn email(x: &u64) -> u64 {
    *x
}

#[node(effect, compensate = refund)]
fn pay(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn double(x: &u64) -> Vec<u64> {
    vec![*x, *x]
}

workflow! {
    /// Charges without saying what a second charge does.
    workflow Inner(x: u64) -> u64 {
        charged = charge(x);
        return charged;
    }
}

workflow! {
    /// Only declared effects: fine to nest in a durable workflow.
    workflow Declared(x: u64) -> u64 {
        reserved = reserve(x);
        mailed = email(reserved);
        return mailed;
    }
}

workflow! {
    #[durable]
    workflow Orders(x: u64) -> u64 {
        charged = charge(x);
        reserved = reserve(x);
        mailed = email(x);
        paid = pay(x);
        both = double(x);
        each = map charge(both);
        nested = Inner(x);
        fine = Declared(x);
        return paid;
    }
}

fn main() {}
