//! # Durable orders: kill the process, resume, and no effect runs twice
//!
//! ```text
//! cargo run --example durable_orders --features sqlite            # Ctrl-C (or kill -9) it midway
//! cargo run --example durable_orders --features sqlite -- --resume
//! cargo run --example onex_cli --features cli -- runs --journal durable-orders.db list
//! ```
//!
//! Each order is a `#[durable]` workflow: validated, its stock held (an effect, undone by a
//! compensation when the card is declined), paid (an effect), and a receipt written. The
//! runs are journaled in a `SqliteJournal` file (`durable-orders.db`): every step's intent
//! before it starts, its output after. The effects write to a *ledger*, a second SQLite
//! file (`durable-orders-ledger.db`) standing in for the payment provider and the
//! warehouse: each write is keyed by `ctx.idempotency_key()`, which is the same for every
//! attempt and every resume of one step of one run, so the ledger applies a re-sent call
//! once (what Stripe's `Idempotency-Key` header does).
//!
//! Kill the process at any point and run it again with `--resume`: `Runtime::recover`
//! finds every unfinished run in the journal and finishes it (orders that had not started
//! are not in the journal: running without `--resume` again places them, and attaches to
//! the runs of the others by their run ids, calling nothing). Completed steps are not run
//! again (their journaled outputs are used); a step that was in flight when the process
//! died is *in doubt* and, being declared `idempotent`, is called again with the same key.
//! The end of the output checks the ledger: one hold per order, one payment per paid
//! order, one release per declined order.
//!
//! Options: `--orders N` (12), `--delay-ms MS` (250, how long each effect takes),
//! `--journal FILE`, `--ledger FILE`, `--fresh` (delete both files first).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::join_all;
use onex::journal::{Journal, JournalError, RunFilter, RunStatus};
use onex::prelude::*;
use onex::sqlite::SqliteJournal;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

// ---- the data ----

/// An order from the shop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    pub id: u32,
    pub sku: String,
    pub quantity: u32,
    pub card: String,
}

/// Stock held for an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    pub order: u32,
    pub key: String,
}

/// A payment taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub order: u32,
    pub cents: u64,
    pub key: String,
}

// ---- the ledger: the outside world the effects change ----

/// The external systems, in one SQLite file. Every table of side effects is keyed by the
/// idempotency key, and `calls` notes every call made, so a re-sent call shows.
pub struct Ledger {
    conn: Mutex<Connection>,
}

