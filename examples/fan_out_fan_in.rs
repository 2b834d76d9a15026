//! # Fan-out / fan-in: three sources at once, then a `map` as wide as the data
//!
//! The ONEX tutorial's fan-out/fan-in pattern, twice over:
//!
//! 1. **Static fan-out.** Stock levels come from three systems (warehouse, stores, online
//!    shop). The three fetches are independent effect steps, so they share wave 0 and run
//!    concurrently; a reducer merges their lines into one stock level per SKU.
//! 2. **Dynamic fan-out.** The merged stock is cut into partitions of `partition_size`
//!    SKUs. How many partitions there are depends on what the sources returned, so it is
//!    known only at run time: `priced = map price_partition(partitions)` calls the pricing
//!    service once per partition, concurrently, and collects the results in order into a
//!    `Vec`, which a second reducer folds into the inventory's value.
//!
//! ```text
//! warehouse ─┐
//! stores ────┼─→ lines → stock (reducer) → partitions → map price_partition → valuation (reducer)
//! online ────┘
//! ```
//!
//! ```text
//! cargo run --release --example fan_out_fan_in
//! ```

use std::collections::BTreeMap;
use std::error::Error;
use std::time::Duration;

use onex::prelude::*;

/// The workflow's input: which catalog, and how many SKUs the pricing service takes per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub catalog: String,
    pub partition_size: usize,
}

/// One stock line from one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLine {
    pub sku: String,
    pub units: u32,
    pub source: &'static str,
}

/// Units per SKU across every source: what the `stock` reducer folds the lines into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stock {
    pub units: BTreeMap<String, u32>,
    /// Lines folded in, per source: shows the three sources really were merged.
    pub lines_by_source: BTreeMap<&'static str, usize>,
}

/// A slice of the stock, priced by one call of the pricing service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub index: usize,
    pub skus: Vec<(String, u32)>,
}

/// One partition, priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedPartition {
    pub index: usize,
    pub skus: usize,
    pub units: u64,
    pub value_cents: u64,
}

/// The fold of every priced partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Valuation {
    pub partitions: usize,
    pub skus: usize,
    pub units: u64,
    pub value_cents: u64,
}

/// A simulated source: `latency` of network, then its lines. The catalog decides how many
/// SKUs there are, so the width of the `map` below depends on the data.
async fn query_source(
    source: &'static str,
    request: &Request,
    latency_ms: u64,
    every: usize,
) -> Result<Vec<StockLine>, NodeError> {
    let skus = match request.catalog.as_str() {
        "spring" => 40,
        "summer" => 95,
        other => {
            return Err(NodeError::permanent(format!("unknown catalog `{other}`"))
                .with_code(ErrorCode::InvalidInput));
        }
    };
    tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    // Each source stocks every `every`-th SKU; they overlap, so the merge has work to do.
    Ok((0..skus)
        .step_by(every)
        .map(|i| StockLine {
            sku: format!("SKU-{i:04}"),
            units: (i as u32 % 7) + 1,
            source,
        })
        .collect())
}

// Three EFFECT nodes with no dependency between them: wave 0, run concurrently in
// Parallel mode. Each may be retried on its own if its system hiccups.

#[node(effect, name = "NodeWarehouseStockEffect", retries = 2, timeout = 2s)]
pub async fn fetch_warehouse(request: &Request) -> Result<Vec<StockLine>, NodeError> {
    query_source("warehouse", request, 40, 1).await
}

#[node(effect, name = "NodeStoreStockEffect", retries = 2, timeout = 2s)]
pub async fn fetch_stores(request: &Request) -> Result<Vec<StockLine>, NodeError> {
    query_source("stores", request, 30, 2).await
}

#[node(effect, name = "NodeOnlineStockEffect", retries = 2, timeout = 2s)]
pub async fn fetch_online(request: &Request) -> Result<Vec<StockLine>, NodeError> {
    query_source("online", request, 20, 3).await
}

/// COMPUTE: puts the three answers into one list for the reducer (a reducer folds one
/// `Vec` produced upstream).
#[node(compute, name = "NodeLineCollectorCompute")]
pub fn collect_lines(
    warehouse: &[StockLine],
    stores: &[StockLine],
    online: &[StockLine],
) -> Vec<StockLine> {
    warehouse
        .iter()
        .chain(stores)
        .chain(online)
        .cloned()
        .collect()
}

/// REDUCER, fan-in: adds each line's units to its SKU. `merge` lets Batch mode fold
/// pieces of the list in parallel.
#[node(reducer, name = "NodeStockMergerReducer", merge = merge_stock)]
pub fn stock(acc: &mut Stock, line: &StockLine) {
    *acc.units.entry(line.sku.clone()).or_default() += line.units;
    *acc.lines_by_source.entry(line.source).or_default() += 1;
}

