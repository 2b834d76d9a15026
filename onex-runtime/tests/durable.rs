//! Durable runs on a `MemoryJournal`: what a resume calls again and what it does not, calls
//! in doubt, leases, a changed graph, retention and the journal's own faults. A crash is a
//! journal write that fails (`Faulty`): the run stops at that boundary, and what it
//! journaled before is all a resume has, as after a real crash (the crash tests with real
//! processes are in `onex-sqlite/tests/crash.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onex::Delivery;
use onex::durable::{FaultyJournal, WriteStage};
use onex::dynamic::{DynamicWorkflow as Workflow, NodeRegistry};
use onex::journal::{
    Journal, JournalError, Lease, ManualClock, MemoryJournal, NewRun, Resolution, Retention,
    RunFilter, RunStatus, StepKey,
};
use onex::prelude::*;
use serde_json::{Value, json};

/// A journal whose `n`-th write (from 1) fails with `error` (a storage error unless
/// given), as if the process died just before that commit; every other operation goes to
/// `inner`.
fn faulty(inner: &MemoryJournal, n: usize) -> FaultyJournal {
    failing(
        inner,
        n,
        JournalError::Storage {
            store: "test".into(),
            detail: "the process died here".into(),
        },
    )
}

fn failing(inner: &MemoryJournal, n: usize, error: JournalError) -> FaultyJournal {
    FaultyJournal::new(Arc::new(inner.clone()), move |write, stage| {
        (write == n && stage == WriteStage::Before).then(|| error.clone())
    })
}

/// What the nodes did: calls per node type, and the external ledger the charge writes
/// with its idempotency key (a second write with the same key changes nothing).
#[derive(Default)]
struct World {
    calls: Mutex<BTreeMap<&'static str, usize>>,
    keys: Mutex<Vec<String>>,
    ledger: Mutex<BTreeMap<String, i64>>,
    refunds: Mutex<Vec<String>>,
}

impl World {
    fn count(&self, node: &'static str) {
        *self.calls.lock().unwrap().entry(node).or_default() += 1;
    }
    fn calls(&self, node: &str) -> usize {
        self.calls.lock().unwrap().get(node).copied().unwrap_or(0)
    }
}

/// `parse` (compute) → `charge` (effect, writes the ledger) → `ship` (effect, fails when
/// the order is negative); `charge` is compensated by a refund.
fn registry(world: &Arc<World>, charge: Delivery) -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    let w = Arc::clone(world);
    registry.compute_infallible("Parse", move |n: &i64| {
        w.count("Parse");
        *n
    });
    let (w, undo) = (Arc::clone(world), Arc::clone(world));
    registry.effect_compensated(
        "Charge",
        move |ctx: Context, n: i64| {
            let w = Arc::clone(&w);
            async move {
                w.count("Charge");
                let key = ctx.idempotency_key();
                w.keys.lock().unwrap().push(key.clone());
                w.ledger.lock().unwrap().entry(key).or_insert(n.abs() * 100);
                Ok::<_, NodeError>(n.abs() * 100)
            }
        },
        move |ctx: Context, cents: i64| {
            let w = Arc::clone(&undo);
            async move {
                w.refunds
                    .lock()
                    .unwrap()
                    .push(format!("{} {cents}", ctx.idempotency_key()));
                Ok(())
            }
        },
    );
    let w = Arc::clone(world);
    registry.effect("Ship", move |_ctx: Context, cents: i64| {
        let w = Arc::clone(&w);
        async move {
            w.count("Ship");
            if cents == 0 {
                return Err(NodeError::permanent("nothing to ship"));
            }
            Ok::<_, NodeError>(format!("shipped {cents}"))
        }
    });
    registry.delivery("Charge", charge);
    registry.delivery("Ship", Delivery::Idempotent);
    registry
}

const ORDERS: &str = "
workflow_id: orders
steps:
  - step_id: main
    thunks:
      - { thunk_id: parse, target_node_type: Parse, dependencies: [$input] }
      - { thunk_id: charge, target_node_type: Charge, dependencies: [parse] }
      - { thunk_id: ship, target_node_type: Ship, dependencies: [charge] }
output: ship
";

fn orders(world: &Arc<World>, charge: Delivery) -> Workflow {
    registry(world, charge).load_yaml(ORDERS).unwrap()
}

fn runtime(journal: impl Journal + 'static, holder: &str) -> Runtime {
    Runtime::builder()
        .journal(journal)
        .holder_id(holder)
        .build()
}

const MODES: [ExecutionMode; 3] = [
    ExecutionMode::Sequential,
    ExecutionMode::Parallel { max_parallel: 2 },
    ExecutionMode::Batch,
];

async fn status(journal: &MemoryJournal, run_id: &str) -> RunStatus {
    journal
        .load_run(run_id)
        .await
        .unwrap()
        .unwrap()
        .record
        .status
}

