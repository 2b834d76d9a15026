//! # ETL pipeline: a million rows through validate → fetch → process → aggregate → save
//!
//! The ONEX tutorial's ETL scenario on real storage. A SQLite table of raw sales events
//! (1,000,000 rows by default) is generated in a temporary directory, cut into chunks of
//! 10,000 rows, and every chunk goes through the same five-step workflow:
//!
//! ```text
//! validate (compute) → fetch (effect) → process (compute) → aggregate (reducer) → save (effect)
//! ```
//!
//! `save` upserts the per-(region, category) aggregates into a destination table, exactly
//! once per chunk, and declares a compensation that takes them out again. Chunks run with
//! `Etl::run_batch` in `ExecutionMode::Batch`: the calls of one node type across a round
//! of chunks become one rayon job.
//!
//! ```text
//! cargo run --release --example etl_pipeline                 # 1,000,000 records
//! cargo run --release --example etl_pipeline -- 200000       # or ETL_RECORDS=200000
//! cargo run --release --example etl_pipeline -- --mermaid    # only print the graph
//! cargo run --release --example etl_pipeline -- --help
//! RUST_LOG=onex_runtime=debug cargo run --release --example etl_pipeline -- 20000  # spans, events
//! ```
//!
//! It writes `etl_pipeline.trace.json` (open it in <https://ui.perfetto.dev>).
//! `tests/examples_etl_pipeline.rs` runs the same functions on 20,000 records and checks the
//! destination against totals computed straight from the source with SQL.
//!
//! Over 500 lines: one scenario whole, on real storage (schema, generator, nodes, the
//! workflow and its report), so that it reads as a program a user would write.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use onex::prelude::*;
use onex::{ProgressObserver, RunObserver};
use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;

/// Records generated when neither `ETL_RECORDS` nor an argument says otherwise.
pub const DEFAULT_RECORDS: u64 = 1_000_000;
/// Rows per chunk: one workflow run reads, cleans and aggregates this many rows.
pub const CHUNK_ROWS: u64 = 10_000;
/// Chunks per `run_batch` call. Several rounds instead of one giant batch keep memory
/// bounded (only one round of rows is in flight) and let the progress bar move.
pub const CHUNKS_PER_ROUND: usize = 10;
/// The largest chunk `validate` accepts: a guard against a caller reading a whole table
/// into memory by mistake.
pub const MAX_CHUNK_ROWS: u64 = 100_000;

/// The regions and categories the business knows; a row naming anything else is bad data.
pub const REGIONS: [&str; 6] = ["central", "east", "north", "overseas", "south", "west"];
/// See [`REGIONS`].
pub const CATEGORIES: [&str; 5] = ["books", "garden", "grocery", "music", "toys"];

// ---------------------------------------------------------------------------------------
// The resource: where the data lives
// ---------------------------------------------------------------------------------------

/// The ONEX container's view of storage: registered once on the `Runtime` and fetched by
/// type in effect nodes (`ctx.resource::<Databases>()`).
///
/// Reads and writes are shaped differently. `fetch` calls of different chunks run on
/// different threads at once, and a rusqlite `Connection` is not `Sync`, so each opens its
/// own read-only connection from the path (opening a SQLite file costs microseconds).
/// SQLite, though, has one writer at a time: several connections saving at once would
/// queue in SQLite's busy handler, which sleeps in steps of up to 100 ms. So writes share
/// one connection behind a mutex and wait their turn in the process, without sleeping.
#[derive(Debug, Clone)]
pub struct Databases {
    /// The raw events (read only).
    pub source: PathBuf,
    /// The aggregates.
    pub destination: PathBuf,
    /// The one writing connection to `destination`, shared by the clones of this value.
    writer: Arc<Mutex<Connection>>,
}

