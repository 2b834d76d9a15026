//! The example ETL nodes behind `examples/specs/*.yaml|json`: validate, fetch, transform,
//! assess, aggregate, fast-track, save, merge. Shared by the `onex_cli` example and the
//! dynamic-workflow tests, so the specs are exercised exactly as users run them.

#![allow(dead_code)]
// A registered node takes `&In` where `In` is the owned type its JSON input decodes into,
// so list inputs are `&Vec<T>`, not `&[T]`.
#![allow(clippy::ptr_arg)]

use std::collections::BTreeMap;

use onex_runtime::{Context, ErrorCode, NodeError};
use onex_spec::NodeRegistry;
use serde::{Deserialize, Serialize};

/// A row as it arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawRow {
    pub id: u64,
    pub region: String,
    pub amount: f64,
}

/// A batch as it arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawBatch {
    pub source: String,
    pub rows: Vec<RawRow>,
}

/// A batch whose rows passed validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidBatch {
    pub source: String,
    pub rows: Vec<RawRow>,
    pub rejected: usize,
}

/// A row after fetching its details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    pub region: String,
    pub amount: f64,
    pub currency: String,
}

/// How good the data is: the share of rows with a known region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub score: f64,
    pub rows: usize,
}

/// The aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub count: usize,
    pub sum: f64,
    pub by_region: BTreeMap<String, f64>,
}

/// What the writer stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub table: String,
    pub rows: usize,
}

/// COMPUTE: drops rows with a negative or non-finite amount; an empty batch is an error.
pub fn validate(raw: &RawBatch) -> Result<ValidBatch, NodeError> {
    if raw.rows.is_empty() {
        return Err(
            NodeError::permanent(format!("batch `{}` has no rows", raw.source))
                .with_code(ErrorCode::InvalidInput),
        );
    }
    let rows: Vec<RawRow> = raw
        .rows
        .iter()
        .filter(|r| r.amount.is_finite() && r.amount >= 0.0)
        .cloned()
        .collect();
    Ok(ValidBatch {
        source: raw.source.clone(),
        rejected: raw.rows.len() - rows.len(),
        rows,
    })
}

/// EFFECT: "fetches" each row's details (here: its currency). Written like a static
/// `#[node(effect)]`, borrowing its context and input, and registered with `effect_ref`.
pub async fn fetch(_ctx: &Context, valid: &ValidBatch) -> Result<Vec<Record>, NodeError> {
    Ok(valid
        .rows
        .iter()
        .map(|r| Record {
            id: r.id,
            region: r.region.clone(),
            amount: r.amount,
            currency: "EUR".into(),
        })
        .collect())
}

/// COMPUTE: normalizes regions and rounds amounts to cents.
pub fn transform(records: &Vec<Record>) -> Vec<Record> {
    records
        .iter()
        .map(|r| Record {
            region: r.region.trim().to_uppercase(),
            amount: (r.amount * 100.0).round() / 100.0,
            ..r.clone()
        })
        .collect()
}

/// COMPUTE: the share of rows with a region.
pub fn assess(clean: &Vec<Record>) -> Quality {
    let known = clean.iter().filter(|r| !r.region.is_empty()).count();
    Quality {
        score: if clean.is_empty() {
            0.0
        } else {
            known as f64 / clean.len() as f64
        },
        rows: clean.len(),
    }
}

/// REDUCER: totals per region.
pub fn aggregate(acc: &mut Totals, record: &Record) {
    acc.count += 1;
    acc.sum += record.amount;
    *acc.by_region.entry(record.region.clone()).or_default() += record.amount;
}

/// COMPUTE: the summary sent on the fast track when quality is high.
pub fn fast_track(totals: &Totals) -> String {
    format!("fast track: {} rows, {:.2} total", totals.count, totals.sum)
}

/// COMPUTE: two record lists into one.
pub fn merge((a, b): &(Vec<Record>, Vec<Record>)) -> Vec<Record> {
    a.iter().chain(b).cloned().collect()
}

/// EFFECT: "writes" the totals.
pub async fn save(_ctx: Context, totals: Totals) -> Result<Saved, NodeError> {
    Ok(Saved {
        table: "totals".into(),
        rows: totals.by_region.len(),
    })
}

/// EFFECT compensation of `save`: "deletes" what was written.
pub async fn unsave(_ctx: Context, _saved: Saved) -> Result<(), NodeError> {
    Ok(())
}

/// Every example node under its `target_node_type`.
pub fn registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    registry
        .compute("NodeDataValidator", validate)
        .effect_ref("NodeDataFetcherEffect", fetch)
        .compute_infallible("NodeDataTransformer", transform)
        .compute_infallible("NodeQualityAssessor", assess)
        .reducer("NodeAggregator", aggregate)
        .compute_infallible("NodeFastTrack", fast_track)
        .compute_infallible("NodeMerger", merge)
        .effect_compensated("NodeDatabaseWriter", save, unsave);
    registry
}