// The writes of an uncrashed `orders` run, in every mode (one boundary per step, the chain
// has one step per wave): 1 intent(parse); 2 outcome(parse) + intent(charge);
// 3 outcome(charge) + intent(ship); 4 outcome(ship); 5 status COMPLETED.

#[tokio::test]
async fn a_run_is_journaled_and_starting_its_id_again_returns_the_output_without_calls() {
    for mode in MODES {
        let world = Arc::new(World::default());
        let wf = orders(&world, Delivery::Idempotent);
        let journal = MemoryJournal::new();
        let rt = runtime(journal.clone(), "a");
        let opts = RunOptions::new().mode(mode).run_id("order-1");
        let run = wf.run_on(&rt, json!(7), opts.clone()).await.unwrap();
        assert_eq!(run.output, json!("shipped 700"));
        let snapshot = journal.load_run("order-1").await.unwrap().unwrap();
        assert_eq!(snapshot.record.status, RunStatus::Completed);
        assert_eq!(snapshot.input, b"7");
        assert_eq!(
            snapshot.output(&StepKey::new(1, "charge")),
            Some(&b"700"[..])
        );
        assert!(snapshot.record.lease.holder.is_none(), "released");

        // Attaching to the finished run: its output, and no node called.
        let again = wf.run_on(&rt, json!(7), opts).await.unwrap();
        assert_eq!(again.output, json!("shipped 700"), "{mode:?}");
        assert_eq!(
            [
                world.calls("Parse"),
                world.calls("Charge"),
                world.calls("Ship")
            ],
            [1, 1, 1],
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_resume_does_not_call_the_steps_whose_outputs_are_journaled() {
    for mode in MODES {
        let world = Arc::new(World::default());
        let wf = orders(&world, Delivery::AtMostOnce);
        let journal = MemoryJournal::new();
        // Crash before the outcome of `ship` is journaled (write 4): ship is idempotent.
        let crashed = runtime(faulty(&journal, 4), "a");
        let opts = RunOptions::new().mode(mode).run_id("order-2");
        let err = wf
            .run_on(&crashed, json!(3), opts.clone())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot be journaled"),
            "{mode:?}: {err}"
        );
        assert_eq!(status(&journal, "order-2").await, RunStatus::Running);

        let rt = runtime(journal.clone(), "b");
        let run = wf
            .resume(&rt, "order-2", RunOptions::new().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.output, json!("shipped 300"));
        assert_eq!(world.calls("Parse"), 1, "{mode:?}: parse is journaled");
        assert_eq!(world.calls("Charge"), 1, "{mode:?}: charge is journaled");
        assert_eq!(
            world.calls("Ship"),
            2,
            "{mode:?}: ship was in doubt, and idempotent"
        );
        assert_eq!(status(&journal, "order-2").await, RunStatus::Completed);
    }
}

#[tokio::test]
async fn an_idempotent_effect_in_doubt_runs_again_with_the_same_key() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::Idempotent);
    let journal = MemoryJournal::new();
    // Write 3 carries charge's outcome: charge ran, the journal does not know.
    let crashed = runtime(faulty(&journal, 3), "a");
    let opts = RunOptions::new().run_id("order-3");
    wf.run_on(&crashed, json!(5), opts).await.unwrap_err();
    let rt = runtime(journal.clone(), "b");
    let run = wf.resume(&rt, "order-3", RunOptions::new()).await.unwrap();
    assert_eq!(run.output, json!("shipped 500"));
    assert_eq!(world.calls("Charge"), 2);
    assert_eq!(*world.keys.lock().unwrap(), ["order-3/1", "order-3/1"]);
    assert_eq!(world.ledger.lock().unwrap().len(), 1, "charged once");
    assert_eq!(world.calls("Parse"), 1);
}

#[tokio::test]
async fn an_effect_in_doubt_that_is_not_idempotent_stops_the_run_until_it_is_resolved() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::AtMostOnce);
    let journal = MemoryJournal::new();
    let crashed = runtime(faulty(&journal, 3), "a");
    wf.run_on(&crashed, json!(5), RunOptions::new().run_id("order-4"))
        .await
        .unwrap_err();

    let rt = runtime(journal.clone(), "b");
    let err = wf
        .resume(&rt, "order-4", RunOptions::new())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("is in doubt"), "{message}");
    assert!(message.contains("step 1 `charge`"), "{message}");
    assert_eq!(world.calls("Charge"), 1, "never a silent second charge");
    assert_eq!(world.calls("Ship"), 0);
    assert_eq!(status(&journal, "order-4").await, RunStatus::InDoubt);
    // Resuming again changes nothing until an operator decides.
    wf.resume(&rt, "order-4", RunOptions::new())
        .await
        .unwrap_err();
    assert_eq!(world.calls("Charge"), 1);

    // The provider's dashboard shows the charge went through: done, with its output.
    rt.resolve("order-4", "charge", Resolution::Done(b"500".to_vec()))
        .await
        .unwrap();
    let run = wf.resume(&rt, "order-4", RunOptions::new()).await.unwrap();
    assert_eq!(run.output, json!("shipped 500"));
    assert_eq!(world.calls("Charge"), 1);
    assert_eq!(world.calls("Ship"), 1);
    assert_eq!(status(&journal, "order-4").await, RunStatus::Completed);

    let err = rt
        .resolve("order-4", "charge", Resolution::Retry)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("finished"), "{err}");
}

