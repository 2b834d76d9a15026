//! A sequential run of plain steps with records off takes `workflow!`'s straight line (every
//! call in order, no dispatch). It must end each step, stop, fail and order calls exactly as
//! the general path does; an observer forces the general path, so each case runs both ways.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use onex::prelude::*;
use onex::{RunEvent, WorkflowReport, WorkflowRun};

static CALLED_AFTER_FAILURES: AtomicUsize = AtomicUsize::new(0);

#[node(compute)]
fn root(x: &u64) -> u64 {
    *x
}

/// Fails on input 1.
#[node(compute)]
fn picky(x: &u64) -> Result<u64, NodeError> {
    if *x == 1 {
        Err(NodeError::permanent("one is not allowed"))
    } else {
        Ok(*x)
    }
}

/// Panics on input 2.
#[node(compute)]
fn fragile(x: &u64) -> u64 {
    assert!(*x != 2, "row {x} is malformed");
    *x
}

#[node(compute)]
fn bump(x: &u64) -> u64 {
    CALLED_AFTER_FAILURES.fetch_add(1, Ordering::Relaxed);
    x + 1
}

workflow! {
    /// A chain beside a step that fails on 1 and one that panics on 2.
    workflow Rough(x: u64) -> u64 {
        r = root(x);
        p = picky(r);
        _after_p = bump(p);
        f = fragile(r);
        _after_f = bump(f);
        good = bump(r);
        out = bump(good);
        return out;
    }
}

/// What a report says, without times and ids.
fn facts(result: &Result<WorkflowRun<u64>, WorkflowError>) -> String {
    let (report, output, failed): (&WorkflowReport, _, _) = match result {
        Ok(run) => (&run.report, Some(run.output), None),
        Err(e) => (
            e.report().expect("a run error carries its report"),
            None,
            Some((
                e.failed_step().map(str::to_owned),
                e.node_error().map(|n| (n.code(), n.message().to_owned())),
            )),
        ),
    };
    format!(
        "output={output:?} failed={failed:?} state={:?} completed={} failed={} skipped={} cancelled={}",
        report.state,
        report.steps_completed,
        report.steps_failed,
        report.steps_skipped,
        report.steps_cancelled,
    )
}

