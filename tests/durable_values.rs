//! A `#[durable]` workflow's values to and from JSON: what a journal records of a run (its
//! input, each call's output, each `map` item as its call ends) loads back into a second
//! run, which then makes none of those calls and returns the same output, in every mode.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use onex::driver::{
    CallEnd, CallStart, DriverFuture, Phase, Route, RunDriver, RunInfo, StepDriver,
};
use onex::prelude::*;
use onex::{Delivery, Program};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u64,
    lines: Vec<Line>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Line {
    sku: String,
    qty: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Receipt {
    order: u64,
    total: u64,
    charged: bool,
}

/// Calls made, per node: a replayed run must make none.
static CALLS: AtomicUsize = AtomicUsize::new(0);

#[node(compute)]
fn lines(order: &Order) -> Vec<Line> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    order.lines.clone()
}

#[node(compute)]
fn price(line: &Line) -> u64 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    u64::from(line.qty) * 3
}

#[node(reducer)]
fn total(acc: &mut Receipt, cents: &u64) {
    CALLS.fetch_add(1, Ordering::SeqCst);
    acc.total += cents;
}

#[node(effect, idempotent)]
async fn charge(order: &Order, receipt: &Receipt) -> Result<Receipt, NodeError> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    Ok(Receipt {
        order: order.id,
        charged: true,
        ..receipt.clone()
    })
}

#[node(effect, at_most_once)]
fn notify(receipt: &Receipt, note: &String) -> String {
    CALLS.fetch_add(1, Ordering::SeqCst);
    format!("order {} charged {}: {note}", receipt.order, receipt.total)
}

workflow! {
    /// An order: its lines priced one by one, totalled, charged, and a note sent.
    #[durable]
    workflow Checkout(order: Order, note: String) -> String {
        items = lines(order);
        prices = map price(items);
        sum = total(prices);
        charged = charge(order, sum);
        sent = notify(charged, note);
        return sent;
    }
}

workflow! {
    /// The same with one input, which is journaled as itself rather than in an array.
    #[durable]
    workflow Single(order: Order) -> Vec<Line> {
        items = lines(order);
        return items;
    }
}

workflow! {
    /// Not durable: no serde needed, nothing serialized.
    workflow Plain(order: Order) -> Vec<Line> {
        items = lines(order);
        return items;
    }
}

fn order() -> Order {
    Order {
        id: 42,
        lines: vec![
            Line {
                sku: "a".into(),
                qty: 2,
            },
            Line {
                sku: "b".into(),
                qty: 5,
            },
        ],
    }
}

/// The journal of one run, as a driver sees it: each completed call's serialized output
/// by (step name, item).
type Journal = Arc<Mutex<BTreeMap<(String, usize), Value>>>;

/// Records every completed call's output (`replay` empty), or answers every call from
/// the outputs recorded (`replay` set), as a journal resuming a run does.
#[derive(Debug, Clone, Default)]
struct Journaling {
    recorded: Journal,
    replay: Option<BTreeMap<(String, usize), Value>>,
}

impl StepDriver for Journaling {
    fn open<'a>(&'a self, _: &'a RunInfo<'a>) -> DriverFuture<'a, Box<dyn RunDriver>> {
        let run = self.clone();
        Box::pin(async move { Ok(Box::new(run) as Box<dyn RunDriver>) })
    }
}

impl RunDriver for Journaling {
    fn checkpoint<'a>(
        &'a self,
        ended: &'a [CallEnd<'a>],
        starting: &'a [CallStart<'a>],
    ) -> DriverFuture<'a, Vec<Route>> {
        Box::pin(async move {
            for end in ended.iter().filter(|e| e.phase == Phase::Call) {
                let output = end
                    .output
                    .expect("a durable workflow serializes every output");
                let value = output.expect("every output serializes").clone();
                let key = (end.spec.name.to_string(), end.item);
                self.recorded.lock().unwrap().insert(key, value);
            }
            Ok(starting
                .iter()
                .map(|s| {
                    let key = (s.spec.name.to_string(), s.item);
                    match self.replay.as_ref().and_then(|r| r.get(&key)) {
                        Some(value) => Route::Done(value.clone()),
                        None => Route::Local,
                    }
                })
                .collect())
        })
    }
}

