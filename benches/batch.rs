//! batch: 1,000,000 records through 4 compute steps with `run_batch` (records on and off)
//! and `run_batch_lean` (one report for the batch),
//! against a hand-written rayon `par_iter` chain of the same four functions.
//!
//! Two shapes of input: one run per record (each record is an input with its own report),
//! and 1,000 inputs of 1,000 records each, whose nodes take and return slices (the shape
//! `examples/etl_pipeline.rs` uses). The chunks are built before timing, as a reader
//! handing out batches would; `rayon_chunks` runs the same four chunk functions by hand
//! over the same chunks, so the distance between it and onex is the executor's.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use onex::prelude::*;
use rayon::prelude::*;

const RECORDS: u64 = 1_000_000;

include!("pipeline.rs");

// The same four steps over chunks of records: `run_batch` then pays its per-input cost
// (a context, slots, a report) once per chunk instead of once per record.

#[node(compute)]
fn parse_chunk(rs: &[Reading]) -> Vec<(u32, f64)> {
    rs.iter().map(parse).collect()
}

#[node(compute)]
fn calibrate_chunk(ps: &[(u32, f64)]) -> Vec<(u32, f64)> {
    ps.iter().map(calibrate).collect()
}

#[node(compute)]
fn clamp_chunk(ps: &[(u32, f64)]) -> Vec<(u32, f64)> {
    ps.iter().map(clamp).collect()
}

#[node(compute)]
fn bucket_chunk(ps: &[(u32, f64)]) -> Vec<u64> {
    ps.iter().map(bucket).collect()
}

workflow! {
    /// Four compute steps per chunk of records.
    pub workflow ChunkPipeline(rs: Vec<Reading>) -> Vec<u64> {
        parsed = parse_chunk(rs);
        calibrated = calibrate_chunk(parsed);
        clamped = clamp_chunk(calibrated);
        keys = bucket_chunk(clamped);
        return keys;
    }
}

/// Records per chunk in the chunked variant.
const CHUNK: usize = 1_000;

fn chunks() -> Vec<Vec<Reading>> {
    inputs().chunks(CHUNK).map(<[Reading]>::to_vec).collect()
}

async fn onex_chunked(rt: &Runtime, chunks: Vec<Vec<Reading>>, records: bool) -> Vec<Vec<u64>> {
    ChunkPipeline::run_batch(rt, chunks, RunOptions::new().records(records))
        .await
        .into_iter()
        .map(|r| r.expect("a chunk runs").output)
        .collect()
}

/// The four chunk functions called by hand, one rayon task per chunk.
fn by_hand_chunked(chunks: Vec<Vec<Reading>>) -> Vec<Vec<u64>> {
    chunks
        .into_par_iter()
        .map(|c| bucket_chunk(&clamp_chunk(&calibrate_chunk(&parse_chunk(&c)))))
        .collect()
}

fn inputs() -> Vec<Reading> {
    (0..RECORDS)
        .map(|i| Reading {
            sensor: (i % 97) as u32,
            raw: (i as i64 * 7919) % 20_000 - 10_000,
        })
        .collect()
}

fn by_hand(rs: Vec<Reading>) -> Vec<u64> {
    rs.into_par_iter()
        .map(|r| parse(&r))
        .map(|p| calibrate(&p))
        .map(|p| clamp(&p))
        .map(|p| bucket(&p))
        .collect()
}

async fn onex_batch(rt: &Runtime, rs: Vec<Reading>, records: bool) -> Vec<u64> {
    Pipeline::run_batch(rt, rs, RunOptions::new().records(records))
        .await
        .into_iter()
        .map(|r| r.expect("a record runs").output)
        .collect()
}

/// The same batch through `run_batch_lean`: outputs and one report, no report per input.
async fn onex_lean(rt: &Runtime, rs: Vec<Reading>) -> BatchOutcome<u64> {
    let out = Pipeline::run_batch_lean(rt, rs, RunOptions::new()).await;
    debug_assert_eq!(out.report.failed(), 0);
    out
}

fn batch(c: &mut Criterion) {
    let onex_rt = Runtime::default();
    let mt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    let expected = by_hand(inputs());
    assert_eq!(mt.block_on(onex_batch(&onex_rt, inputs(), false)), expected);
    let lean = mt.block_on(onex_lean(&onex_rt, inputs()));
    assert_eq!(lean.into_outputs().expect("every record runs"), expected);
    let flat = |chunks: Vec<Vec<u64>>| chunks.concat();
    assert_eq!(
        flat(mt.block_on(onex_chunked(&onex_rt, chunks(), true))),
        expected
    );
    assert_eq!(flat(by_hand_chunked(chunks())), expected);

    let mut g = c.benchmark_group("batch");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.throughput(Throughput::Elements(RECORDS));
    g.bench_function("rayon", |b| {
        b.iter_batched(inputs, |rs| black_box(by_hand(rs)), BatchSize::PerIteration)
    });
    g.bench_function("onex/per_record/lean", |b| {
        b.iter_batched(
            inputs,
            |rs| black_box(mt.block_on(onex_lean(&onex_rt, rs))),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("onex/per_record/records_off", |b| {
        b.iter_batched(
            inputs,
            |rs| black_box(mt.block_on(onex_batch(&onex_rt, rs, false))),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("onex/per_record/records_on", |b| {
        b.iter_batched(
            inputs,
            |rs| black_box(mt.block_on(onex_batch(&onex_rt, rs, true))),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("rayon_chunks", |b| {
        b.iter_batched(
            chunks,
            |cs| black_box(by_hand_chunked(cs)),
            BatchSize::PerIteration,
        )
    });
    for records in [true, false] {
        let name = if records { "records_on" } else { "records_off" };
        g.bench_function(format!("onex/chunks_of_1000/{name}"), |b| {
            b.iter_batched(
                chunks,
                |cs| black_box(mt.block_on(onex_chunked(&onex_rt, cs, records))),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = batch
}
criterion_main!(benches);