#[tokio::test]
async fn a_straight_run_stops_fails_and_reports_as_the_general_path_does() {
    let rt = Runtime::default();
    for strategy in [FailureStrategy::FailFast, FailureStrategy::ContinueOnError] {
        for x in [0, 1, 2] {
            let opts = || RunOptions::new().records(false).failure_strategy(strategy);
            CALLED_AFTER_FAILURES.store(0, Ordering::Relaxed);
            let straight = Rough::run(&rt, x, opts()).await;
            let straight_calls = CALLED_AFTER_FAILURES.swap(0, Ordering::Relaxed);
            let observed = opts().observer(Arc::new(|_: &RunEvent<'_>| {}));
            let general = Rough::run(&rt, x, observed).await;
            let general_calls = CALLED_AFTER_FAILURES.load(Ordering::Relaxed);
            let case = format!("{strategy:?}, x = {x}");
            assert_eq!(facts(&straight), facts(&general), "{case}");
            assert_eq!(straight_calls, general_calls, "{case}: calls of `bump`");
            match (strategy, x) {
                (_, 0) => assert_eq!(straight.unwrap().output, 2, "{case}"),
                // Fail fast stops at the first failure, before any `bump`.
                (FailureStrategy::FailFast, 1) => {
                    let e = straight.unwrap_err();
                    assert_eq!(e.failed_step(), Some("p"), "{case}");
                    assert_eq!(straight_calls, 0, "{case}");
                }
                (FailureStrategy::FailFast, _) => {
                    let e = straight.unwrap_err();
                    assert_eq!(e.failed_step(), Some("f"), "{case}");
                    assert!(e.to_string().contains("row 2 is malformed"), "{case}: {e}");
                    assert_eq!(straight_calls, 0, "{case}");
                }
                // Continue on error runs everything not downstream of the failure.
                _ => {
                    let run = straight.unwrap();
                    assert_eq!(run.output, x + 2, "{case}");
                    assert_eq!(run.report.state, WorkflowState::PartialSuccess, "{case}");
                    assert_eq!(
                        (run.report.steps_failed, run.report.steps_skipped),
                        (1, 1),
                        "{case}"
                    );
                    // `bump` after the good chain twice and after the step that did not fail.
                    assert_eq!(straight_calls, 3, "{case}");
                }
            }
        }
    }
}

/// What a report's records say, without times and ids: each step's record, and each
/// thunk's node type and dependencies as thunk indices.
fn records(result: &Result<WorkflowRun<u64>, WorkflowError>) -> String {
    let report = match result {
        Ok(run) => &run.report,
        Err(e) => e.report().expect("a run error carries its report"),
    };
    let thunks: Vec<_> = report
        .thunks_emitted
        .iter()
        .map(|t| {
            let deps: Vec<_> = t
                .dependencies
                .iter()
                .map(|d| report.thunks_emitted.iter().position(|u| u.thunk_id == *d))
                .collect();
            format!("{}<-{deps:?}", t.target_node_type)
        })
        .collect();
    let steps: Vec<_> = report
        .steps
        .iter()
        .map(|s| {
            assert!(s.started <= s.finished, "{}: {:?}", s.step, s);
            format!(
                "{} {:?} attempts={}/{} calls={} output={:?} error={:?} skip={:?} failed={} thunks={:?}",
                s.step,
                s.state,
                s.attempts,
                s.max_attempts,
                s.calls,
                s.output_attempt,
                s.error.as_ref().map(|e| e.message().to_owned()),
                s.skip_reason,
                s.failed_attempts.len(),
                s.thunks,
            )
        })
        .collect();
    format!("{thunks:#?}\n{steps:#?}")
}

#[node(compute)]
fn inc(x: &u64) -> u64 {
    x + 1
}

workflow! {
    /// `Rough` without the call counter, so that it runs beside the test that counts.
    workflow RoughRecorded(x: u64) -> u64 {
        r = root(x);
        p = picky(r);
        _after_p = inc(p);
        f = fragile(r);
        _after_f = inc(f);
        good = inc(r);
        out = inc(good);
        return out;
    }
}

/// With records on, a straight run's records are the general path's, time for time in
/// order: each step starts when the one before it in the order ended.
#[tokio::test]
async fn a_straight_run_with_records_records_as_the_general_path_does() {
    let rt = Runtime::default();
    for strategy in [FailureStrategy::FailFast, FailureStrategy::ContinueOnError] {
        for x in [0, 1, 2] {
            let opts = || RunOptions::new().failure_strategy(strategy);
            let straight = RoughRecorded::run(&rt, x, opts()).await;
            let observed = opts().observer(Arc::new(|_: &RunEvent<'_>| {}));
            let general = RoughRecorded::run(&rt, x, observed).await;
            let case = format!("{strategy:?}, x = {x}");
            assert_eq!(records(&straight), records(&general), "{case}");
            assert_eq!(facts(&straight), facts(&general), "{case}");
            let report = match &straight {
                Ok(run) => &run.report,
                Err(e) => e.report().unwrap(),
            };
            let ran: Vec<_> = RoughRecorded::graph()
                .order()
                .iter()
                .map(|&s| &report.steps[s])
                .filter(|s| s.started.is_some())
                .collect();
            for pair in ran.windows(2) {
                assert!(pair[0].finished <= pair[1].started, "{case}: {pair:?}");
            }
            for (i, t) in report.thunks_emitted.iter().enumerate().skip(1) {
                assert!(
                    report.thunks_emitted[i - 1].created_at <= t.created_at,
                    "{case}"
                );
            }
        }
    }
}

static CALLS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

#[node(compute)]
fn note_a(x: &u64) -> u64 {
    CALLS.lock().unwrap().push("a");
    *x
}

#[node(compute)]
fn note_b(x: &u64) -> u64 {
    CALLS.lock().unwrap().push("b");
    *x
}

#[node(compute)]
fn add(a: &u64, b: &u64) -> u64 {
    a + b
}

workflow! {
    /// `b` is declared after `a` but runs first: its priority is lower.
    workflow Prioritized(x: u64) -> u64 {
        a = note_a(x);
        #[step(priority = -1)]
        b = note_b(x);
        both = add(a, b);
        return both;
    }
}

#[tokio::test]
async fn a_straight_run_keeps_the_priority_order() {
    let rt = Runtime::default();
    let run = Prioritized::run(&rt, 4, RunOptions::new().records(false))
        .await
        .unwrap();
    assert_eq!(run.output, 8);
    assert_eq!(*CALLS.lock().unwrap(), ["b", "a"]);
}
