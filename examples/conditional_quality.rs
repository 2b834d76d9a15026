//! # Conditional quality: a fast track for good data, the full pipeline for the rest
//!
//! The ONEX tutorial's conditional workflow. A batch is assessed first; its quality score
//! picks the path:
//!
//! ```text
//!                   ┌─ score >= 0.9 ─→ fast_track ────────────────────┐
//! batch → assess ──┤                                                  ├─→ load
//!                   └─ score <  0.9 ─→ clean → impute → dedupe ───────┘
//! ```
//!
//! Both branches are ordinary steps with a `when` condition on `quality`. The branch not
//! taken is *skipped*, and so is everything downstream of it. `load` takes both branches
//! as `Option<&T>`, which makes them optional inputs: it runs with whichever one was
//! produced. Two batches, one clean and one messy, show both paths.
//!
//! ```text
//! cargo run --release --example conditional_quality
//! ```

use std::collections::HashSet;
use std::error::Error;
use std::sync::{Arc, Mutex};

use onex::prelude::*;

/// The quality a batch needs for the fast track.
pub const FAST_TRACK_THRESHOLD: f64 = 0.9;

/// A customer row as it arrives: fields may be missing, rows may repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: u64,
    pub email: Option<String>,
    pub amount: Option<f64>,
}

/// The workflow's input.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub name: String,
    pub rows: Vec<Row>,
}

/// What `assess` measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// The share of rows that are complete and not repeated, from 0 to 1.
    pub score: f64,
    pub incomplete: usize,
    pub duplicates: usize,
}

/// A row ready for the warehouse: every field present.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanRow {
    pub id: u64,
    pub email: String,
    pub amount: f64,
}

/// Which path a batch took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    FastTrack,
    FullPipeline,
}

/// The rows a branch prepared, and which branch it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub path: Path,
    pub rows: Vec<CleanRow>,
}

/// What `load` wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub batch: String,
    pub path: Path,
    pub rows: usize,
}

/// The destination, registered on the runtime as a resource. A shared `Vec` stands in for
/// a warehouse table here (the `etl_pipeline` example writes to a real SQLite one). It is
/// a cheap handle: `main` keeps a clone to read what the workflow wrote.
#[derive(Debug, Clone, Default)]
pub struct Warehouse {
    pub rows: Arc<Mutex<Vec<(String, CleanRow)>>>,
}

/// COMPUTE: scores the batch. A row counts as good when it has every field and its id
/// was not seen before.
#[node(compute, name = "NodeQualityAssessorCompute")]
pub fn assess(batch: &Batch) -> Quality {
    let mut seen = HashSet::new();
    let (mut incomplete, mut duplicates) = (0, 0);
    for row in &batch.rows {
        if !seen.insert(row.id) {
            duplicates += 1;
        } else if row.email.is_none() || row.amount.is_none() {
            incomplete += 1;
        }
    }
    let bad = incomplete + duplicates;
    let score = if batch.rows.is_empty() {
        0.0
    } else {
        1.0 - bad as f64 / batch.rows.len() as f64
    };
    Quality {
        score,
        incomplete,
        duplicates,
    }
}

/// COMPUTE, fast track: the batch is already good, so it is only reshaped. A row that is
/// nevertheless incomplete (a score of 0.9 allows one in ten) is left out, not guessed.
#[node(compute, name = "NodeFastTrackCompute")]
pub fn fast_track(batch: &Batch) -> Prepared {
    let rows = batch
        .rows
        .iter()
        .filter_map(|r| {
            Some(CleanRow {
                id: r.id,
                email: r.email.clone()?,
                amount: r.amount?,
            })
        })
        .collect();
    Prepared {
        path: Path::FastTrack,
        rows,
    }
}

/// COMPUTE, full pipeline 1/3: normalizes emails and drops rows without one (an email
/// cannot be imputed).
#[node(compute, name = "NodeCleanerCompute")]
pub fn clean(batch: &Batch) -> Vec<Row> {
    batch
        .rows
        .iter()
        .filter_map(|r| {
            let email = r.email.as_deref()?.trim().to_lowercase();
            Some(Row {
                email: Some(email),
                ..r.clone()
            })
        })
        .collect()
}

/// COMPUTE, full pipeline 2/3: fills a missing amount with the mean of the known ones.
#[node(compute, name = "NodeImputerCompute")]
pub fn impute(rows: &[Row]) -> Vec<CleanRow> {
    let known: Vec<f64> = rows.iter().filter_map(|r| r.amount).collect();
    let mean = if known.is_empty() {
        0.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    };
    rows.iter()
        .map(|r| CleanRow {
            id: r.id,
            email: r.email.clone().unwrap_or_default(),
            amount: r.amount.unwrap_or(mean),
        })
        .collect()
}

