//! The ONEX tutorial pipeline: validate -> fetch -> process -> aggregate -> save.

use std::sync::atomic::{AtomicUsize, Ordering};

use onex::NodeKind;
use onex::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct RawBatch {
    pub ids: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct ValidBatch(pub Vec<u64>);

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: u64,
    pub value: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub count: usize,
    pub sum: f64,
}

pub struct Store {
    pub saved: AtomicUsize,
}

#[node(compute, name = "NodeValidatorCompute")]
fn validate(raw: &RawBatch) -> Result<ValidBatch, NodeError> {
    if raw.ids.is_empty() {
        return Err(NodeError::permanent("empty batch").with_code(ErrorCode::InvalidInput));
    }
    Ok(ValidBatch(raw.ids.clone()))
}

#[node(effect, name = "NodeDataFetcherEffect", retries = 3, backoff = exponential(10ms, max = 1s), timeout = 10s)]
async fn fetch(_ctx: &Context, valid: &ValidBatch) -> Result<Vec<Record>, NodeError> {
    Ok(valid
        .0
        .iter()
        .map(|&id| Record {
            id,
            value: id as f64 * 1.5,
        })
        .collect())
}

#[node(compute)]
fn process(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .map(|r| Record {
            id: r.id,
            value: r.value * 2.0,
        })
        .collect()
}

#[node(reducer, merge = merge_totals)]
fn aggregate(acc: &mut Totals, record: &Record) {
    acc.count += 1;
    acc.sum += record.value;
}

fn merge_totals(into: &mut Totals, from: Totals) {
    into.count += from.count;
    into.sum += from.sum;
}

#[node(effect, compensate = unsave, priority = 1)]
fn save(ctx: &Context, totals: &Totals) -> Result<usize, NodeError> {
    let store = ctx.resource::<Store>()?;
    Ok(store.saved.fetch_add(totals.count, Ordering::SeqCst) + totals.count)
}

async fn unsave(ctx: &Context, written: &usize) -> Result<(), NodeError> {
    let _ = (ctx, written);
    Ok(())
}

workflow! {
    /// The tutorial ETL.
    pub workflow Etl(raw: RawBatch) -> Totals {
        saved = save(totals);
        totals = aggregate(processed);
        processed = process(records);
        #[step(retries = 1)]
        records = fetch(valid);
        valid = validate(raw);
        return totals;
    }
}

fn names(g: &onex::Graph) -> Vec<Vec<&str>> {
    g.waves()
        .map(|w| w.iter().map(|&s| g.step(s).name.as_ref()).collect())
        .collect()
}

#[test]
fn graph_shape_is_computed_at_compile_time() {
    let g = Etl::graph();
    assert_eq!(g.name(), "Etl");
    assert_eq!(
        names(g),
        vec![
            vec!["valid"],
            vec!["records"],
            vec!["processed"],
            vec!["totals"],
            vec!["saved"]
        ]
    );
    let records = g.step(g.find("records").unwrap());
    assert_eq!(records.node_type, "NodeDataFetcherEffect");
    assert_eq!(records.kind, NodeKind::Effect);
    assert!(records.is_async);
    assert_eq!(
        records.policy.retries, 1,
        "#[step] overrides the node's retries"
    );
    assert_eq!(
        records.policy.timeout,
        Some(std::time::Duration::from_secs(10))
    );
    let saved = g.step(g.find("saved").unwrap());
    assert!(saved.compensated);
    assert!(!saved.is_async);
    assert_eq!(saved.policy.priority, 1);
    assert_eq!(g.step(g.find("processed").unwrap()).node_type, "Process");
    assert_eq!(g.step(g.find("totals").unwrap()).kind, NodeKind::Reducer);
    assert_eq!(g.step(g.output()).name, "totals");
    assert_eq!(&*g.step(g.find("valid").unwrap()).reads_inputs, &[0]);
}

#[test]
fn plan_serializes_inputs_of_input_fed_steps() {
    let raw = RawBatch { ids: vec![1, 2] };
    let thunks = Etl::plan(&raw);
    assert_eq!(thunks.len(), 5);
    assert_eq!(thunks[0].target_node_type, "NodeValidatorCompute");
    assert_eq!(thunks[0].operation_data, serde_json::json!({"ids": [1, 2]}));
    assert_eq!(thunks[1].operation_data, serde_json::Value::Null);
    assert_eq!(thunks[1].dependencies, vec![thunks[0].thunk_id]);
    assert_eq!(thunks[1].retry_count, 1);
}

#[test]
fn nodes_stay_plain_functions() {
    let v = validate(&RawBatch { ids: vec![3] }).unwrap();
    assert_eq!(v.0, vec![3]);
    let mut t = Totals::default();
    aggregate(&mut t, &Record { id: 1, value: 2.0 });
    assert_eq!(t.count, 1);
}

#[tokio::test]
async fn runs_end_to_end() {
    let rt = Runtime::builder()
        .resource(Store {
            saved: AtomicUsize::new(0),
        })
        .build();
    let run = Etl::run(&rt, RawBatch { ids: vec![1, 2, 3] }, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(
        run.output,
        Totals {
            count: 3,
            sum: 18.0
        }
    );
}
