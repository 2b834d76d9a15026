//! soak: many durable runs through one `Runtime` on one `SqliteJournal` file with
//! retention on, sampling the process's resident memory and the journal's size on disk,
//! to show that neither grows with the number of runs.
//!
//! ```text
//! cargo bench -p onex-benches --bench soak -- --soak [--runs 100000] [--every 1000] \
//!     [--keep 1000] [--csv docs/soak.csv]
//! python3 scripts/plot_soak.py docs/soak.csv docs/soak-rss.png
//! ```
//!
//! Without `--soak` (as in a plain `cargo bench`) it only says how to run it. The
//! workflow is the order shape of `examples/durable_orders.rs` without its sleeps: five
//! steps, each output a small struct, 64 runs at a time, the journal at its recommended
//! `synchronous = NORMAL` and `Retention::keep_last(--keep)`. Every `--every` runs one CSV
//! row: `runs,seconds,rss_kib,anon_kib,file_kib,db_bytes,wal_bytes,journaled_runs`
//! (resident memory: all of it, the heap, mapped files; the database file and its
//! write-ahead log in bytes; the runs in the journal).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::StreamExt;
use onex::journal::{Journal, Retention, RunFilter};
use onex::prelude::*;
use onex::sqlite::SqliteJournal;
use serde::{Deserialize, Serialize};

/// An order line, as the example's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    id: u64,
    sku: String,
    quantity: u32,
}

/// A priced order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Priced {
    order: Order,
    cents: u64,
}

#[node(compute)]
fn validate(order: &Order) -> Result<Order, NodeError> {
    if order.quantity == 0 {
        return Err(NodeError::permanent("an order of nothing"));
    }
    Ok(order.clone())
}

#[node(compute)]
fn price(order: &Order) -> Priced {
    Priced {
        order: order.clone(),
        cents: u64::from(order.quantity) * 1250,
    }
}

#[node(effect, idempotent)]
async fn reserve(ctx: &Context, priced: &Priced) -> Result<String, NodeError> {
    Ok(format!(
        "hold/{}/{}",
        priced.order.sku,
        ctx.idempotency_key()
    ))
}

#[node(effect, idempotent)]
async fn charge(ctx: &Context, priced: &Priced) -> Result<String, NodeError> {
    Ok(format!("pay/{}/{}", priced.cents, ctx.idempotency_key()))
}

#[node(compute)]
fn confirm(hold: &String, payment: &String) -> String {
    format!("{hold} {payment}")
}

workflow! {
    /// An order validated, priced, its stock held, paid, confirmed.
    #[durable]
    pub workflow SoakOrder(order: Order) -> String {
        valid = validate(order);
        priced = price(valid);
        hold = reserve(priced);
        payment = charge(priced);
        done = confirm(hold, payment);
        return done;
    }
}

/// This process's resident memory in KiB: `VmRSS`, `RssAnon` (the heap) and `RssFile`
/// (mapped files: the binary, and SQLite's WAL index, which grows with the log) of
/// /proc/self/status.
fn rss_kib() -> [u64; 3] {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    ["VmRSS:", "RssAnon:", "RssFile:"].map(|field| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    })
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--soak") {
        println!("soak: skipped; run with `cargo bench -p onex-benches --bench soak -- --soak`");
        return;
    }
    let number = |name: &str, default: u64| {
        arg(&args, name).map_or(default, |v| v.parse().expect("a number"))
    };
    let runs = number("--runs", 100_000);
    let every = number("--every", 1_000).max(1);
    let keep = number("--keep", 1_000);
    let csv_path = PathBuf::from(arg(&args, "--csv").unwrap_or_else(|| "soak.csv".into()));

    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("soak.db");
    let wal = dir.path().join("soak.db-wal");
    let journal = std::sync::Arc::new(SqliteJournal::open(&db).expect("the journal opens"));
    let rt = Runtime::builder()
        .shared_journal(journal.clone())
        .retention(Retention::default().keep_last(keep as usize))
        .build();
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    let mut csv = std::fs::File::create(&csv_path).expect("the CSV file");
    writeln!(
        csv,
        "runs,seconds,rss_kib,anon_kib,file_kib,db_bytes,wal_bytes,journaled_runs"
    )
    .expect("CSV");
    let start = Instant::now();
    tokio.block_on(async {
        let mut done = 0u64;
        let mut sample = |done: u64, journaled: usize| {
            let [rss, anon, file] = rss_kib();
            let row = format!(
                "{done},{:.3},{rss},{anon},{file},{},{},{journaled}",
                start.elapsed().as_secs_f64(),
                size(&db),
                size(&wal)
            );
            println!("{row}");
            writeln!(csv, "{row}").expect("CSV");
        };
        sample(0, 0);
        let mut finished = futures_util::stream::iter(0..runs)
            .map(|i| {
                let rt = &rt;
                async move {
                    let order = Order {
                        id: i,
                        sku: format!("sku-{}", i % 97),
                        quantity: (i % 5 + 1) as u32,
                    };
                    SoakOrder::run(rt, order, RunOptions::new())
                        .await
                        .expect("an order runs")
                }
            })
            .buffer_unordered(64);
        while finished.next().await.is_some() {
            done += 1;
            if done.is_multiple_of(every) {
                let journaled = journal
                    .list_runs(&RunFilter::all())
                    .await
                    .map_or(0, |r| r.len());
                sample(done, journaled);
            }
        }
    });
    eprintln!(
        "soak: {runs} runs in {:.1} s; CSV at {}",
        start.elapsed().as_secs_f64(),
        csv_path.display()
    );
}
