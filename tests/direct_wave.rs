//! A `Batch` run makes a wave of plain steps as one rayon job of plain calls, and writes
//! their records in one pass after it. It must end each step, fail, stop, compensate and
//! record exactly as the general path does; an observer forces the general path, so each
//! case runs both ways and the reports are compared.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use onex::prelude::*;
use onex::{RunEvent, WorkflowReport, WorkflowRun};

/// The thread `first` last ran on (only `Checks` calls it).
static FIRST_RAN_ON: Mutex<Option<std::thread::ThreadId>> = Mutex::new(None);
/// Calls of `check` (every run of a case makes the same number).
static CHECKS: AtomicUsize = AtomicUsize::new(0);
/// The outputs of `write` undone, in the order they were undone.
static UNDONE: Mutex<Vec<u64>> = Mutex::new(Vec::new());

#[node(compute)]
fn first(x: &u64) -> u64 {
    *FIRST_RAN_ON.lock().unwrap() = Some(std::thread::current().id());
    *x
}

#[node(compute)]
fn root(x: &u64) -> u64 {
    *x
}

#[node(compute)]
fn add1(x: &u64) -> u64 {
    x + 1
}

#[node(compute)]
fn add2(x: &u64) -> u64 {
    x + 2
}

#[node(compute)]
fn add3(x: &u64) -> u64 {
    x + 3
}

/// Fails on 1, panics on 2.
#[node(compute)]
fn check(x: &u64) -> Result<u64, NodeError> {
    CHECKS.fetch_add(1, Ordering::Relaxed);
    match *x {
        1 => Err(NodeError::permanent("one is not allowed")),
        2 => panic!("row {x} is malformed"),
        x => Ok(x * 10),
    }
}

#[node(compute)]
fn inc(x: &u64) -> u64 {
    x + 1
}

#[node(compute)]
fn total(a: &u64, b: &u64, c: &u64, d: &u64) -> u64 {
    a + b + c + d
}

workflow! {
    /// A wave of one, a wave of three, a wave of six `check`s (on 0 the second fails and
    /// the third panics), then a step after each of those two beside the output.
    workflow Checks(x: u64) -> u64 {
        a0 = first(x);
        a1 = add1(a0);
        a2 = add2(a0);
        a3 = add3(a0);
        c0 = check(a0);
        c1 = check(a1);
        c2 = check(a2);
        c3 = check(a3);
        c4 = check(a0);
        c5 = check(a3);
        _after1 = inc(c1);
        _after2 = inc(c2);
        out = total(c0, c3, c4, c5);
        return out;
    }
}

/// Fails on 2; undone by `unwrite`.
#[node(effect, compensate = unwrite)]
fn write(x: &u64) -> Result<u64, NodeError> {
    if *x == 2 {
        Err(NodeError::permanent("disk full"))
    } else {
        Ok(*x + 100)
    }
}

fn unwrite(_: &Context, written: &u64) -> Result<(), NodeError> {
    UNDONE.lock().unwrap().push(*written);
    Ok(())
}

workflow! {
    /// Four compensated writes in one wave; on 0 the third fails.
    workflow Writes(x: u64) -> u64 {
        a0 = root(x);
        a1 = add1(a0);
        a2 = add2(a0);
        a3 = add3(a0);
        w0 = write(a0);
        w1 = write(a1);
        w2 = write(a2);
        w3 = write(a3);
        out = total(w0, w1, w2, w3);
        return out;
    }
}

/// The report of a run that succeeded or failed.
fn report_of(r: &Result<WorkflowRun<u64>, WorkflowError>) -> &WorkflowReport {
    match r {
        Ok(run) => &run.report,
        Err(e) => e.report().expect("a run error carries its report"),
    }
}

