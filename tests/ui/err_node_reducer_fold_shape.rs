// A reducer written as a fold (`acc` by value, returning the new `acc`) is recognized as
// such: one error showing the signature a reducer takes.
use onex::prelude::*;

#[derive(Default)]
pub struct Totals {
    sum: u64,
}

#[node(reducer)]
fn sum(acc: Totals, item: &u64) -> Totals {
    Totals { sum: acc.sum + item }
}

workflow! {
    workflow Etl(items: Vec<u64>) -> Totals {
        totals = sum(items);
        return totals;
    }
}

fn main() {}