impl Databases {
    /// Opens the writing connection to `destination`, which `create_destination` made.
    pub fn open(source: PathBuf, destination: PathBuf) -> rusqlite::Result<Self> {
        let writer = Connection::open(&destination)?;
        // With WAL, NORMAL syncs at checkpoints instead of at every commit: a crash can
        // lose the last commits but never corrupts the file, and the ledger lets a re-run
        // load the lost chunks again.
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Databases {
            source,
            destination,
            writer: Arc::new(Mutex::new(writer)),
        })
    }

    fn open_source(&self) -> Result<Connection, NodeError> {
        Connection::open_with_flags(&self.source, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| db_error("open source", e))
    }

    /// The writing connection, for one transaction.
    fn writer(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock may have left a transaction open; rusqlite rolls
        // back an unfinished transaction when it is dropped, so the connection is usable.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Turns a SQLite error into a `NodeError` that says whether retrying can help: a locked
/// or busy database is transient (the retry policy on the step tries again), anything else
/// (a missing table, a constraint) is permanent and fails the step at once.
fn db_error(what: &str, error: rusqlite::Error) -> NodeError {
    let busy = matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    let message = format!("{what}: {error}");
    if busy {
        NodeError::transient(message).with_code(ErrorCode::ResourceUnavailable)
    } else {
        NodeError::permanent(message)
    }
}

// ---------------------------------------------------------------------------------------
// The data
// ---------------------------------------------------------------------------------------

/// The workflow's input: one chunk of the source table, the ids `first_id..end_id`.
/// `Serialize` lets `Etl::plan` and `RunOptions::capture_inputs` record it in thunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// The chunk's number, from 0; also its key in the load ledger.
    pub index: u64,
    /// The first id of the chunk.
    pub first_id: i64,
    /// One past the last id.
    pub end_id: i64,
}

/// A chunk that passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidChunk(pub Chunk);

/// A source row as stored: nothing is trusted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub id: i64,
    pub region: String,
    pub category: String,
    pub amount_cents: i64,
    pub quantity: i64,
    pub status: String,
}

/// A clean sale. Region and category point into [`REGIONS`] and [`CATEGORIES`], so the
/// million sales allocate no strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sale {
    pub region: &'static str,
    pub category: &'static str,
    pub units: i64,
    pub revenue_cents: i64,
}

/// The aggregate of one (region, category) group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Group {
    pub orders: i64,
    pub units: i64,
    pub revenue_cents: i64,
}

/// What `aggregate` folds a chunk's sales into. `Default` is the empty fold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalesTotals {
    pub groups: BTreeMap<(&'static str, &'static str), Group>,
}

impl SalesTotals {
    /// Orders kept across all groups.
    pub fn orders(&self) -> i64 {
        self.groups.values().map(|g| g.orders).sum()
    }
}

/// What `save` wrote: the workflow's output, and what its compensation needs to undo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedChunk {
    pub chunk: u64,
    /// False when the ledger showed the chunk already loaded (a re-run): nothing was added.
    pub applied: bool,
    pub totals: SalesTotals,
}

// ---------------------------------------------------------------------------------------
// The nodes: plain functions, still callable (and unit-testable) as written
// ---------------------------------------------------------------------------------------

/// COMPUTE: rejects a chunk that is empty or too large before any I/O is spent on it.
/// Invalid input is permanent: retrying the same chunk cannot make it valid.
#[node(compute, name = "NodeChunkValidatorCompute")]
pub fn validate(chunk: &Chunk) -> Result<ValidChunk, NodeError> {
    let rows = chunk.end_id.saturating_sub(chunk.first_id);
    if rows <= 0 || rows as u64 > MAX_CHUNK_ROWS {
        return Err(NodeError::permanent(format!(
            "chunk {} spans {rows} ids; expected 1..={MAX_CHUNK_ROWS}",
            chunk.index
        ))
        .with_code(ErrorCode::InvalidInput));
    }
    Ok(ValidChunk(*chunk))
}