#[tokio::test]
async fn a_retry_resolution_calls_the_effect_again_and_an_abort_fails_the_run() {
    for (resolution, charges, ok) in [
        (Resolution::Retry, 2, true),
        (Resolution::Abort("card expired".into()), 1, false),
    ] {
        let world = Arc::new(World::default());
        let wf = orders(&world, Delivery::AtMostOnce);
        let journal = MemoryJournal::new();
        let crashed = runtime(faulty(&journal, 3), "a");
        let opts = RunOptions::new().run_id("order-5");
        wf.run_on(&crashed, json!(5), opts).await.unwrap_err();
        let rt = runtime(journal.clone(), "b");
        rt.resolve("order-5", "charge", resolution).await.unwrap();
        let result = wf.resume(&rt, "order-5", RunOptions::new()).await;
        assert_eq!(result.is_ok(), ok, "{result:?}");
        assert_eq!(world.calls("Charge"), charges);
        if let Err(err) = result {
            assert!(err.to_string().contains("card expired"), "{err}");
            assert_eq!(status(&journal, "order-5").await, RunStatus::Failed);
        }
    }
}

#[tokio::test]
async fn a_failing_journal_stops_the_run_before_the_call_whose_intent_it_refused() {
    for error in [
        JournalError::Full {
            store: "runs.db".into(),
            detail: "disk full".into(),
        },
        JournalError::Busy {
            store: "runs.db".into(),
            waited: Duration::from_secs(5),
        },
        JournalError::Corrupt {
            store: "runs.db".into(),
            detail: "malformed".into(),
        },
        JournalError::Closed {
            store: "runs.db".into(),
        },
    ] {
        let world = Arc::new(World::default());
        let wf = orders(&world, Delivery::AtMostOnce);
        let journal = MemoryJournal::new();
        // Write 2 carries charge's intent.
        let rt = runtime(failing(&journal, 2, error.clone()), "a");
        let err = wf
            .run_on(&rt, json!(1), RunOptions::new().run_id("order-6"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&error.to_string()), "{err}");
        assert_eq!(err.failed_step(), Some("charge"));
        assert_eq!(world.calls("Charge"), 0, "nothing runs unjournaled");
        // Left for a resume once the store works again.
        assert_eq!(status(&journal, "order-6").await, RunStatus::Running);
        let again = wf
            .resume(&runtime(journal.clone(), "b"), "order-6", RunOptions::new())
            .await
            .unwrap();
        assert_eq!(again.output, json!("shipped 100"));
    }
}

#[tokio::test]
async fn a_run_leased_by_a_live_process_is_refused_with_run_leased() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::Idempotent);
    let journal = MemoryJournal::new();
    let crashed = runtime(faulty(&journal, 3), "a");
    wf.run_on(&crashed, json!(2), RunOptions::new().run_id("order-7"))
        .await
        .unwrap_err();
    // Another process holds the run.
    let lease = journal
        .acquire_lease("order-7", "b", Duration::from_secs(30))
        .await
        .unwrap();
    let rt = runtime(journal.clone(), "c");
    let err = wf
        .resume(&rt, "order-7", RunOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            WorkflowError::Durable(e) if matches!(e.journal_error(), Some(JournalError::RunLeased { holder, .. }) if holder == "b")
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("is leased by `b`"), "{err}");
    assert_eq!(world.calls("Charge"), 1, "nothing ran");
    journal.release_lease(&lease).await.unwrap();
    wf.resume(&rt, "order-7", RunOptions::new()).await.unwrap();
}

