//! A process for onex-sqlite's crash tests: runs a durable workflow on a `SqliteJournal`
//! file and aborts itself at a chosen boundary. Not for users.
//!
//! `onex-sqlite-test-crash action=run|resume|resolve db=PATH ledger=PATH run=ID
//! [mode=seq|par|batch] [inputs=3,4] [abort=before:K|after:K|charge|refund]
//! [strategy=compensate] [delay_ms=N] [ttl_ms=N] [step=ship how=retry|done:JSON|abort:REASON]`
//!
//! The workflow: `parse` (compute) → `charge` (effect, idempotent, compensated by
//! `refund`) → `ship` (effect, at most once; fails for a negative amount). Every node call
//! appends `(node, idempotency key)` to the ledger's `calls` table; `charge` and `refund`
//! also insert their key into `charges` / `refunds` if it is not there (what an idempotent
//! provider does). `abort=before:K` aborts just before the K-th journal write commits,
//! `after:K` just after; `charge` / `refund` abort inside the node, after its side effect.
//! With several `inputs` the runs are one `run_batch`, ids `ID-0`, `ID-1`, ...
//!
//! Prints one line per run: `OK <output JSON>` or `ERR <message>`, then `WRITES <n>`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use onex_runtime::durable::{FaultyJournal, WriteStage};
use onex_runtime::journal::{JournalError, Resolution};
use onex_runtime::{
    Context, Delivery, ExecutionMode, FailureStrategy, NodeError, RunOptions, Runtime,
    WorkflowError,
};
use onex_spec::NodeRegistry;
use onex_sqlite::SqliteJournal;
use serde_json::Value;

const WORKFLOW: &str = "
workflow_id: crash_orders
steps:
  - step_id: main
    thunks:
      - { thunk_id: parse, target_node_type: Parse, dependencies: [$input] }
      - { thunk_id: charge, target_node_type: Charge, dependencies: [parse] }
      - { thunk_id: ship, target_node_type: Ship, dependencies: [charge] }
output: ship
";

/// Where the process aborts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Abort {
    Never,
    BeforeWrite(usize),
    AfterWrite(usize),
    InCharge,
    InRefund,
}

/// The external system the effects write: a separate SQLite file.
#[derive(Clone)]
struct Ledger(PathBuf);

impl Ledger {
    fn open(&self) -> Result<rusqlite::Connection, NodeError> {
        let conn = rusqlite::Connection::open(&self.0).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS calls (node TEXT NOT NULL, key TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS charges (key TEXT PRIMARY KEY, cents INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS refunds (key TEXT PRIMARY KEY, cents INTEGER NOT NULL);",
        )
        .map_err(fail)?;
        Ok(conn)
    }

    /// Notes a call of `node`, and for `table` inserts the key once.
    fn record(
        &self,
        node: &str,
        key: &str,
        table: Option<&str>,
        cents: i64,
    ) -> Result<(), NodeError> {
        let conn = self.open()?;
        conn.execute("INSERT INTO calls VALUES (?1, ?2)", (node, key))
            .map_err(fail)?;
        if let Some(table) = table {
            conn.execute(
                &format!("INSERT OR IGNORE INTO {table} VALUES (?1, ?2)"),
                (key, cents),
            )
            .map_err(fail)?;
        }
        Ok(())
    }
}

fn fail(e: impl std::fmt::Display) -> NodeError {
    NodeError::transient(format!("ledger: {e}"))
}

fn registry(ledger: &Ledger, abort: Abort, delay: Duration) -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    let l = ledger.clone();
    registry.compute("Parse", move |n: &i64| {
        std::thread::sleep(delay);
        l.record("Parse", "-", None, 0)?;
        Ok::<_, NodeError>(*n)
    });
    let (l, undo) = (ledger.clone(), ledger.clone());
    registry.effect_compensated(
        "Charge",
        move |ctx: Context, n: i64| {
            let l = l.clone();
            async move {
                tokio::time::sleep(delay).await;
                l.record("Charge", &ctx.idempotency_key(), Some("charges"), n * 100)?;
                if abort == Abort::InCharge {
                    std::process::abort();
                }
                Ok::<_, NodeError>(n * 100)
            }
        },
        move |ctx: Context, cents: i64| {
            let l = undo.clone();
            async move {
                l.record("Refund", &ctx.idempotency_key(), Some("refunds"), cents)?;
                if abort == Abort::InRefund {
                    std::process::abort();
                }
                Ok(())
            }
        },
    );
    let l = ledger.clone();
    registry.effect("Ship", move |ctx: Context, cents: i64| {
        let l = l.clone();
        async move {
            tokio::time::sleep(delay).await;
            l.record("Ship", &ctx.idempotency_key(), None, 0)?;
            if cents < 0 {
                return Err(NodeError::permanent("cannot ship a negative amount"));
            }
            Ok::<_, NodeError>(format!("shipped {cents}"))
        }
    });
    registry
        .delivery("Charge", Delivery::Idempotent)
        .delivery("Ship", Delivery::AtMostOnce);
    registry
}