/// EFFECT: reads the chunk's rows from the source table.
///
/// A sync effect on purpose: rusqlite blocks. The runtime runs synchronous calls of a
/// concurrent wave or a batch on its rayon pool, never on a tokio worker, so blocking here
/// starves nothing. A busy database is retried with backoff.
#[node(effect, name = "NodeDataFetcherEffect", retries = 3, backoff = exponential(10ms, max = 1s))]
pub fn fetch(ctx: &Context, valid: &ValidChunk) -> Result<Vec<RawEvent>, NodeError> {
    let chunk = valid.0;
    let conn = ctx.resource::<Databases>()?.open_source()?;
    // `prepare_cached` would pay off on a long-lived connection; this one lives for a chunk.
    let mut stmt = conn
        .prepare(
            "SELECT id, region, category, amount_cents, quantity, status
               FROM raw_events WHERE id >= ?1 AND id < ?2 ORDER BY id",
        )
        .map_err(|e| db_error("prepare fetch", e))?;
    let rows = stmt
        .query_map(params![chunk.first_id, chunk.end_id], |row| {
            Ok(RawEvent {
                id: row.get(0)?,
                region: row.get(1)?,
                category: row.get(2)?,
                amount_cents: row.get(3)?,
                quantity: row.get(4)?,
                status: row.get(5)?,
            })
        })
        .map_err(|e| db_error("fetch", e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| db_error("read row", e))
}

/// COMPUTE: keeps completed sales with sane numbers and known labels; everything else
/// (cancelled or refunded orders, negative amounts, empty quantities, unknown regions) is
/// dropped here. Pure, so the runtime may run it on any core.
#[node(compute, name = "NodeSalesCleanerCompute")]
pub fn process(events: &[RawEvent]) -> Vec<Sale> {
    events
        .iter()
        .filter(|e| e.status == "completed" && e.amount_cents >= 0 && e.quantity > 0)
        .filter_map(|e| {
            Some(Sale {
                region: known(&REGIONS, &e.region)?,
                category: known(&CATEGORIES, &e.category)?,
                units: e.quantity,
                revenue_cents: e.amount_cents * e.quantity,
            })
        })
        .collect()
}

/// The `'static` spelling of `name` if it is in `list`.
fn known(list: &[&'static str], name: &str) -> Option<&'static str> {
    list.iter().copied().find(|&known| known == name)
}

/// REDUCER: folds one sale into the chunk's totals. With `merge`, Batch mode splits a
/// chunk's sales into pieces, folds them in parallel and merges the partial totals.
#[node(reducer, name = "NodeSalesAggregatorReducer", merge = merge_totals)]
pub fn aggregate(acc: &mut SalesTotals, sale: &Sale) {
    let group = acc.groups.entry((sale.region, sale.category)).or_default();
    group.orders += 1;
    group.units += sale.units;
    group.revenue_cents += sale.revenue_cents;
}

/// Merges partial totals (sums are associative, so the split does not change the result).
pub fn merge_totals(into: &mut SalesTotals, from: SalesTotals) {
    for (key, g) in from.groups {
        let group = into.groups.entry(key).or_default();
        group.orders += g.orders;
        group.units += g.units;
        group.revenue_cents += g.revenue_cents;
    }
}

/// EFFECT: adds the chunk's totals to the destination, exactly once.
///
/// One transaction does two things: it records the chunk in the `loaded_chunks` ledger and
/// upserts every group (`INSERT ... ON CONFLICT DO UPDATE` adds to what earlier chunks
/// stored). If the ledger already has the chunk (a re-run after a crash, a retry whose
/// first attempt committed), nothing is added: the sums stay right. `unsave` undoes it
/// when a saga (`FailureStrategy::Compensate`) rolls the run back.
#[node(effect, name = "NodeSalesWriterEffect", compensate = unsave, retries = 3, backoff = exponential(20ms, max = 2s))]
pub fn save(
    ctx: &Context,
    valid: &ValidChunk,
    totals: &SalesTotals,
) -> Result<SavedChunk, NodeError> {
    let chunk = valid.0.index;
    let mut conn = ctx.resource::<Databases>()?.writer();
    // IMMEDIATE takes SQLite's write lock at once: a reader elsewhere (a dashboard on the
    // table) cannot make the transaction fail halfway through.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| db_error("begin", e))?;
    let fresh = tx
        .execute(
            "INSERT INTO loaded_chunks (chunk, orders) VALUES (?1, ?2)
             ON CONFLICT (chunk) DO NOTHING",
            params![chunk as i64, totals.orders()],
        )
        .map_err(|e| db_error("ledger", e))?
        == 1;
    if fresh {
        let mut upsert = tx
            .prepare(
                "INSERT INTO sales_by_group (region, category, orders, units, revenue_cents)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (region, category) DO UPDATE SET
                     orders = orders + excluded.orders,
                     units = units + excluded.units,
                     revenue_cents = revenue_cents + excluded.revenue_cents",
            )
            .map_err(|e| db_error("prepare upsert", e))?;
        for ((region, category), g) in &totals.groups {
            upsert
                .execute(params![
                    region,
                    category,
                    g.orders,
                    g.units,
                    g.revenue_cents
                ])
                .map_err(|e| db_error("upsert", e))?;
        }
    }
    tx.commit().map_err(|e| db_error("commit", e))?;
    Ok(SavedChunk {
        chunk,
        applied: fresh,
        totals: totals.clone(),
    })
}

/// COMPENSATION of `save`: receives what `save` returned and subtracts it again, dropping
/// the ledger entry so the chunk can be loaded later. A chunk `save` did not apply is left
/// alone: undoing it would take away another run's rows.
pub fn unsave(ctx: &Context, saved: &SavedChunk) -> Result<(), NodeError> {
    if !saved.applied {
        return Ok(());
    }
    let mut conn = ctx.resource::<Databases>()?.writer();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| db_error("begin", e))?;
    tx.execute(
        "DELETE FROM loaded_chunks WHERE chunk = ?1",
        params![saved.chunk as i64],
    )
    .map_err(|e| db_error("ledger", e))?;
    for ((region, category), g) in &saved.totals.groups {
        tx.execute(
            "UPDATE sales_by_group SET orders = orders - ?3, units = units - ?4,
                    revenue_cents = revenue_cents - ?5
              WHERE region = ?1 AND category = ?2",
            params![region, category, g.orders, g.units, g.revenue_cents],
        )
        .map_err(|e| db_error("subtract", e))?;
    }
    tx.commit().map_err(|e| db_error("commit", e))
}

// ---------------------------------------------------------------------------------------
// The workflow: checked at compile time (types of every edge, no cycle)
// ---------------------------------------------------------------------------------------

workflow! {
    /// One chunk of the source table through validate → fetch → process → aggregate → save.
    pub workflow Etl(chunk: Chunk) -> SavedChunk {
        valid = validate(chunk);
        // The step can tighten the node's defaults: a whole chunk read must not hang.
        #[step(timeout = 30s)]
        events = fetch(valid);
        sales = process(events);
        totals = aggregate(sales);
        // `save` needs the chunk number for the ledger, so it reads `valid` too.
        saved = save(valid, totals);
        return saved;
    }
}

// ---------------------------------------------------------------------------------------
// Setting up the databases
// ---------------------------------------------------------------------------------------

/// Creates the source table with `records` generated sales events, ids `1..=records`.
///
/// Fast because it is one transaction (one fsync, not a million) around one prepared
/// statement. About a quarter of the rows are meant to be dropped (cancelled or refunded
/// orders, negative amounts, zero quantities, unknown labels), so `process` has work to do.
/// The generator is seeded: the same `seed` gives the same table.
pub fn create_source(path: &Path, records: u64, seed: u64) -> rusqlite::Result<()> {
    let mut conn = Connection::open(path)?;
    // A scratch database: no rollback journal and no fsync; the data can be regenerated.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         CREATE TABLE raw_events (
             id INTEGER PRIMARY KEY,
             region TEXT NOT NULL,
             category TEXT NOT NULL,
             amount_cents INTEGER NOT NULL,
             quantity INTEGER NOT NULL,
             status TEXT NOT NULL
         );",
    )?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO raw_events (id, region, category, amount_cents, quantity, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for id in 1..=records as i64 {
            let region = if rng.u32(0..500) == 0 {
                "atlantis"
            } else {
                REGIONS[rng.usize(..REGIONS.len())]
            };
            let category = CATEGORIES[rng.usize(..CATEGORIES.len())];
            let amount_cents = if rng.u32(0..1000) < 2 {
                -rng.i64(1..10_000)
            } else {
                rng.i64(99..50_000)
            };
            let quantity = rng.i64(0..=10);
            let status = match rng.u32(0..100) {
                0..=84 => "completed",
                85..=94 => "cancelled",
                _ => "refunded",
            };
            insert.execute(params![
                id,
                region,
                category,
                amount_cents,
                quantity,
                status
            ])?;
        }
    }
    tx.commit()
}

