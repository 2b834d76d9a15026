use onex::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
struct Order(u64);

/// Neither `Serialize` nor `Deserialize`.
#[derive(Clone)]
struct Quote(u64);

#[derive(Clone, Serialize)]
struct Sent(u64);

#[derive(Clone)]
struct Secret(u64);

#[node(compute)]
fn quote(order: &Order) -> Quote {
    Quote(order.0)
}

#[node(compute)]
fn lines(order: &Order) -> Vec<u64> {
    vec![order.0]
}

#[node(compute)]
fn price(line: &u64) -> Quote {
    Quote(*line)
}

#[node(effect, idempotent)]
fn send(q: &Quote) -> Sent {
    Sent(q.0)
}

#[node(compute)]
fn settle(order: &Order, _: &Secret, _: &Vec<Quote>) -> u64 {
    order.0
}

workflow! {
    #[durable]
    workflow Orders(order: Order, secret: Secret) -> u64 {
        quoted = quote(order);
        items = lines(order);
        prices = map price(items);
        sent = send(quoted);
        done = settle(order, secret, prices);
        return done;
    }
}

fn main() {}