/// Merges two partial stocks.
pub fn merge_stock(into: &mut Stock, from: Stock) {
    for (sku, units) in from.units {
        *into.units.entry(sku).or_default() += units;
    }
    for (source, lines) in from.lines_by_source {
        *into.lines_by_source.entry(source).or_default() += lines;
    }
}

/// COMPUTE: cuts the stock into partitions of `partition_size` SKUs. Its output's length
/// is the width of the `map` that follows.
#[node(compute, name = "NodePartitionerCompute")]
pub fn partition(stock: &Stock, request: &Request) -> Result<Vec<Partition>, NodeError> {
    if request.partition_size == 0 {
        return Err(NodeError::permanent("partition_size must be at least 1")
            .with_code(ErrorCode::InvalidInput));
    }
    let skus: Vec<(String, u32)> = stock.units.iter().map(|(s, &u)| (s.clone(), u)).collect();
    Ok(skus
        .chunks(request.partition_size)
        .enumerate()
        .map(|(index, skus)| Partition {
            index,
            skus: skus.to_vec(),
        })
        .collect())
}

/// The list price of a SKU in cents: a stand-in for the pricing service's answer.
pub fn unit_price_cents(sku: &str) -> u64 {
    let n: u64 = sku.trim_start_matches("SKU-").parse().unwrap_or_default();
    199 + (n % 10) * 100
}

/// EFFECT, mapped: prices one partition (one call to the pricing service). `map` runs it
/// once per element of `partitions`, concurrently in Parallel mode, and keeps the results
/// in the order of the partitions.
#[node(effect, name = "NodePricingEffect", retries = 2, timeout = 2s)]
pub async fn price_partition(part: &Partition) -> Result<PricedPartition, NodeError> {
    tokio::time::sleep(Duration::from_millis(15)).await;
    Ok(PricedPartition {
        index: part.index,
        skus: part.skus.len(),
        units: part.skus.iter().map(|(_, u)| u64::from(*u)).sum(),
        value_cents: part
            .skus
            .iter()
            .map(|(sku, u)| unit_price_cents(sku) * u64::from(*u))
            .sum(),
    })
}

/// REDUCER, second fan-in: folds the priced partitions.
#[node(reducer, name = "NodeValuationReducer")]
pub fn valuation(acc: &mut Valuation, part: &PricedPartition) {
    acc.partitions += 1;
    acc.skus += part.skus;
    acc.units += part.units;
    acc.value_cents += part.value_cents;
}

workflow! {
    /// Stock from three sources, merged, partitioned, priced partition by partition.
    pub workflow Inventory(request: Request) -> Valuation {
        warehouse = fetch_warehouse(request);
        stores = fetch_stores(request);
        online = fetch_online(request);
        lines = collect_lines(warehouse, stores, online);
        merged = stock(lines);
        partitions = partition(merged, request);
        priced = map price_partition(partitions);
        value = valuation(priced);
        return value;
    }
}

/// What one inventory run did.
#[derive(Debug)]
pub struct InventoryRun {
    pub valuation: Valuation,
    pub report: WorkflowReport,
    /// How many calls the `map` step made: the fan-out width, known only at run time.
    pub map_width: usize,
}

/// The mode `main` and the test use: the three sources side by side, at most four pricing
/// calls at once.
pub fn options() -> RunOptions {
    RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 4 })
}

/// Runs the inventory for `request`.
pub async fn run_inventory(rt: &Runtime, request: Request) -> Result<InventoryRun, WorkflowError> {
    let run = Inventory::run(rt, request, options()).await?;
    let map_width = run.report.step("priced").map_or(0, |s| s.calls);
    Ok(InventoryRun {
        valuation: run.output,
        report: run.report,
        map_width,
    })
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    init_tracing();
    let rt = Runtime::default();

    let graph = Inventory::graph();
    for (i, wave) in graph.waves().enumerate() {
        let names: Vec<&str> = wave.iter().map(|&s| graph.step(s).name.as_ref()).collect();
        println!("wave {i}: {}", names.join(", "));
    }

    // Two catalogs of different sizes: same workflow, different fan-out widths.
    for catalog in ["spring", "summer"] {
        let request = Request {
            catalog: catalog.into(),
            partition_size: 8,
        };
        let run = run_inventory(&rt, request).await?;
        let v = &run.valuation;
        println!(
            "\n== catalog {catalog}: {} SKUs, {} units, value {:.2}; `priced` fanned out to {} calls",
            v.skus,
            v.units,
            v.value_cents as f64 / 100.0,
            run.map_width
        );
        println!("{}", run.report);
    }
    Ok(())
}
