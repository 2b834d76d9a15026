use onex::prelude::*;

pub struct RawBatch;
pub struct ValidBatch;
pub struct Records;

#[node(compute)]
fn validate(raw: &RawBatch) -> ValidBatch {
    let _ = raw;
    ValidBatch
}

#[node(compute)]
fn transform(records: &Records) -> u64 {
    let _ = records;
    1
}

#[node(compute)]
fn count(n: &u64, label: &str) -> usize {
    let _ = label;
    *n as usize
}

workflow! {
    workflow Etl(raw: RawBatch, name: String, limit: u32) -> usize {
        valid = validate(raw);
        _clean = transform(valid);
        n = count(limit, name);
        return n;
    }
}

fn main() {}
