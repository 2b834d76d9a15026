use onex::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub total: f64,
}

// `Order` is neither `Hash` nor `Eq`: one error, on `Order`.
#[node(compute, cache)]
fn price(order: &Order, rate: Option<&u64>) -> f64 {
    order.total * rate.map_or(1.0, |r| *r as f64)
}

pub struct Report(pub String);

// The output is not `Clone`: one error, on `Report`.
#[node(compute, cache)]
fn report(n: &u64) -> Report {
    Report(n.to_string())
}

// Using the nodes adds nothing.
workflow! {
    pub workflow Pricing(order: Order, rate: u64) -> f64 {
        p = price(order, rate);
        _r = report(rate);
        return p;
    }
}

fn main() {}