/// Creates the (empty) destination: the aggregates and the ledger of loaded chunks.
pub fn create_destination(path: &Path) -> rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    // WAL lets readers look at the totals while chunks are being saved.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS sales_by_group (
             region TEXT NOT NULL,
             category TEXT NOT NULL,
             orders INTEGER NOT NULL,
             units INTEGER NOT NULL,
             revenue_cents INTEGER NOT NULL,
             PRIMARY KEY (region, category)
         );
         CREATE TABLE IF NOT EXISTS loaded_chunks (
             chunk INTEGER PRIMARY KEY,
             orders INTEGER NOT NULL
         );",
    )
}

/// Cuts ids `1..=records` into chunks of at most `chunk_rows`.
pub fn chunks(records: u64, chunk_rows: u64) -> Vec<Chunk> {
    let chunk_rows = chunk_rows.max(1);
    (0..records.div_ceil(chunk_rows))
        .map(|index| Chunk {
            index,
            first_id: (index * chunk_rows + 1) as i64,
            end_id: ((index + 1) * chunk_rows).min(records) as i64 + 1,
        })
        .collect()
}

/// One row of the destination table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub region: String,
    pub category: String,
    pub orders: i64,
    pub units: i64,
    pub revenue_cents: i64,
}

/// The destination table, ordered by region and category.
pub fn read_destination(path: &Path) -> rusqlite::Result<Vec<GroupRow>> {
    let conn = Connection::open(path)?;
    let mut stmt = conn.prepare(
        "SELECT region, category, orders, units, revenue_cents
           FROM sales_by_group ORDER BY region, category",
    )?;
    stmt.query_map([], |row| {
        Ok(GroupRow {
            region: row.get(0)?,
            category: row.get(1)?,
            orders: row.get(2)?,
            units: row.get(3)?,
            revenue_cents: row.get(4)?,
        })
    })?
    .collect()
}