fn runtime(driver: &Journaling) -> Runtime {
    Runtime::builder().step_driver(driver.clone()).build()
}

#[tokio::test]
async fn every_output_round_trips_through_its_journaled_form_in_every_mode() {
    for mode in [
        ExecutionMode::Sequential,
        ExecutionMode::Parallel { max_parallel: 4 },
        ExecutionMode::Batch,
    ] {
        let recorder = Journaling::default();
        let note = || "thanks".to_string();
        let first = Checkout::run(
            &runtime(&recorder),
            order(),
            note(),
            RunOptions::new().mode(mode),
        )
        .await
        .unwrap();
        let journal = recorder.recorded.lock().unwrap().clone();
        let keys: Vec<(&str, usize)> = journal.keys().map(|(s, i)| (s.as_str(), *i)).collect();
        assert_eq!(
            keys,
            [
                ("charged", 0),
                ("items", 0),
                ("prices", 0),
                ("prices", 1),
                ("sent", 0),
                ("sum", 0)
            ],
            "{mode:?}"
        );
        assert_eq!(journal[&("prices".into(), 1)], json!(15), "{mode:?}");
        assert_eq!(
            journal[&("charged".into(), 0)],
            json!({ "order": 42, "total": 21, "charged": true }),
            "{mode:?}"
        );

        let replayer = Journaling {
            replay: Some(journal),
            ..Journaling::default()
        };
        let calls = CALLS.load(Ordering::SeqCst);
        let second = Checkout::run(
            &runtime(&replayer),
            order(),
            note(),
            RunOptions::new().mode(mode),
        )
        .await
        .unwrap();
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            calls,
            "{mode:?}: no call made again"
        );
        assert_eq!(second.output, first.output, "{mode:?}");
        assert_eq!(second.output, "order 42 charged 21: thanks");
    }
}

#[tokio::test]
async fn a_journaled_output_of_the_wrong_type_fails_its_step_naming_it() {
    let replayer = Journaling {
        replay: Some(BTreeMap::from([(
            ("items".to_string(), 0),
            json!("not lines"),
        )])),
        ..Journaling::default()
    };
    let err = Single::run(&runtime(&replayer), order(), RunOptions::new())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(
            "the journaled value of `items` is not a `alloc::vec::Vec<durable_values::Line>`"
        ),
        "{message}"
    );
}

#[test]
fn inputs_are_journaled_as_themselves_or_as_an_array_of_them() {
    let input = (order(), "hi".to_string());
    let value = Checkout.serialize_input(&input).unwrap().unwrap();
    assert_eq!(value[1], json!("hi"));
    assert_eq!(value[0]["lines"][1]["qty"], json!(5));
    assert_eq!(Checkout.load_input(value).unwrap(), input);
    let bad = Checkout.load_input(json!([1])).unwrap_err().to_string();
    assert!(
        bad.contains("the journaled input of workflow `Checkout` is an array of 1, not an array of its 2 inputs"),
        "{bad}"
    );

    let value = Single.serialize_input(&order()).unwrap().unwrap();
    assert_eq!(value["id"], json!(42));
    assert_eq!(Single.load_input(value).unwrap(), order());

    assert!(Plain.serialize_input(&order()).is_none());
    assert!(Plain.load_input(json!({})).is_err());
}

#[test]
fn delivery_is_declared_on_the_node_and_carried_to_the_step() {
    let graph = Checkout.graph();
    let delivery = |name: &str| {
        graph
            .steps()
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.delivery)
            .unwrap()
    };
    assert_eq!(delivery("charged"), Delivery::Idempotent);
    assert_eq!(delivery("sent"), Delivery::AtMostOnce);
    assert_eq!(delivery("items"), Delivery::Unspecified);
}
