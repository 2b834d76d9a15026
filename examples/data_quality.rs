//! # Data quality gate: parallel checks, a score, and a route
//!
//! ```text
//! cargo run --release --example data_quality
//! RUST_LOG=onex_runtime=debug cargo run --release --example data_quality   # with logs
//! ```
//!
//! Before a dataset lands in the data lake it goes through four quality checks —
//! completeness, validity, uniqueness and freshness. Each is a COMPUTE node over the same
//! input, so they form one wave and run in parallel (`ExecutionMode::Parallel`). A REDUCER
//! folds their results into one weighted score, and two conditional steps route the
//! dataset: `#[step(when = |quality| ...)]` publishes it when the score clears
//! [`THRESHOLD`], or quarantines it with the check results for someone to look at.
//!
//! ```text
//! completeness ─┐
//! validity     ─┤                       ┌─ publish     (when score ≥ 0.9)
//! uniqueness   ─┼─> checks ─> quality ──┤                                  ─> route
//! freshness    ─┘                       └─ quarantine  (when score < 0.9)
//! ```
//!
//! Both routes write real files under a temporary `lake/` directory. The demo runs a clean
//! daily extract (published) and a legacy import with duplicates, bad emails and stale
//! rows (quarantined).

use std::collections::HashSet;
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use onex::prelude::*;
use serde::Serialize;
use tracing_subscriber::EnvFilter;

/// The score a dataset needs to be published.
pub const THRESHOLD: f64 = 0.9;

/// Rows updated longer ago than this before the extract are stale.
pub const MAX_AGE_SECS: u64 = 24 * 60 * 60;

// ---- the data ----

/// One customer record as extracted.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: u64,
    pub email: Option<String>,
    pub age: Option<u32>,
    /// ISO 3166 alpha-2 code.
    pub country: Option<String>,
    /// Unix seconds of the row's last update in the source system.
    pub updated_at: u64,
}

/// An extract of a table.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    pub name: String,
    /// Unix seconds when the extract was taken.
    pub extracted_at: u64,
    pub rows: Vec<Row>,
}

/// One check's verdict: the share of good values, from 0 to 1, and its weight in the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub check: &'static str,
    pub score: f64,
    pub weight: f64,
    /// A human summary of what was wrong.
    pub finding: String,
}

/// The checks folded into one weighted score.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Quality {
    pub weighted_sum: f64,
    pub total_weight: f64,
    pub checks: Vec<CheckResult>,
}

impl Quality {
    /// The weighted mean of the check scores (0 when there were no checks).
    pub fn score(&self) -> f64 {
        if self.total_weight > 0.0 {
            self.weighted_sum / self.total_weight
        } else {
            0.0
        }
    }
}

/// Where a dataset was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub path: PathBuf,
}

/// Which way a dataset went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Published,
    Quarantined,
}

/// The gate's decision, with the evidence behind it: the workflow's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub route: Route,
    /// Where the dataset was written.
    pub path: PathBuf,
    pub score: f64,
    /// The check results, in the order the reducer folded them.
    pub checks: Vec<CheckResult>,
}

// ---- the checks (COMPUTE: pure, so they can run on any core, in any order) ----

fn share(good: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        good as f64 / total as f64
    }
}

/// How many of the optional fields are filled in.
#[node(compute, name = "NodeCompletenessCompute")]
pub fn completeness(data: &Dataset) -> CheckResult {
    let fields = data.rows.len() * 3;
    let filled: usize = data
        .rows
        .iter()
        .map(|r| {
            usize::from(r.email.is_some())
                + usize::from(r.age.is_some())
                + usize::from(r.country.is_some())
        })
        .sum();
    CheckResult {
        check: "completeness",
        score: share(filled, fields),
        weight: 0.3,
        finding: format!("{} of {fields} fields empty", fields - filled),
    }
}

fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((user, domain)) => !user.is_empty() && domain.contains('.') && !domain.contains('@'),
        None => false,
    }
}

/// How many of the filled-in fields hold plausible values.
#[node(compute, name = "NodeValidityCompute")]
pub fn validity(data: &Dataset) -> CheckResult {
    let mut present = 0;
    let mut invalid = 0;
    for row in &data.rows {
        let checks = [
            row.email.as_deref().map(valid_email),
            row.age.map(|age| age <= 120),
            row.country
                .as_deref()
                .map(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase())),
        ];
        for ok in checks.into_iter().flatten() {
            present += 1;
            invalid += usize::from(!ok);
        }
    }
    CheckResult {
        check: "validity",
        score: share(present - invalid, present),
        weight: 0.3,
        finding: format!("{invalid} of {present} values invalid"),
    }
}