/// Everything a report says except times and ids: the run's counters, each step's record,
/// and each thunk's node type and dependencies (as positions in the thunk list).
fn facts(r: &Result<WorkflowRun<u64>, WorkflowError>) -> Vec<String> {
    let report = report_of(r);
    let mut facts = vec![format!(
        "output={:?} failed_step={:?} state={:?} completed={} failed={} skipped={} cancelled={} \
         parallel={} load_balanced={} compensations={} cache_hits={} mode={:?}",
        r.as_ref().map(|run| run.output).ok(),
        r.as_ref().err().and_then(|e| e.failed_step()),
        report.state,
        report.steps_completed,
        report.steps_failed,
        report.steps_skipped,
        report.steps_cancelled,
        report.parallel_executions,
        report.load_balanced_operations,
        report.compensations_run,
        report.cache_hits,
        report.mode,
    )];
    for s in report.steps.iter() {
        facts.push(format!(
            "{} {} wave={} {:?} attempts={}/{} calls={} output_attempt={:?} thunks={:?} \
             error={:?} skip={:?} failed={:?} compensation={:?}",
            s.step,
            s.node_type,
            s.wave,
            s.state,
            s.attempts,
            s.max_attempts,
            s.calls,
            s.output_attempt,
            s.thunks,
            s.error.as_ref().map(|e| (e.code(), e.message().to_owned())),
            s.skip_reason,
            s.failed_attempts
                .iter()
                .map(|a| (
                    a.attempt,
                    a.item,
                    a.error.code(),
                    a.error.message().to_owned()
                ))
                .collect::<Vec<_>>(),
            s.compensation.as_ref().map(|c| c.state),
        ));
    }
    let position: HashMap<_, _> = (report.thunks_emitted.iter().enumerate())
        .map(|(i, t)| (t.thunk_id, i))
        .collect();
    for t in report.thunks_emitted.iter() {
        let deps: Vec<usize> = t.dependencies.iter().map(|d| position[d]).collect();
        facts.push(format!("thunk {} <- {deps:?}", t.target_node_type));
    }
    facts
}

/// Checks what a report's times say, on either path: a step ends no earlier than it started
/// and no later than the next wave starts; in `Batch` (`waves_start_together`) it starts
/// when its wave does, when its thunk was emitted (in `Parallel` a wave of one is made
/// inline, and its step starts with its call).
fn check_times(
    r: &Result<WorkflowRun<u64>, WorkflowError>,
    case: &str,
    waves_start_together: bool,
) {
    let report = report_of(r);
    if !report.records {
        return;
    }
    for s in report.steps.iter() {
        for later in report.steps.iter().filter(|l| l.wave > s.wave) {
            if let (Some(finished), Some(next)) = (s.finished, later.started) {
                assert!(
                    finished <= next,
                    "{case}: {} ends after {} starts",
                    s.step,
                    later.step
                );
            }
        }
    }
    let mut wave_start = HashMap::new();
    for s in report.steps.iter() {
        let (Some(started), Some(finished)) = (s.started, s.finished) else {
            continue;
        };
        assert!(
            started <= finished,
            "{case}: {} {started:?} {finished:?}",
            s.step
        );
        if !waves_start_together {
            continue;
        }
        let emitted = report.thunks_emitted[s.thunks.start].created_at;
        assert_eq!(
            emitted.duration_since(report.started_at).unwrap(),
            started,
            "{case}: {}'s thunk",
            s.step
        );
        let first = *wave_start.entry(s.wave).or_insert(started);
        assert_eq!(first, started, "{case}: {} starts with its wave", s.step);
    }
}