/// How many chunks the ledger says are loaded.
pub fn loaded_chunks(path: &Path) -> rusqlite::Result<i64> {
    let conn = Connection::open(path)?;
    conn.query_row("SELECT COUNT(*) FROM loaded_chunks", [], |row| row.get(0))
}

// ---------------------------------------------------------------------------------------
// Running it
// ---------------------------------------------------------------------------------------

/// What a whole ETL did.
#[derive(Debug)]
pub struct EtlOutcome {
    /// One report per chunk, in chunk order.
    pub reports: Vec<WorkflowReport>,
    /// The output of each chunk's run.
    pub saved: Vec<SavedChunk>,
    /// How many `run_batch` rounds it took.
    pub rounds: usize,
    /// Wall-clock time of the workflow runs (generation not included).
    pub elapsed: Duration,
}

/// Runs every chunk through `Etl`, `per_round` chunks per `run_batch` call, in Batch mode.
///
/// `observer` (a progress bar, a logger) sees every run. The first failed chunk stops the
/// ETL with its error: its report is in the error (`WorkflowError::report`).
pub async fn run_etl(
    rt: &Runtime,
    chunks: Vec<Chunk>,
    per_round: usize,
    observer: Option<Arc<dyn RunObserver>>,
) -> Result<EtlOutcome, WorkflowError> {
    let started = Instant::now();
    let mut options = RunOptions::new().mode(ExecutionMode::Batch);
    if let Some(observer) = observer {
        options = options.observer(observer);
    }
    let mut outcome = EtlOutcome {
        reports: Vec::with_capacity(chunks.len()),
        saved: Vec::with_capacity(chunks.len()),
        rounds: 0,
        elapsed: Duration::ZERO,
    };
    for round in chunks.chunks(per_round.max(1)) {
        // Each input of `run_batch` is its own run with its own report; the calls of one
        // node type across the round are batched onto rayon together.
        for result in Etl::run_batch(rt, round.to_vec(), options.clone()).await {
            let run = result?;
            outcome.saved.push(run.output);
            outcome.reports.push(run.report);
        }
        outcome.rounds += 1;
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// A runtime with the databases registered as its resource.
pub fn runtime(dbs: Databases) -> Runtime {
    Runtime::builder().resource(dbs).build()
}

/// What `--help` prints.
pub const USAGE: &str = "\
Generates a SQLite table of raw sales events and runs every chunk of it through the ETL workflow.

Usage: etl_pipeline [RECORDS] [--mermaid] [--help]

Arguments:
  [RECORDS]  how many records to generate (default 1000000, or $ETL_RECORDS); 1_000 style is fine

Options:
  --mermaid  print the workflow's graph as a Mermaid flowchart on stdout, and nothing else
  -h, --help print this help

Logs go to stderr; RUST_LOG=onex_runtime=debug shows a span per run and step.
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Generate `records` rows and run the ETL over them.
    Run {
        /// How many records to generate.
        records: u64,
    },
    /// Print the graph as Mermaid on stdout and stop.
    Mermaid,
    /// Print [`USAGE`] and stop.
    Help,
}

/// Reads the arguments after the program name; `env_records` is `$ETL_RECORDS`, used when
/// no count is given. An error is a message to print above [`USAGE`].
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
    env_records: Option<String>,
) -> Result<Command, String> {
    let mut records = None;
    let mut mermaid = false;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--mermaid" => mermaid = true,
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            _ if records.is_some() => return Err(format!("unexpected argument `{arg}`")),
            _ => records = Some(arg),
        }
    }
    if mermaid {
        return Ok(Command::Mermaid);
    }
    match records.or(env_records) {
        Some(text) => match text.replace('_', "").parse() {
            Ok(records) => Ok(Command::Run { records }),
            Err(e) => Err(format!("`{text}` is not a number of records: {e}")),
        },
        None => Ok(Command::Run {
            records: DEFAULT_RECORDS,
        }),
    }
}

