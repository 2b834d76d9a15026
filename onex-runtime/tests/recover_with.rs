//! `Runtime::recover_with`: a saga's run that crashed after its failure was journaled and
//! before its compensation is compensated when recovered with `FailureStrategy::Compensate`
//! — once — and is not by `recover()`, which resumes with the default strategy.

use std::sync::Arc;
use std::sync::Mutex;

use onex::durable::{FaultyJournal, WriteStage};
use onex::journal::{Journal, JournalError, MemoryJournal, RunStatus};
use onex::prelude::*;

/// The refunds made, by idempotency key.
static REFUNDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn refunds(run: &str) -> Vec<String> {
    let refunds = REFUNDS.lock().unwrap();
    refunds
        .iter()
        .filter(|k| k.starts_with(&format!("{run}/")))
        .cloned()
        .collect()
}

#[node(effect, idempotent, compensate = refund)]
async fn charge(n: &i64) -> Result<i64, NodeError> {
    Ok(n * 100)
}

fn refund(ctx: &Context, _cents: &i64) -> Result<(), NodeError> {
    REFUNDS.lock().unwrap().push(ctx.idempotency_key());
    Ok(())
}

#[node(effect, idempotent)]
async fn ship(cents: &i64) -> Result<String, NodeError> {
    Err(NodeError::permanent(format!("cannot ship {cents}")))
}

workflow! {
    /// A charge, compensated by a refund, then a shipment that always fails.
    #[durable]
    pub workflow Saga(n: i64) -> String {
        charged = charge(n);
        shipped = ship(charged);
        return shipped;
    }
}

/// Runs `run` on a journal whose 4th write — the compensation's first, after the intents of
/// `charge` and `ship` and `ship`'s failure — fails, as if the process died there.
async fn crashed_before_compensating(journal: &MemoryJournal, run: &str) {
    let faulty = FaultyJournal::new(Arc::new(journal.clone()), |n, stage| {
        (n == 4 && stage == WriteStage::Before).then(|| JournalError::Storage {
            store: "test".into(),
            detail: "the process died here".into(),
        })
    });
    let rt = Runtime::builder()
        .journal(faulty)
        .holder_id("crashed")
        .build();
    let options = RunOptions::new()
        .failure_strategy(FailureStrategy::Compensate)
        .run_id(run);
    Saga::run(&rt, 2, options).await.unwrap_err();
    assert!(refunds(run).is_empty(), "the crash came before the refund");
    let snapshot = journal.load_run(run).await.unwrap().unwrap();
    assert_eq!(snapshot.record.status, RunStatus::Running);
}

fn recovering(journal: &MemoryJournal) -> Runtime {
    Runtime::builder()
        .journal(journal.clone())
        .holder_id("recovering")
        .build()
}

#[tokio::test]
async fn recover_with_compensate_finishes_a_crashed_saga_s_compensation_once() {
    let journal = MemoryJournal::new();
    crashed_before_compensating(&journal, "saga-with").await;

    let options = RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    let recovered = recovering(&journal).recover_with(options).await.unwrap();
    assert_eq!(recovered.results.len(), 1, "{recovered:?}");
    let (id, result) = &recovered.results[0];
    assert_eq!(id, "saga-with");
    assert!(result.is_err(), "the run still fails: {result:?}");
    assert_eq!(refunds("saga-with").len(), 1, "refunded once");
    let snapshot = journal.load_run("saga-with").await.unwrap().unwrap();
    assert_eq!(snapshot.record.status, RunStatus::Failed);
}

#[tokio::test]
async fn recover_resumes_with_the_default_strategy_so_it_does_not_compensate() {
    let journal = MemoryJournal::new();
    crashed_before_compensating(&journal, "saga-without").await;

    let recovered = recovering(&journal).recover().await.unwrap();
    assert_eq!(recovered.results.len(), 1, "{recovered:?}");
    assert!(refunds("saga-without").is_empty());
}