fn observed(opts: RunOptions) -> RunOptions {
    opts.observer(Arc::new(|_: &RunEvent<'_>| {}))
}

#[tokio::test(flavor = "current_thread")]
async fn waves_of_plain_steps_report_what_the_general_path_reports() {
    let rt = Runtime::default();
    let here = std::thread::current().id();
    let modes = [
        ExecutionMode::Batch,
        ExecutionMode::Parallel { max_parallel: 8 },
    ];
    let strategies = [FailureStrategy::FailFast, FailureStrategy::ContinueOnError];
    for (mode, strategy) in modes.into_iter().flat_map(|m| strategies.map(|s| (m, s))) {
        let batch = mode == ExecutionMode::Batch;
        for records in [true, false] {
            for x in [0, 10] {
                let case = format!("{mode:?}, {strategy:?}, records {records}, x = {x}");
                let opts = || {
                    RunOptions::new()
                        .mode(mode)
                        .failure_strategy(strategy)
                        .records(records)
                };
                CHECKS.store(0, Ordering::Relaxed);
                let direct = Checks::run(&rt, x, opts()).await;
                let direct_checks = CHECKS.swap(0, Ordering::Relaxed);
                // A wave of one: on rayon in `Batch` (which keeps CPU-bound calls off the
                // executor's thread), on this thread in `Parallel`, on either path.
                let ran_on = FIRST_RAN_ON.lock().unwrap().take();
                assert_eq!(ran_on == Some(here), !batch, "{case}");
                let general = Checks::run(&rt, x, observed(opts())).await;
                let ran_on = FIRST_RAN_ON.lock().unwrap().take();
                assert_eq!(ran_on == Some(here), !batch, "{case}");
                assert_eq!(facts(&direct), facts(&general), "{case}");
                assert_eq!(direct_checks, CHECKS.load(Ordering::Relaxed), "{case}");
                assert_eq!(direct_checks, 6, "{case}: every check of the wave ran");
                check_times(&direct, &case, batch);
                check_times(&general, &case, batch);
                let report = report_of(&direct);
                // 1 + 3 + 6 + 3 calls (the last wave only when it runs), 3 + 6 (+ 3) of
                // them in waves of several; only `Batch` balances load.
                match (strategy, x) {
                    (_, 10) => {
                        assert_eq!(direct.as_ref().unwrap().output, 460, "{case}");
                        let balanced = if batch { 13 } else { 0 };
                        assert_eq!(report.load_balanced_operations, balanced, "{case}");
                        assert_eq!(report.parallel_executions, 12, "{case}");
                        assert_eq!(report.thunks_emitted.len(), if records { 13 } else { 0 });
                    }
                    (FailureStrategy::FailFast, _) => {
                        let e = direct.as_ref().unwrap_err();
                        assert_eq!(e.failed_step(), Some("c1"), "{case}");
                        assert_eq!(report.state, WorkflowState::Failed, "{case}");
                        // Both bad checks fail; the last wave never starts.
                        assert_eq!(
                            (report.steps_failed, report.steps_cancelled),
                            (2, 3),
                            "{case}"
                        );
                        if let Some(c2) = report.step("c2") {
                            let error = c2.error.as_ref().unwrap().message();
                            assert!(error.contains("row 2 is malformed"), "{case}: {error}");
                        }
                        let balanced = if batch { 10 } else { 0 };
                        assert_eq!(report.load_balanced_operations, balanced, "{case}");
                    }
                    _ => {
                        assert_eq!(direct.as_ref().unwrap().output, 60, "{case}");
                        assert_eq!(report.state, WorkflowState::PartialSuccess, "{case}");
                        assert_eq!(
                            (
                                report.steps_completed,
                                report.steps_failed,
                                report.steps_skipped
                            ),
                            (9, 2, 2),
                            "{case}"
                        );
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_member_of_a_direct_wave_undoes_the_completed_ones() {
    let rt = Runtime::default();
    for records in [true, false] {
        let opts = || {
            RunOptions::new()
                .mode(ExecutionMode::Batch)
                .failure_strategy(FailureStrategy::Compensate)
                .records(records)
        };
        UNDONE.lock().unwrap().clear();
        let direct = Writes::run(&rt, 0, opts()).await;
        let direct_undone = std::mem::take(&mut *UNDONE.lock().unwrap());
        let general = Writes::run(&rt, 0, observed(opts())).await;
        let general_undone = std::mem::take(&mut *UNDONE.lock().unwrap());
        assert_eq!(facts(&direct), facts(&general), "records {records}");
        check_times(&direct, "direct", true);
        // The completed writes, newest first.
        assert_eq!(direct_undone, vec![103, 101, 100], "records {records}");
        assert_eq!(general_undone, direct_undone, "records {records}");
        let e = direct.unwrap_err();
        assert_eq!(e.failed_step(), Some("w2"));
        assert_eq!(e.report().unwrap().compensations_run, 3);

        // Nothing fails: nothing is undone.
        let run = Writes::run(&rt, 10, opts()).await.unwrap();
        assert_eq!(run.output, 10 + 11 + 12 + 13 + 400);
        assert!(UNDONE.lock().unwrap().is_empty());
    }
}

/// Calls of `after_halt`.
static AFTER_HALT: AtomicUsize = AtomicUsize::new(0);

/// Cancels its own run.
#[node(effect)]
fn halt(ctx: &Context, x: &u64) -> u64 {
    ctx.cancellation_token().cancel();
    *x
}

#[node(compute)]
fn after_halt(x: &u64) -> u64 {
    AFTER_HALT.fetch_add(1, Ordering::Relaxed);
    x + 1
}

workflow! {
    /// A step that cancels its run, then one after it: waves of one.
    workflow Halts(x: u64) -> u64 {
        h = halt(x);
        out = after_halt(h);
        return out;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_direct_batch_run_stops_at_a_wave_boundary_when_cancelled_or_out_of_time() {
    let rt = Runtime::default();
    let batch = || RunOptions::new().mode(ExecutionMode::Batch);
    let e = Halts::run(&rt, 1, batch()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
    let report = e.report().unwrap();
    assert_eq!(report.state, WorkflowState::Cancelled);
    // `h` races its own cancellation: the run may stop while the wave's rayon job is
    // still sending its result (as on the general path), or see the token at the next
    // wave's boundary.
    let h = report.step("h").unwrap().state;
    assert!(
        matches!(h, StepState::Completed | StepState::Cancelled),
        "{h:?}"
    );
    assert_eq!(report.step("out").unwrap().state, StepState::Cancelled);
    assert_eq!(
        AFTER_HALT.load(Ordering::Relaxed),
        0,
        "the next wave never ran"
    );

    let e = Checks::run(&rt, 10, batch().timeout(std::time::Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Timeout, "{e}");
    let report = e.report().unwrap();
    assert_eq!(
        (report.state, report.steps_completed),
        (WorkflowState::Cancelled, 0)
    );
}

/// Whether `gate` may return, and how many calls of `counted` ran.
static GATE_OPEN: (Mutex<bool>, std::sync::Condvar) =
    (Mutex::new(false), std::sync::Condvar::new());
static GATE_REACHED: AtomicUsize = AtomicUsize::new(0);
static COUNTED: AtomicUsize = AtomicUsize::new(0);

/// Waits until the test opens the gate.
#[node(effect)]
fn gate(x: &u64) -> u64 {
    GATE_REACHED.fetch_add(1, Ordering::SeqCst);
    let (open, opened) = &GATE_OPEN;
    let mut open = open.lock().unwrap();
    while !*open {
        open = opened.wait(open).unwrap();
    }
    *x
}

#[node(effect)]
fn counted(x: &u64) -> u64 {
    COUNTED.fetch_add(1, Ordering::SeqCst);
    x + 1
}

workflow! {
    /// A chain: in `Batch`, one stretch of waves of one, made in one rayon job.
    workflow Gated(x: u64) -> u64 {
        g = gate(x);
        a = counted(g);
        b = counted(a);
        c = counted(b);
        return c;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_batch_run_starts_no_further_wave_of_its_stretch() {
    let rt = Runtime::default();
    let run = tokio::spawn({
        let rt = rt.clone();
        async move { Gated::run(&rt, 1, RunOptions::new().mode(ExecutionMode::Batch)).await }
    });
    while GATE_REACHED.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // The run's future is dropped while its stretch's job waits in `gate`.
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    let (open, opened) = &GATE_OPEN;
    *open.lock().unwrap() = true;
    opened.notify_all();
    // The job, had it gone on, would have made its three calls within microseconds.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(COUNTED.load(Ordering::SeqCst), 0, "no wave after the drop");
    // The same chain, not dropped, makes them all.
    let done = Gated::run(&rt, 1, RunOptions::new().mode(ExecutionMode::Batch)).await;
    assert_eq!(done.unwrap().output, 4);
    assert_eq!(COUNTED.load(Ordering::SeqCst), 3);
}