#[tokio::test]
async fn two_resumers_at_once_one_proceeds_the_other_gets_run_leased() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::Idempotent);
    let journal = MemoryJournal::new();
    wf.run_on(
        &runtime(faulty(&journal, 3), "a"),
        json!(2),
        RunOptions::new().run_id("order-8"),
    )
    .await
    .unwrap_err();
    let (b, c) = (runtime(journal.clone(), "b"), runtime(journal.clone(), "c"));
    let (rb, rc) = tokio::join!(
        wf.resume(&b, "order-8", RunOptions::new()),
        wf.resume(&c, "order-8", RunOptions::new())
    );
    let results = [rb, rc];
    let won = results.iter().filter(|r| r.is_ok()).count();
    let leased = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.to_string().contains("is leased by")))
        .count();
    // The loser may also find the run finished by the winner and return its output.
    assert!(won >= 1 && won + leased == 2, "{results:?}");
    assert_eq!(world.ledger.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_stale_holders_commit_is_refused_and_its_run_stops() {
    let clock = ManualClock::new();
    let journal = MemoryJournal::with_clock(clock.clone());
    let gate = Arc::new(tokio::sync::Notify::new());
    let mut registry = NodeRegistry::new();
    let g = Arc::clone(&gate);
    registry
        .compute_infallible("Parse", |n: &i64| *n)
        .effect("Slow", move |_ctx: Context, n: i64| {
            let g = Arc::clone(&g);
            async move {
                g.notified().await;
                Ok::<_, NodeError>(n)
            }
        })
        .delivery("Slow", Delivery::Idempotent);
    let wf = registry
        .load_yaml(
            "workflow_id: slow\nsteps: [{step_id: s, thunks: [\
             {thunk_id: parse, target_node_type: Parse, dependencies: [$input]},\
             {thunk_id: slow, target_node_type: Slow, dependencies: [parse]}]}]\noutput: slow",
        )
        .unwrap();
    let rt = Runtime::builder()
        .journal(journal.clone())
        .holder_id("a")
        .lease_ttl(Duration::from_secs(3600))
        .build();
    let run = wf.run_on(&rt, json!(1), RunOptions::new().run_id("slow-1"));
    let takeover = async {
        while journal.load_run("slow-1").await.unwrap().is_none_or(|r| {
            !r.step(&StepKey::new(1, "slow"))
                .is_some_and(|e| e.is_in_doubt())
        }) {
            tokio::task::yield_now().await;
        }
        // `a` stalls past its lease; `b` takes the run over.
        clock.advance(Duration::from_secs(7200));
        journal
            .acquire_lease("slow-1", "b", Duration::from_secs(3600))
            .await
            .unwrap();
        gate.notify_one();
    };
    let (result, ()) = tokio::join!(run, takeover);
    let err = result.unwrap_err();
    assert!(err.to_string().contains("lost its lease"), "{err}");
    assert!(err.to_string().contains("stale"), "{err}");
    let snapshot = journal.load_run("slow-1").await.unwrap().unwrap();
    assert!(
        snapshot.output(&StepKey::new(1, "slow")).is_none(),
        "a's outcome refused"
    );
    assert_eq!(snapshot.record.lease.holder.as_deref(), Some("b"));
}

#[tokio::test]
async fn a_changed_graph_is_refused_with_a_diff_unless_allowed() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::Idempotent);
    let journal = MemoryJournal::new();
    wf.run_on(
        &runtime(faulty(&journal, 4), "a"),
        json!(4),
        RunOptions::new().run_id("order-9"),
    )
    .await
    .unwrap_err();
    // The new version ships with another node.
    let mut registry = registry(&world, Delivery::Idempotent);
    registry
        .effect("Courier", |_ctx: Context, cents: i64| async move {
            Ok::<_, NodeError>(format!("couriered {cents}"))
        })
        .delivery("Courier", Delivery::Idempotent);
    let changed = registry
        .load_yaml(&ORDERS.replace("target_node_type: Ship", "target_node_type: Courier"))
        .unwrap();
    let rt = runtime(journal.clone(), "b");
    let err = changed
        .resume(&rt, "order-9", RunOptions::new())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("another graph"), "{message}");
    assert!(
        message.contains(
            "- 2 ship: Ship effect <- [charge] (i64) -> alloc::string::String async\n\
             + 2 ship: Courier effect <- [charge] (i64) -> alloc::string::String async"
        ),
        "{message}"
    );
    assert_eq!(world.calls("Ship"), 1);

    let run = changed
        .resume(&rt, "order-9", RunOptions::new().allow_changed_graph())
        .await;
    // `ship` changed: it runs again, as `Courier` (it was in doubt, and is idempotent).
    assert_eq!(run.unwrap().output, json!("couriered 400"));
    assert_eq!(
        [world.calls("Parse"), world.calls("Charge")],
        [1, 1],
        "unchanged steps keep their outputs"
    );
}

#[tokio::test]
async fn compensation_is_journaled_and_runs_once_across_a_crash() {
    let policy = RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    // Writes of a failing run (ship fails): 1 intent(parse); 2 +intent(charge);
    // 3 +intent(ship); 4 outcome(ship, failed); 5 COMPENSATING + compensation intent;
    // 6 compensation outcome; 7 status FAILED.
    for (crash_at, refunds_before_resume) in [(5, 0), (7, 1)] {
        let world = Arc::new(World::default());
        let wf = orders(&world, Delivery::Idempotent);
        let journal = MemoryJournal::new();
        let crashed = runtime(faulty(&journal, crash_at), "a");
        let err = wf
            .run_on(&crashed, json!(0), policy.clone().run_id("order-10"))
            .await
            .unwrap_err();
        assert_eq!(err.failed_step(), Some("ship"), "{err}");
        assert_eq!(world.refunds.lock().unwrap().len(), refunds_before_resume);
        let rt = runtime(journal.clone(), "b");
        let err = wf
            .resume(&rt, "order-10", policy.clone())
            .await
            .unwrap_err();
        assert_eq!(err.failed_step(), Some("ship"), "{err}");
        assert_eq!(
            *world.refunds.lock().unwrap(),
            ["order-10/1 0"],
            "crash at write {crash_at}: refunded exactly once"
        );
        assert_eq!(world.calls("Ship"), 1, "a journaled failure is not retried");
        assert_eq!(status(&journal, "order-10").await, RunStatus::Failed);
        let snapshot = journal.load_run("order-10").await.unwrap().unwrap();
        let charge = snapshot.step(&StepKey::new(1, "charge")).unwrap();
        assert!(charge.compensation_outcome.is_some());
    }
}