/// How many rows have an id no earlier row had.
#[node(compute, name = "NodeUniquenessCompute")]
pub fn uniqueness(data: &Dataset) -> CheckResult {
    let distinct = data.rows.iter().map(|r| r.id).collect::<HashSet<_>>().len();
    CheckResult {
        check: "uniqueness",
        score: share(distinct, data.rows.len()),
        weight: 0.2,
        finding: format!("{} duplicate ids", data.rows.len() - distinct),
    }
}

/// How many rows were updated within `MAX_AGE_SECS` of the extract.
#[node(compute, name = "NodeFreshnessCompute")]
pub fn freshness(data: &Dataset) -> CheckResult {
    let fresh = data
        .rows
        .iter()
        .filter(|r| data.extracted_at.saturating_sub(r.updated_at) <= MAX_AGE_SECS)
        .count();
    CheckResult {
        check: "freshness",
        score: share(fresh, data.rows.len()),
        weight: 0.2,
        finding: format!("{} stale rows", data.rows.len() - fresh),
    }
}

/// COMPUTE: gathers the four verdicts into the list the reducer folds.
#[node(compute)]
pub fn gather(
    completeness: &CheckResult,
    validity: &CheckResult,
    uniqueness: &CheckResult,
    freshness: &CheckResult,
) -> Vec<CheckResult> {
    vec![
        completeness.clone(),
        validity.clone(),
        uniqueness.clone(),
        freshness.clone(),
    ]
}

/// REDUCER: folds the check results into a weighted score. With `merge`, a batch run can
/// fold chunks of a long list in parallel and combine them.
#[node(reducer, merge = merge_quality)]
pub fn score(acc: &mut Quality, check: &CheckResult) {
    acc.weighted_sum += check.score * check.weight;
    acc.total_weight += check.weight;
    acc.checks.push(check.clone());
}

fn merge_quality(into: &mut Quality, from: Quality) {
    into.weighted_sum += from.weighted_sum;
    into.total_weight += from.total_weight;
    into.checks.extend(from.checks);
}

// ---- the routes (EFFECT: they write to the lake) ----

/// The lake's root directory, registered on the runtime as a resource.
#[derive(Debug, Clone)]
pub struct Lake {
    pub root: PathBuf,
}

fn write_json(dir: PathBuf, name: &str, value: &impl Serialize) -> Result<Stored, NodeError> {
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.json"));
    fs::write(&path, serde_json::to_vec_pretty(value)?)?;
    Ok(Stored { path })
}

/// Publishes the dataset where consumers read it.
#[node(effect, name = "NodePublishEffect")]
pub fn publish(ctx: &Context, data: &Dataset, _quality: &Quality) -> Result<Stored, NodeError> {
    let lake = ctx.resource::<Lake>()?;
    write_json(lake.root.join("published"), &data.name, data)
}

/// Sets the dataset aside with the check results that kept it out.
#[node(effect, name = "NodeQuarantineEffect")]
pub fn quarantine(ctx: &Context, data: &Dataset, quality: &Quality) -> Result<Stored, NodeError> {
    #[derive(Serialize)]
    struct Held<'a> {
        score: f64,
        threshold: f64,
        quality: &'a Quality,
        dataset: &'a Dataset,
    }
    let lake = ctx.resource::<Lake>()?;
    let held = Held {
        score: quality.score(),
        threshold: THRESHOLD,
        quality,
        dataset: data,
    };
    write_json(lake.root.join("quarantine"), &data.name, &held)
}

/// COMPUTE: records the route taken. Exactly one of the two conditional steps ran; the
/// other was skipped, and `Option<&T>` parameters are how a step reads a step that may
/// have been skipped.
#[node(compute)]
pub fn decide(
    quality: &Quality,
    published: Option<&Stored>,
    quarantined: Option<&Stored>,
) -> Result<Decision, NodeError> {
    let (route, stored) = match (published, quarantined) {
        (Some(stored), None) => (Route::Published, stored),
        (None, Some(stored)) => (Route::Quarantined, stored),
        _ => {
            return Err(NodeError::permanent(
                "exactly one of publish and quarantine should have run",
            ));
        }
    };
    Ok(Decision {
        route,
        path: stored.path.clone(),
        score: quality.score(),
        checks: quality.checks.clone(),
    })
}