const LEDGER: &str = "
    CREATE TABLE IF NOT EXISTS holds    (key TEXT PRIMARY KEY, order_id INTEGER NOT NULL, sku TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS payments (key TEXT PRIMARY KEY, order_id INTEGER NOT NULL, cents INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS releases (key TEXT PRIMARY KEY, order_id INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS calls    (node TEXT NOT NULL, key TEXT NOT NULL);
";

impl Ledger {
    /// Opens (or creates) the ledger at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(LEDGER)?;
        Ok(Ledger {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a call of `node` with `key`, and applies `apply` once per key, in one
    /// transaction: what an idempotent provider does with a re-sent request.
    fn call(
        &self,
        node: &str,
        key: &str,
        apply: &str,
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<(), NodeError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(ledger_error)?;
        tx.execute(
            "INSERT INTO calls (node, key) VALUES (?1, ?2)",
            params![node, key],
        )
        .map_err(ledger_error)?;
        tx.execute(apply, values).map_err(ledger_error)?;
        tx.commit().map_err(ledger_error)
    }

    fn count(&self, sql: &str) -> rusqlite::Result<i64> {
        self.conn().query_row(sql, [], |row| row.get(0))
    }
}

fn ledger_error(e: rusqlite::Error) -> NodeError {
    NodeError::transient(format!("ledger: {e}"))
}

// ---- the nodes ----

/// The time an effect takes, so that there is something to interrupt.
pub struct Delay(Duration);

#[node(compute)]
fn validate(order: &Order) -> Result<Order, NodeError> {
    if order.quantity == 0 {
        return Err(NodeError::permanent(format!(
            "order {}: no quantity",
            order.id
        )));
    }
    Ok(order.clone())
}

/// EFFECT: holds the stock, once per key; `release` undoes it when a later step fails.
#[node(effect, idempotent, compensate = release)]
async fn reserve(ctx: &Context, order: &Order) -> Result<Hold, NodeError> {
    tokio::time::sleep(ctx.resource::<Delay>()?.0).await;
    let key = ctx.idempotency_key();
    ctx.resource::<Ledger>()?.call(
        "reserve",
        &key,
        "INSERT OR IGNORE INTO holds (key, order_id, sku) VALUES (?1, ?2, ?3)",
        params![key, order.id, order.sku],
    )?;
    println!("order-{}: stock held", order.id);
    Ok(Hold {
        order: order.id,
        key,
    })
}

/// COMPENSATION of `reserve`: gives the stock back, once per hold.
fn release(ctx: &Context, hold: &Hold) -> Result<(), NodeError> {
    ctx.resource::<Ledger>()?.call(
        "release",
        &hold.key,
        "INSERT OR IGNORE INTO releases (key, order_id) VALUES (?1, ?2)",
        params![hold.key, hold.order],
    )
}

/// EFFECT: takes the payment, once per key; a declined card fails the order.
#[node(effect, idempotent)]
async fn charge(ctx: &Context, order: &Order, hold: &Hold) -> Result<Payment, NodeError> {
    tokio::time::sleep(ctx.resource::<Delay>()?.0).await;
    if order.card == "declined" {
        return Err(NodeError::permanent(format!(
            "order {}: card declined",
            hold.order
        )));
    }
    let key = ctx.idempotency_key();
    let cents = u64::from(order.quantity) * 1250;
    ctx.resource::<Ledger>()?.call(
        "charge",
        &key,
        "INSERT OR IGNORE INTO payments (key, order_id, cents) VALUES (?1, ?2, ?3)",
        params![key, order.id, cents],
    )?;
    Ok(Payment {
        order: order.id,
        cents,
        key,
    })
}

#[node(compute)]
fn receipt(payment: &Payment) -> String {
    format!(
        "order {} paid {:.2}",
        payment.order,
        payment.cents as f64 / 100.0
    )
}

workflow! {
    /// An order: validated, its stock held, paid, a receipt written.
    #[durable]
    pub workflow PlaceOrder(order: Order) -> String {
        valid = validate(order);
        hold = reserve(valid);
        paid = charge(valid, hold);
        done = receipt(paid);
        return done;
    }
}

// ---- the program ----

/// The command line.
struct Args {
    resume: bool,
    fresh: bool,
    orders: u32,
    delay: Duration,
    journal: PathBuf,
    ledger: PathBuf,
}

impl Args {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args {
            resume: false,
            fresh: false,
            orders: 12,
            delay: Duration::from_millis(250),
            journal: "durable-orders.db".into(),
            ledger: "durable-orders-ledger.db".into(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--resume" => parsed.resume = true,
                "--fresh" => parsed.fresh = true,
                "--orders" => {
                    parsed.orders = value()?.parse().map_err(|e| format!("--orders: {e}"))?
                }
                "--delay-ms" => {
                    let ms = value()?.parse().map_err(|e| format!("--delay-ms: {e}"))?;
                    parsed.delay = Duration::from_millis(ms);
                }
                "--journal" => parsed.journal = value()?.into(),
                "--ledger" => parsed.ledger = value()?.into(),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(parsed)
    }
}

/// How long a run's lease lasts: a killed process's runs can be resumed this long after
/// it died (30 s by default; short here so that `--resume` need not wait).
const LEASE: Duration = Duration::from_secs(2);

/// Runs the example with `args` (without the program name).
pub async fn run(args: impl IntoIterator<Item = String>) -> Result<ExitCode, Box<dyn Error>> {
    let args = Args::parse(args)?;
    if args.fresh {
        for path in [&args.journal, &args.ledger] {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
    }
    let journal = Arc::new(SqliteJournal::open(&args.journal)?);
    let ledger = Ledger::open(&args.ledger)?;
    let rt = Runtime::builder()
        .shared_journal(journal.clone())
        .lease_ttl(LEASE)
        .resource(ledger)
        .resource(Delay(args.delay))
        .max_concurrent_workflows(4)
        .build();
    // A declined card fails its order: the hold is released (a saga).
    let options = RunOptions::new().failure_strategy(FailureStrategy::Compensate);

    if args.resume {
        resume(&rt, options).await?;
        not_started(journal.as_ref(), args.orders).await?;
    } else {
        println!(
            "placing {} orders (journal {}, ledger {}); interrupt at will, then run with --resume",
            args.orders,
            args.journal.display(),
            args.ledger.display()
        );
        let placing = (1..=args.orders).map(|id| {
            let order = Order {
                id,
                sku: format!("sku-{}", id % 3),
                quantity: id % 4 + 1,
                card: if id % 5 == 0 { "declined" } else { "visa" }.into(),
            };
            let options = options.clone().run_id(format!("order-{id}"));
            let rt = &rt;
            async move {
                let result = PlaceOrder::run(rt, order, options).await;
                print_result(&format!("order-{id}"), result.map(|run| run.output));
            }
        });
        join_all(placing).await;
    }
    check(journal.as_ref(), &Ledger::open(&args.ledger)?).await
}

/// Finishes every unfinished run in the journal, waiting for a dead process's leases.
async fn resume(rt: &Runtime, options: RunOptions) -> Result<(), Box<dyn Error>> {
    loop {
        let recovered = rt.recover_with(options.clone()).await?;
        if recovered.results.is_empty() {
            println!("nothing to resume: every run in the journal is finished");
        }
        let mut leased = 0;
        for (id, result) in recovered.results {
            match result {
                Err(WorkflowError::Durable(e))
                    if matches!(e.journal_error(), Some(JournalError::RunLeased { .. })) =>
                {
                    leased += 1
                }
                result => print_result(&format!("resumed {id}"), result.map(|()| "completed")),
            }
        }
        for id in recovered.unknown {
            println!("{id}: a run of a workflow this program does not have; left alone");
        }
        if leased == 0 {
            return Ok(());
        }
        println!(
            "{leased} runs are still leased by the process that died; waiting {LEASE:?} for the leases to expire"
        );
        tokio::time::sleep(LEASE).await;
    }
}

/// Says which of the orders never reached the journal: the process died before they
/// started (at most four run at once), so there is nothing to resume.
async fn not_started(journal: &dyn Journal, orders: u32) -> Result<(), Box<dyn Error>> {
    let mut missing = Vec::new();
    for id in 1..=orders {
        if journal.load_run(&format!("order-{id}")).await?.is_none() {
            missing.push(id.to_string());
        }
    }
    if !missing.is_empty() {
        println!(
            "orders {} never started; run again without --resume to place them \
             (the others are not placed twice: their run ids attach to their journaled runs)",
            missing.join(", ")
        );
    }
    Ok(())
}

fn print_result<T: std::fmt::Display>(what: &str, result: Result<T, WorkflowError>) {
    match result {
        Ok(output) => println!("{what}: {output}"),
        Err(e) => println!(
            "{what}: failed: {}",
            e.to_string().lines().next().unwrap_or("")
        ),
    }
}

/// Prints what the journal and the ledger say, and whether any effect applied twice.
async fn check(journal: &dyn Journal, ledger: &Ledger) -> Result<ExitCode, Box<dyn Error>> {
    let runs = journal.list_runs(&RunFilter::all()).await?;
    let count = |status: RunStatus| runs.iter().filter(|r| r.status == status).count();
    let (completed, failed) = (count(RunStatus::Completed), count(RunStatus::Failed));
    let unfinished = runs.len() - completed - failed;
    println!(
        "journal: {} runs: {completed} completed, {failed} failed, {unfinished} unfinished",
        runs.len()
    );
    let holds = ledger.count("SELECT COUNT(*) FROM holds")?;
    let payments = ledger.count("SELECT COUNT(*) FROM payments")?;
    let releases = ledger.count("SELECT COUNT(*) FROM releases")?;
    let resent = ledger.count(
        "SELECT COUNT(*) FROM (SELECT key FROM calls WHERE node != 'release' GROUP BY key HAVING COUNT(*) > 1)",
    )?;
    println!("ledger: {holds} holds, {payments} payments, {releases} releases");
    if resent > 0 {
        println!(
            "{resent} calls were in flight when the process died and were sent again with the same key: applied once"
        );
    }
    // Twice would be a second row for one order: a key that changed between attempts.
    let twice = ledger.count(
        "SELECT (SELECT COUNT(*) FROM (SELECT order_id FROM holds GROUP BY order_id HAVING COUNT(*) > 1))
              + (SELECT COUNT(*) FROM (SELECT order_id FROM payments GROUP BY order_id HAVING COUNT(*) > 1))
              + (SELECT COUNT(*) FROM (SELECT order_id FROM releases GROUP BY order_id HAVING COUNT(*) > 1))",
    )?;
    // A paid order keeps its hold; a declined one has it released.
    let wrong = ledger.count(
        "SELECT COUNT(*) FROM holds h
          WHERE EXISTS (SELECT 1 FROM payments p WHERE p.order_id = h.order_id)
              = EXISTS (SELECT 1 FROM releases r WHERE r.order_id = h.order_id)",
    )?;
    if twice == 0 && (unfinished > 0 || wrong == 0) {
        println!(
            "no effect ran twice: one hold per order, one payment per paid order, one release per declined order"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "WRONG: {twice} orders with an effect applied twice, {wrong} holds neither paid nor released"
        );
        Ok(ExitCode::FAILURE)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1)).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("durable_orders: {e}");
            ExitCode::from(2)
        }
    }
}