#[tokio::test]
async fn a_batch_journals_one_run_per_input() {
    for mode in MODES {
        let world = Arc::new(World::default());
        let wf = orders(&world, Delivery::Idempotent);
        let journal = MemoryJournal::new();
        let rt = runtime(journal.clone(), "a");
        let opts = RunOptions::new().mode(mode).run_id("batch");
        let results = wf
            .run_batch(&rt, vec![json!(1), json!(2), json!(3)], opts.clone())
            .await;
        assert!(results.iter().all(Result::is_ok));
        for (i, cents) in [(0, 100), (1, 200), (2, 300)] {
            let run = journal
                .load_run(&format!("batch-{i}"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(run.record.status, RunStatus::Completed);
            assert_eq!(
                run.output(&StepKey::new(1, "charge")),
                Some(cents.to_string().as_bytes())
            );
        }
        assert_eq!(
            *world.keys.lock().unwrap(),
            ["batch-0/1", "batch-1/1", "batch-2/1"],
            "{mode:?}"
        );
        // Again: every input's run is finished; nothing is called.
        let again = wf
            .run_batch(&rt, vec![json!(1), json!(2), json!(3)], opts)
            .await;
        let outputs: Vec<Value> = again.into_iter().map(|r| r.unwrap().output).collect();
        assert_eq!(
            outputs,
            [
                json!("shipped 100"),
                json!("shipped 200"),
                json!("shipped 300")
            ]
        );
        assert_eq!(world.calls("Charge"), 3);

        let ids = RunOptions::new().mode(mode).run_ids(["x", "y"]);
        wf.run_batch(&rt, vec![json!(4), json!(5)], ids).await;
        assert!(journal.load_run("y").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn retention_prunes_finished_runs() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::Idempotent);
    let journal = MemoryJournal::new();
    let rt = Runtime::builder()
        .journal(journal.clone())
        .retention(Retention::default().keep_last(2))
        .build();
    for i in 0..5 {
        wf.run_on(&rt, json!(i + 1), RunOptions::new().run_id(format!("r{i}")))
            .await
            .unwrap();
    }
    let left = journal.list_runs(&RunFilter::all()).await.unwrap();
    let ids: Vec<&str> = left.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["r3", "r4"]);
}

#[tokio::test]
async fn a_run_gets_a_fresh_uuid_when_no_id_is_given_and_its_context_says_it() {
    let journal = MemoryJournal::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let mut registry = NodeRegistry::new();
    registry.effect("Key", move |ctx: Context, (): ()| {
        let s = Arc::clone(&s);
        async move {
            s.lock()
                .unwrap()
                .push((ctx.run_id().map(str::to_owned), ctx.idempotency_key()));
            Ok::<_, NodeError>(1)
        }
    });
    let wf = registry
        .load_yaml("workflow_id: k\nsteps: [{step_id: s, thunks: [{thunk_id: key, target_node_type: Key}]}]\noutput: key")
        .unwrap();
    let rt = runtime(journal.clone(), "a");
    wf.run(&rt, RunOptions::new()).await.unwrap();
    let (run_id, key) = seen.lock().unwrap()[0].clone();
    let run_id = run_id.unwrap();
    assert!(uuid::Uuid::parse_str(&run_id).is_ok(), "{run_id}");
    assert_eq!(key, format!("{run_id}/0"));
    assert!(journal.load_run(&run_id).await.unwrap().is_some());
}

#[tokio::test]
async fn without_a_journal_runs_are_not_durable_and_resume_says_so() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::Idempotent);
    let rt = Runtime::default();
    wf.run_on(&rt, json!(1), RunOptions::new().run_id("x"))
        .await
        .unwrap();
    let err = wf.resume(&rt, "x", RunOptions::new()).await.unwrap_err();
    assert!(err.to_string().contains("has no journal"), "{err}");
}

// A `#[durable] workflow!`: the same rules through generated code, with a `map` step.

/// Keys the effects were called with, in call order, across the tests of this file.
static CALLED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn called(prefix: &str) -> Vec<String> {
    let called = CALLED.lock().unwrap();
    called
        .iter()
        .filter(|k| k.starts_with(prefix))
        .cloned()
        .collect()
}

#[node(compute)]
fn split(n: &u64) -> Vec<u64> {
    (1..=*n).collect()
}