fn init_tracing() {
    // Quiet unless asked: `RUST_LOG=onex_runtime=debug` shows a span per run and step.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn dollars(cents: i64) -> String {
    format!("{:.2}", cents as f64 / 100.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let records = match parse_args(std::env::args().skip(1), std::env::var("ETL_RECORDS").ok()) {
        Ok(Command::Run { records }) => records,
        Ok(Command::Mermaid) => {
            print!("{}", Etl::graph().to_mermaid());
            return Ok(());
        }
        Ok(Command::Help) => {
            print!("{USAGE}");
            return Ok(());
        }
        Err(message) => {
            eprint!("error: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    init_tracing();
    let dir = tempfile::tempdir()?;
    let (source, destination) = (
        dir.path().join("source.db"),
        dir.path().join("destination.db"),
    );

    let t = Instant::now();
    create_source(&source, records, 42)?;
    create_destination(&destination)?;
    let dbs = Databases::open(source, destination)?;
    println!(
        "generated {records} raw events in {:.2?} ({})",
        t.elapsed(),
        dbs.source.display()
    );

    let chunks = chunks(records, CHUNK_ROWS);
    let total = chunks.len();
    // One bar for the whole ETL, counting finished chunk runs; indicatif hides it when
    // stderr is not a terminal, so piped output stays clean.
    let progress = Arc::new(ProgressObserver::runs(total as u64));
    let rt = runtime(dbs.clone());
    // The bar ends its line when the last chunk finishes: what follows prints below it.
    let outcome = run_etl(&rt, chunks, CHUNKS_PER_ROUND, Some(progress.clone())).await?;

    let orders: i64 = outcome.saved.iter().map(|s| s.totals.orders()).sum();
    let thunks: usize = outcome.reports.iter().map(|r| r.thunks_emitted.len()).sum();
    let secs = outcome.elapsed.as_secs_f64();
    println!(
        "processed {records} records in {total} chunks of up to {CHUNK_ROWS} rows \
         ({} run_batch rounds of up to {CHUNKS_PER_ROUND} chunks) in {:.2?}: {:.0} records/s",
        outcome.rounds,
        outcome.elapsed,
        records as f64 / secs
    );
    println!(
        "kept {orders} sales, dropped {} bad or unfinished rows; {thunks} thunks over {} runs",
        records as i64 - orders,
        outcome.reports.len()
    );

    if let Some(report) = outcome.reports.first() {
        println!("\none chunk run (chunk 0):\n{report}");
    }

    // Read back what `save` stored, summed per region.
    let rows = read_destination(&dbs.destination)?;
    let mut by_region: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for row in &rows {
        let entry = by_region.entry(&row.region).or_default();
        entry.0 += row.orders;
        entry.1 += row.revenue_cents;
    }
    println!(
        "\ndestination: {} groups in sales_by_group, {} chunks in the ledger",
        rows.len(),
        loaded_chunks(&dbs.destination)?
    );
    println!("{:<10} {:>10} {:>16}", "region", "orders", "revenue");
    for (region, (orders, cents)) in &by_region {
        println!("{region:<10} {orders:>10} {:>16}", dollars(*cents));
    }

    // One timeline for the whole batch: each chunk run is a process on a shared clock.
    let trace = onex::chrome_trace(&outcome.reports);
    std::fs::write("etl_pipeline.trace.json", trace.to_string())?;
    println!("\nwrote etl_pipeline.trace.json (open in https://ui.perfetto.dev)");
    Ok(())
}