workflow! {
    /// Check a dataset, score it, publish or quarantine it.
    pub workflow QualityGate(dataset: Dataset) -> Decision {
        complete = completeness(dataset);
        valid = validity(dataset);
        unique = uniqueness(dataset);
        fresh = freshness(dataset);
        checks = gather(complete, valid, unique, fresh);
        quality = score(checks);
        #[step(when = |quality| quality.score() >= THRESHOLD)]
        published = publish(dataset, quality);
        #[step(when = |quality| quality.score() < THRESHOLD)]
        quarantined = quarantine(dataset, quality);
        route = decide(quality, published, quarantined);
        return route;
    }
}

// ---- the scenario ----

/// When both demo extracts were taken: 2026-11-24 06:00 UTC.
pub const EXTRACTED_AT: u64 = 1_795_500_000;

const HOUR: u64 = 60 * 60;

/// A clean daily extract: 20 customers, one age missing.
pub fn daily_extract() -> Dataset {
    let rows = (1..=20)
        .map(|id| Row {
            id,
            email: Some(format!("customer{id}@example.com")),
            age: (id != 7).then_some(20 + id as u32),
            country: Some(if id % 2 == 0 { "NL" } else { "BE" }.to_owned()),
            updated_at: EXTRACTED_AT - id * HOUR / 2,
        })
        .collect();
    Dataset {
        name: "customers_daily".to_owned(),
        extracted_at: EXTRACTED_AT,
        rows,
    }
}

/// A legacy import: 20 rows with 4 duplicate ids, 5 missing and 3 malformed emails, an
/// impossible age, and 12 rows untouched for months.
pub fn legacy_import() -> Dataset {
    let rows = (1..=20u64)
        .map(|n| {
            let id = if n > 16 { n - 16 } else { n }; // rows 17-20 repeat ids 1-4
            let email = match n {
                1..=5 => None,
                6 => Some("no-at-sign.example.com".to_owned()),
                7 => Some("two@@example.com".to_owned()),
                8 => Some("someone@localhost".to_owned()),
                _ => Some(format!("legacy{n}@example.org")),
            };
            Row {
                id,
                email,
                age: Some(if n == 9 { 230 } else { 30 + n as u32 }),
                country: Some("DE".to_owned()),
                updated_at: if n <= 12 {
                    EXTRACTED_AT - 90 * 24 * HOUR
                } else {
                    EXTRACTED_AT - HOUR
                },
            }
        })
        .collect();
    Dataset {
        name: "customers_legacy".to_owned(),
        extracted_at: EXTRACTED_AT,
        rows,
    }
}

/// Runs the gate over `datasets` with a lake under `lake_root`; one run per dataset.
pub async fn gate(
    lake_root: &Path,
    datasets: Vec<Dataset>,
) -> Result<Vec<WorkflowRun<Decision>>, WorkflowError> {
    let rt = Runtime::builder()
        .resource(Lake {
            root: lake_root.to_owned(),
        })
        .build();
    // The four checks share the first wave; four slots run them all at once.
    let opts = RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 4 });
    let mut runs = Vec::new();
    for dataset in datasets {
        runs.push(QualityGate::run(&rt, dataset, opts.clone()).await?);
    }
    Ok(runs)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Logs go to stderr, filtered by RUST_LOG (`onex_runtime=debug` shows why a route was
    // skipped); by default only errors are shown.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let lake = tempfile::tempdir()?;
    let datasets = vec![daily_extract(), legacy_import()];
    let runs = gate(lake.path(), datasets.clone()).await?;

    for (dataset, run) in datasets.iter().zip(&runs) {
        let decision = &run.output;
        println!("dataset {} ({} rows)", dataset.name, dataset.rows.len());
        for check in &decision.checks {
            println!(
                "  {:<13} {:>5.1}%  (weight {:.1})  {}",
                check.check,
                check.score * 100.0,
                check.weight,
                check.finding
            );
        }
        let (verdict, sign) = match decision.route {
            Route::Published => ("PUBLISHED", "≥"),
            Route::Quarantined => ("QUARANTINED", "<"),
        };
        let path = decision
            .path
            .strip_prefix(lake.path())
            .unwrap_or(&decision.path);
        println!(
            "  score {:.3} {sign} {THRESHOLD} → {verdict} to {}",
            decision.score,
            path.display()
        );
        println!("{}\n", run.report);
    }
    Ok(())
}