#[node(effect, idempotent)]
async fn reserve(ctx: &Context, item: &u64) -> Result<u64, NodeError> {
    CALLED
        .lock()
        .unwrap()
        .push(format!("{} reserve", ctx.idempotency_key()));
    Ok(item * 10)
}

#[node(reducer)]
fn add(total: &mut u64, held: &u64) {
    *total += held;
}

#[node(effect, at_most_once)]
fn confirm(ctx: &Context, total: &u64) -> Result<String, NodeError> {
    CALLED
        .lock()
        .unwrap()
        .push(format!("{} confirm", ctx.idempotency_key()));
    Ok(format!("confirmed {total}"))
}

workflow! {
    /// Items reserved one by one (an idempotent effect per item), totalled, confirmed once.
    #[durable]
    pub workflow Reserve(n: u64) -> String {
        items = split(n);
        held = map reserve(items);
        total = add(held);
        done = confirm(total);
        return done;
    }
}

#[tokio::test]
async fn a_durable_workflow_crashed_at_any_write_resumes_to_the_same_output_in_every_mode() {
    for mode in MODES {
        let clean = Arc::new(faulty(&MemoryJournal::new(), 0));
        let rt = Runtime::builder().shared_journal(clean.clone()).build();
        let id = format!("clean-{mode:?}");
        let run = Reserve::run(&rt, 3, RunOptions::new().mode(mode).run_id(&id))
            .await
            .unwrap();
        assert_eq!(run.output, "confirmed 60");
        let writes = clean.writes();
        assert!(writes >= 5, "{writes}");

        for k in 1..=writes {
            let id = format!("crash-{mode:?}-{k}");
            let journal = MemoryJournal::new();
            let crashed = runtime(faulty(&journal, k), "a");
            let opts = RunOptions::new().mode(mode);
            // When the last write (the status) fails, the run has its output already, and
            // its journal says RUNNING: the resume finishes it without calls.
            let _ = Reserve::run(&crashed, 3, opts.clone().run_id(&id)).await;
            let rt = runtime(journal.clone(), "b");
            let mut result = Reserve::resume(&rt, &id, opts.clone()).await;
            if let Err(err) = &result {
                // `confirm` in doubt: an operator looks at the outside world.
                assert!(err.to_string().contains("is in doubt"), "{id}: {err}");
                let confirmed = called(&id).iter().any(|k| k.ends_with("confirm"));
                let resolution = if confirmed {
                    Resolution::Done(br#""confirmed 60""#.to_vec())
                } else {
                    Resolution::Retry
                };
                rt.resolve(&id, "done", resolution).await.unwrap();
                result = Reserve::resume(&rt, &id, opts).await;
            }
            assert_eq!(result.unwrap().output, "confirmed 60", "{id}");
            let calls = called(&format!("{id}/"));
            let confirms: Vec<&String> = calls.iter().filter(|k| k.ends_with("confirm")).collect();
            assert_eq!(
                confirms,
                [&format!("{id}/3 confirm")],
                "{id}: confirmed once"
            );
            let mut reserved: Vec<&String> =
                calls.iter().filter(|k| k.ends_with("reserve")).collect();
            reserved.sort();
            reserved.dedup();
            let keys: Vec<String> = (0..3).map(|i| format!("{id}/1/{i} reserve")).collect();
            assert_eq!(reserved, keys.iter().collect::<Vec<_>>(), "{id}");
            assert_eq!(status(&journal, &id).await, RunStatus::Completed, "{id}");
        }
    }
}

workflow! {
    /// Not durable: its runs are not journaled, even on a runtime with a journal.
    pub workflow Plain(n: u64) -> u64 {
        items = split(n);
        total = add(items);
        return total;
    }
}

#[tokio::test]
async fn a_workflow_that_is_not_durable_runs_unjournaled_on_a_runtime_with_a_journal() {
    let journal = MemoryJournal::new();
    let rt = runtime(journal.clone(), "a");
    let run = Plain::run(&rt, 4, RunOptions::new().run_id("plain"))
        .await
        .unwrap();
    assert_eq!(run.output, 10);
    assert!(
        journal
            .list_runs(&RunFilter::all())
            .await
            .unwrap()
            .is_empty()
    );
    let err = Plain::resume(&rt, "plain", RunOptions::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no run `plain`"), "{err}");
}

#[tokio::test]
async fn recover_resumes_every_unfinished_run_of_a_linked_durable_workflow() {
    let journal = MemoryJournal::new();
    for id in ["rec-1", "rec-2"] {
        // Crash once `split` is journaled.
        let crashed = runtime(faulty(&journal, 3), "a");
        Reserve::run(&crashed, 2, RunOptions::new().run_id(id))
            .await
            .unwrap_err();
    }
    let done = runtime(journal.clone(), "a");
    Reserve::run(&done, 1, RunOptions::new().run_id("rec-done"))
        .await
        .unwrap();
    let ghost = journal
        .start_run(
            NewRun::new("ghost", "Ghost", b"null".to_vec()),
            "x",
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    journal.release_lease(ghost.lease().unwrap()).await.unwrap();

    let rt = runtime(journal.clone(), "b");
    let recovered = rt.recover().await.unwrap();
    let mut ids: Vec<&str> = recovered
        .results
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["rec-1", "rec-2"]);
    assert!(
        recovered.results.iter().all(|(_, r)| r.is_ok()),
        "{recovered:?}"
    );
    assert_eq!(recovered.unknown, ["ghost"]);
    for id in ["rec-1", "rec-2"] {
        assert_eq!(status(&journal, id).await, RunStatus::Completed);
    }
}

// Leases over time, on tokio's paused clock: the journal reads it too.

/// The journal's clock on tokio's: paused in these tests, so leases expire as the test
/// advances time, and heartbeats fire on schedule.
#[derive(Debug)]
struct TokioClock(tokio::time::Instant);

impl onex::journal::Clock for TokioClock {
    fn now(&self) -> std::time::SystemTime {
        let since = tokio::time::Instant::now() - self.0;
        std::time::UNIX_EPOCH + Duration::from_secs(1_000_000) + since
    }
}

/// `parse` then `wait`, an effect that sleeps `ms` on tokio's clock (forever when 0).
fn sleeper(ms: u64) -> Workflow {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Parse", |n: &i64| *n)
        .effect("Wait", move |ctx: Context, n: i64| async move {
            if ms == 0 {
                ctx.cancellation_token().cancelled().await;
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, NodeError>(n)
        })
        .delivery("Wait", Delivery::Idempotent);
    registry
        .load_yaml(
            "workflow_id: sleeper\nsteps: [{step_id: s, thunks: [\
             {thunk_id: parse, target_node_type: Parse, dependencies: [$input]},\
             {thunk_id: wait, target_node_type: Wait, dependencies: [parse]}]}]\noutput: wait",
        )
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_keeps_a_long_step_s_lease_alive() {
    let journal = MemoryJournal::with_clock(TokioClock(tokio::time::Instant::now()));
    let rt = Runtime::builder()
        .journal(journal.clone())
        .lease_ttl(Duration::from_secs(3))
        .build();
    // Ten leases long: without renewals the outcome's write would find the lease expired.
    let run = sleeper(30_000)
        .run_on(&rt, json!(5), RunOptions::new().run_id("long"))
        .await
        .unwrap();
    assert_eq!(run.output, json!(5));
    assert_eq!(status(&journal, "long").await, RunStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_lost_lease_stops_the_run_s_in_flight_step_with_a_clear_error() {
    let journal = MemoryJournal::with_clock(TokioClock(tokio::time::Instant::now()));
    let rt = Runtime::builder()
        .journal(journal.clone())
        .holder_id("a")
        .lease_ttl(Duration::from_secs(3))
        .build();
    let wf = sleeper(0);
    let run = wf.run_on(&rt, json!(5), RunOptions::new().run_id("stolen"));
    let steal = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // An operator's tool forces the run's lease free, and `b` takes the run.
        let record = journal.load_run("stolen").await.unwrap().unwrap().record;
        let lease = Lease {
            run_id: "stolen".into(),
            holder: "a".into(),
            token: record.lease.token,
            until: record.lease.until,
        };
        journal.release_lease(&lease).await.unwrap();
        journal
            .acquire_lease("stolen", "b", Duration::from_secs(3))
            .await
            .unwrap();
    };
    let (result, ()) = tokio::join!(run, steal);
    let err = result.unwrap_err();
    assert!(err.to_string().contains("lost its lease"), "{err}");
    let snapshot = journal.load_run("stolen").await.unwrap().unwrap();
    assert_eq!(
        snapshot.record.status,
        RunStatus::Running,
        "a wrote nothing more"
    );
    assert_eq!(snapshot.record.lease.holder.as_deref(), Some("b"));
}

// With a step driver too: the journal records, the step driver makes the calls it takes.

/// Takes every call of `Charge`, as a remote backend would, and makes it elsewhere.
#[derive(Debug, Default)]
struct Remote {
    made: Arc<AtomicUsize>,
}

struct RemoteRun(Arc<AtomicUsize>);

impl onex::driver::StepDriver for Remote {
    fn open<'a>(
        &'a self,
        _: &'a onex::driver::RunInfo<'a>,
    ) -> onex::driver::DriverFuture<'a, Box<dyn onex::driver::RunDriver>> {
        let made = Arc::clone(&self.made);
        Box::pin(async move { Ok(Box::new(RemoteRun(made)) as Box<dyn onex::driver::RunDriver>) })
    }
}

impl onex::driver::RunDriver for RemoteRun {
    fn checkpoint<'a>(
        &'a self,
        _: &'a [onex::driver::CallEnd<'a>],
        starting: &'a [onex::driver::CallStart<'a>],
    ) -> onex::driver::DriverFuture<'a, Vec<onex::driver::Route>> {
        let routes = starting
            .iter()
            .map(|s| match &*s.spec.node_type {
                "Charge" => onex::driver::Route::Driver,
                _ => onex::driver::Route::Local,
            })
            .collect();
        Box::pin(async move { Ok(routes) })
    }

    fn call<'a>(
        &'a self,
        _: &'a onex::driver::CallStart<'a>,
        thunk: Thunk,
    ) -> onex::driver::DriverFuture<'a, Value> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(json!(thunk.operation_data.as_i64().unwrap_or(0) * 1000)) })
    }
}