fn parse_abort(s: &str) -> Abort {
    match s.split_once(':') {
        Some(("before", k)) => Abort::BeforeWrite(k.parse().expect("abort=before:K")),
        Some(("after", k)) => Abort::AfterWrite(k.parse().expect("abort=after:K")),
        _ if s == "charge" => Abort::InCharge,
        _ if s == "refund" => Abort::InRefund,
        _ => Abort::Never,
    }
}

fn print(result: &Result<onex_runtime::WorkflowRun<Value>, WorkflowError>) {
    match result {
        Ok(run) => println!("OK {}", run.output),
        Err(e) => println!("ERR {}", e.to_string().replace('\n', " | ")),
    }
}

fn leased(result: &Result<onex_runtime::WorkflowRun<Value>, WorkflowError>) -> bool {
    matches!(result, Err(WorkflowError::Durable(e))
        if matches!(e.journal_error(), Some(JournalError::RunLeased { .. })))
}

#[tokio::main]
async fn main() {
    let args: HashMap<String, String> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let arg = |k: &str| args.get(k).map(String::as_str).unwrap_or("");
    let abort = parse_abort(arg("abort"));
    let delay = Duration::from_millis(arg("delay_ms").parse().unwrap_or(0));
    let ttl = Duration::from_millis(arg("ttl_ms").parse().unwrap_or(500));
    let ledger = Ledger(PathBuf::from(arg("ledger")));
    let sqlite = SqliteJournal::open(arg("db")).expect("the journal opens");
    let journal = Arc::new(FaultyJournal::new(
        Arc::new(sqlite),
        move |n, stage| match (abort, stage) {
            (Abort::BeforeWrite(k), WriteStage::Before)
            | (Abort::AfterWrite(k), WriteStage::After)
                if k == n =>
            {
                std::process::abort()
            }
            _ => None,
        },
    ));
    let rt = Runtime::builder()
        .shared_journal(journal.clone())
        .lease_ttl(ttl)
        .build();
    let wf = registry(&ledger, abort, delay)
        .load_yaml(WORKFLOW)
        .expect("the workflow loads");
    let mut opts = RunOptions::new().mode(match arg("mode") {
        "par" => ExecutionMode::Parallel { max_parallel: 4 },
        "batch" => ExecutionMode::Batch,
        _ => ExecutionMode::Sequential,
    });
    if arg("strategy") == "compensate" {
        opts = opts.failure_strategy(FailureStrategy::Compensate);
    }
    let run_id = arg("run").to_owned();
    let inputs: Vec<Value> = arg("inputs")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Value::from(s.parse::<i64>().expect("inputs=N,M")))
        .collect();
    match arg("action") {
        "resolve" => {
            let how = match arg("how").split_once(':') {
                Some(("done", json)) => Resolution::Done(json.as_bytes().to_vec()),
                Some(("abort", reason)) => Resolution::Abort(reason.to_owned()),
                _ => Resolution::Retry,
            };
            match rt.resolve(&run_id, arg("step"), how).await {
                Ok(()) => println!("OK resolved"),
                Err(e) => println!("ERR {e}"),
            }
        }
        action => {
            // A crashed holder's lease expires after `ttl`: wait for it, as a restarted
            // service would.
            for attempt in 0.. {
                let results = if inputs.len() > 1 {
                    wf.run_batch(&rt, inputs.clone(), opts.clone().run_id(&run_id))
                        .await
                } else if action == "resume" {
                    vec![wf.resume(&rt, &run_id, opts.clone()).await]
                } else {
                    let input = inputs.first().cloned().unwrap_or(Value::Null);
                    vec![wf.run_on(&rt, input, opts.clone().run_id(&run_id)).await]
                };
                if attempt < 100 && results.iter().any(leased) && arg("wait_lease") != "no" {
                    tokio::time::sleep(ttl / 4).await;
                    continue;
                }
                results.iter().for_each(print);
                break;
            }
        }
    }
    println!("WRITES {}", journal.writes());
}
