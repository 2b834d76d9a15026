use onex::prelude::*;

#[node(reducer)]
fn by_value(acc: &mut u64, x: u64) {
    *acc += x;
}

#[node(reducer)]
fn returns(acc: &mut u64, x: &u64) -> u64 {
    *acc + x
}

#[node(reducer)]
fn one_param(x: &u64) {
    let _ = x;
}

#[node(reducer)]
fn no_mut(acc: &u64, x: &u64) {
    let _ = (acc, x);
}

fn main() {}