#[tokio::test]
async fn the_journal_records_the_calls_a_step_driver_makes() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::Idempotent);
    let journal = MemoryJournal::new();
    let remote = Remote::default();
    let made = Arc::clone(&remote.made);
    let rt = Runtime::builder()
        .journal(journal.clone())
        .step_driver(remote)
        .build();
    let opts = RunOptions::new().run_id("remote-1");
    let run = wf.run_on(&rt, json!(2), opts.clone()).await.unwrap();
    assert_eq!(run.output, json!("shipped 2000"));
    assert_eq!((made.load(Ordering::SeqCst), world.calls("Charge")), (1, 0));
    let snapshot = journal.load_run("remote-1").await.unwrap().unwrap();
    assert_eq!(
        snapshot.output(&StepKey::new(1, "charge")),
        Some(&b"2000"[..])
    );
    // Journaled: attaching again asks the step driver for nothing.
    wf.run_on(&rt, json!(2), opts).await.unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 1);
}

/// Version 1 of a workflow, and version 2 where one node's output type changed but every
/// name stayed: the journal of a version-1 run must not feed a version-2 resume.
mod v1 {
    use onex::prelude::*;

    #[node(compute)]
    pub fn measure(n: &u64) -> u64 {
        n * 10
    }

    #[node(compute)]
    pub fn label(m: &u64) -> String {
        format!("{m} cm")
    }