/// COMPUTE, full pipeline 3/3: keeps the first row of each id.
#[node(compute, name = "NodeDeduplicatorCompute")]
pub fn dedupe(rows: &[CleanRow]) -> Prepared {
    let mut seen = HashSet::new();
    let rows = rows.iter().filter(|r| seen.insert(r.id)).cloned().collect();
    Prepared {
        path: Path::FullPipeline,
        rows,
    }
}

/// EFFECT: writes whichever branch ran. Both inputs are `Option<&Prepared>`: a skipped
/// branch arrives as `None` instead of skipping `load` too. Exactly one is `Some`,
/// because the two conditions are complements; anything else is a bug worth failing on.
#[node(effect, name = "NodeWarehouseLoaderEffect")]
pub fn load(
    ctx: &Context,
    batch: &Batch,
    fast: Option<&Prepared>,
    full: Option<&Prepared>,
) -> Result<Loaded, NodeError> {
    let prepared = match (fast, full) {
        (Some(p), None) | (None, Some(p)) => p,
        _ => {
            return Err(NodeError::permanent(
                "exactly one of the fast track and the full pipeline must run",
            ));
        }
    };
    let warehouse = ctx.resource::<Warehouse>()?;
    let mut table = warehouse
        .rows
        .lock()
        .map_err(|_| NodeError::permanent("warehouse lock poisoned"))?;
    table.extend(
        prepared
            .rows
            .iter()
            .map(|r| (batch.name.clone(), r.clone())),
    );
    Ok(Loaded {
        batch: batch.name.clone(),
        path: prepared.path,
        rows: prepared.rows.len(),
    })
}

workflow! {
    /// Assess, then the fast track or the full pipeline, then load.
    pub workflow QualityPipeline(batch: Batch) -> Loaded {
        quality = assess(batch);
        // `when` closures name steps (here `quality`), which makes them dependencies.
        #[step(when = |quality| quality.score >= FAST_TRACK_THRESHOLD)]
        fast = fast_track(batch);
        #[step(when = |quality| quality.score < FAST_TRACK_THRESHOLD)]
        cleaned = clean(batch);
        // No conditions needed below: a step whose input was skipped is skipped too.
        imputed = impute(cleaned);
        full = dedupe(imputed);
        loaded = load(batch, fast, full);
        return loaded;
    }
}

/// A batch of `n` rows, every one complete and unique: score 1.0.
pub fn clean_batch(n: u64) -> Batch {
    Batch {
        name: "batch-2024-01".into(),
        rows: (1..=n)
            .map(|id| Row {
                id,
                email: Some(format!("customer{id}@example.com")),
                amount: Some(10.0 * id as f64),
            })
            .collect(),
    }
}

/// A batch of `n` rows where every 4th lacks an amount, every 5th an email and every
/// 7th repeats the previous id: well under the threshold.
pub fn messy_batch(n: u64) -> Batch {
    Batch {
        name: "batch-2024-02".into(),
        rows: (1..=n)
            .map(|i| Row {
                id: if i % 7 == 0 { i - 1 } else { i },
                email: (i % 5 != 0).then(|| format!("  Customer{i}@Example.COM ")),
                amount: (i % 4 != 0).then_some(10.0 * i as f64),
            })
            .collect(),
    }
}

/// Runs one batch and returns the run (output and report).
pub async fn process_batch(
    rt: &Runtime,
    batch: Batch,
) -> Result<WorkflowRun<Loaded>, WorkflowError> {
    QualityPipeline::run(rt, batch, RunOptions::new()).await
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
    let warehouse = Warehouse::default();
    let rt = Runtime::builder().resource(warehouse.clone()).build();

    for batch in [clean_batch(50), messy_batch(50)] {
        let quality = assess(&batch);
        println!(
            "== {}: {} rows, quality {:.2} ({} incomplete, {} duplicates)",
            batch.name,
            batch.rows.len(),
            quality.score,
            quality.incomplete,
            quality.duplicates
        );
        let run = process_batch(&rt, batch).await?;
        println!(
            "path taken: {:?}, {} rows loaded",
            run.output.path, run.output.rows
        );
        // The table shows the branch not taken as skipped, with the reason.
        println!("{}\n", run.report);
    }

    let rows = warehouse.rows.lock().map_err(|_| "poisoned")?.len();
    println!("warehouse holds {rows} rows");
    Ok(())
}