    workflow! {
        #[durable]
        pub workflow Sizing(n: u64) -> String {
            size = measure(n);
            text = label(size);
            return text;
        }
    }
}

mod v2 {
    use onex::prelude::*;

    #[node(compute)]
    pub fn measure(n: &u64) -> f64 {
        *n as f64 * 10.5
    }

    #[node(compute)]
    pub fn label(m: &f64) -> String {
        format!("{m} cm")
    }

    workflow! {
        #[durable]
        pub workflow Sizing(n: u64) -> String {
            size = measure(n);
            text = label(size);
            return text;
        }
    }
}

#[tokio::test]
async fn a_node_whose_types_changed_is_a_changed_graph() {
    let journal = MemoryJournal::new();
    // Version 1 crashes after `size` is journaled (write 2 fails: outcome + next intent).
    let crashed = runtime(faulty(&journal, 2), "a");
    let _ = v1::Sizing::run(&crashed, 4, RunOptions::new().run_id("size-1")).await;
    let rt = runtime(journal.clone(), "b");
    let err = v2::Sizing::resume(&rt, "size-1", RunOptions::new())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("another graph"), "{message}");
    assert!(
        message.contains("- 0 size: Measure compute <- [] (u64) -> u64")
            && message.contains("+ 0 size: Measure compute <- [] (u64) -> f64"),
        "{message}"
    );
    // Version 1 itself resumes: same types, same fingerprint.
    let run = v1::Sizing::resume(&rt, "size-1", RunOptions::new())
        .await
        .unwrap();
    assert_eq!(run.output, "40 cm");
}

#[tokio::test]
async fn a_changed_step_that_had_completed_runs_again_when_the_change_is_allowed() {
    let world = Arc::new(World::default());
    let wf = orders(&world, Delivery::Idempotent);
    let journal = MemoryJournal::new();
    // Write 4 (the outcome of `ship`) fails: `parse` and `charge` are journaled as done.
    wf.run_on(
        &runtime(faulty(&journal, 4), "a"),
        json!(4),
        RunOptions::new().run_id("order-7"),
    )
    .await
    .unwrap_err();
    assert_eq!(world.calls("Charge"), 1);
    // The new version charges through another node: `charge` and `ship` changed.
    let mut registry = registry(&world, Delivery::Idempotent);
    registry
        .effect("ChargeV2", |_ctx: Context, n: i64| async move {
            Ok::<_, NodeError>(n * 101)
        })
        .delivery("ChargeV2", Delivery::Idempotent);
    let changed = registry
        .load_yaml(&ORDERS.replace("target_node_type: Charge", "target_node_type: ChargeV2"))
        .unwrap();
    let rt = runtime(journal.clone(), "b");
    let run = changed
        .resume(&rt, "order-7", RunOptions::new().allow_changed_graph())
        .await
        .unwrap();
    assert_eq!(run.output, json!("shipped 404"));
    assert_eq!(
        world.calls("Parse"),
        1,
        "`parse` is unchanged: not run again"
    );
    assert_eq!(status(&journal, "order-7").await, RunStatus::Completed);
}
