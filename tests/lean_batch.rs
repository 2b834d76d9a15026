//! `run_batch_lean`: outputs in input order and one report for the batch, on its lean
//! path (every step plain and synchronous) and through `run_batch` otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use onex::prelude::*;
use onex::{BatchFailure, BatchOutcome, ErrorCode, RunEvent};

#[node(compute)]
fn double(n: &u64) -> u64 {
    n * 2
}

/// Fails on multiples of 7, panics on multiples of 11 (checked in that order).
#[node(compute)]
fn picky(n: &u64) -> Result<u64, NodeError> {
    if n.is_multiple_of(7) {
        return Err(NodeError::permanent(format!("{n} is a multiple of 7")));
    }
    assert!(!n.is_multiple_of(11), "{n} is a multiple of 11");
    Ok(n + 1)
}

#[node(compute)]
fn add(a: &u64, b: &u64) -> u64 {
    a + b
}

workflow! {
    /// Two branches joined: doubled + picky(doubled).
    workflow Plain(n: u64) -> u64 {
        doubled = double(n);
        checked = picky(doubled);
        sum = add(doubled, checked);
        return sum;
    }
}

#[node(effect)]
async fn fetch(n: &u64) -> Result<u64, NodeError> {
    tokio::task::yield_now().await;
    if n.is_multiple_of(5) {
        return Err(NodeError::permanent("no"));
    }
    Ok(*n)
}

workflow! {
    /// An asynchronous step: never on the lean path.
    workflow Fetching(n: u64) -> u64 {
        fetched = fetch(n);
        doubled = double(fetched);
        return doubled;
    }
}

/// One entry per input: its output, or `None` where it failed (`BatchOutcome::output`).
fn per_input<T: Clone>(out: &BatchOutcome<T>) -> Vec<Option<T>> {
    let len = out.report.completed + out.report.failed();
    assert_eq!(out.outputs.len(), out.report.completed);
    (0..len).map(|i| out.output(i).cloned()).collect()
}

/// What `run_batch` says of the same inputs: outputs, and (index, step) of the failures.
async fn through_run_batch(
    rt: &Runtime,
    inputs: Vec<u64>,
) -> (Vec<Option<u64>>, Vec<(usize, Option<String>)>) {
    let runs = Plain::run_batch(rt, inputs, RunOptions::new()).await;
    let mut failed = Vec::new();
    let outputs = runs
        .into_iter()
        .enumerate()
        .map(|(i, r)| match r {
            Ok(run) => Some(run.output),
            Err(e) => {
                failed.push((i, e.failed_step().map(str::to_string)));
                None
            }
        })
        .collect();
    (outputs, failed)
}

#[tokio::test]
async fn gives_run_batchs_outputs_in_input_order() {
    let rt = Runtime::default();
    let inputs: Vec<u64> = (0..10_000).map(|n| n * 3 + 1).collect();
    let (expected, failed) = through_run_batch(&rt, inputs.clone()).await;
    let out = Plain::run_batch_lean(&rt, inputs, RunOptions::new()).await;
    assert_eq!(per_input(&out), expected);
    assert_eq!(out.report.workflow, "Plain");
    assert_eq!(out.report.completed + out.report.failed(), 10_000);
    let lean_failed: Vec<(usize, Option<String>)> = out
        .report
        .failures
        .iter()
        .map(|f| (f.index, f.step.clone()))
        .collect();
    assert_eq!(lean_failed, failed);
    assert!(out.report.failed() > 0, "the inputs include failures");
}

#[tokio::test]
async fn reports_each_failure_with_its_index_step_and_error() {
    let rt = Runtime::default();
    // Doubled: 2, 14 (fails), 22 (panics), 4.
    let out = Plain::run_batch_lean(&rt, vec![1, 7, 11, 2], RunOptions::new()).await;
    assert_eq!(per_input(&out), vec![Some(2 + 3), None, None, Some(4 + 5)]);
    assert_eq!(out.report.completed, 2);
    let [failed, panicked] = out.report.failures.as_slice() else {
        panic!("two failures: {:?}", out.report.failures);
    };
    assert_eq!(
        failed,
        &BatchFailure {
            index: 1,
            step: Some("checked".into()),
            error: NodeError::permanent("14 is a multiple of 7"),
        }
    );
    assert_eq!(panicked.index, 2);
    assert_eq!(panicked.step.as_deref(), Some("checked"));
    assert_eq!(panicked.error.code(), ErrorCode::Panicked);
    assert!(panicked.error.message().contains("22 is a multiple of 11"));
    let results = out.clone().into_results();
    assert_eq!(results.len(), 4);
    assert_eq!(results[3].as_ref().ok(), Some(&(4 + 5)));
    assert_eq!(results[2].as_ref().err().map(|f| f.index), Some(2));
    assert!(out.into_outputs().is_err());
}

#[tokio::test]
async fn an_empty_batch_is_an_empty_outcome() {
    let out = Plain::run_batch_lean(&Runtime::default(), vec![], RunOptions::new()).await;
    assert!(out.outputs.is_empty() && per_input(&out).is_empty());
    assert_eq!(out.report.completed + out.report.failed(), 0);
}

#[tokio::test]
async fn a_cancelled_batch_runs_no_input() {
    let rt = Runtime::default();
    let token = Context::detached(&rt, "test").cancellation_token().clone();
    token.cancel();
    let opts = RunOptions::new().cancellation_token(token);
    let out = Plain::run_batch_lean(&rt, vec![1, 2, 3], opts).await;
    assert_eq!(per_input(&out), vec![None, None, None]);
    let codes: Vec<_> = out.report.failures.iter().map(|f| f.error.code()).collect();
    assert_eq!(codes, vec![ErrorCode::Cancelled; 3]);
}

#[tokio::test]
async fn an_asynchronous_step_falls_back_to_run_batch() {
    let rt = Runtime::default();
    let out = Fetching::run_batch_lean(&rt, (1..=10).collect(), RunOptions::new()).await;
    let expected: Vec<Option<u64>> = (1..=10)
        .map(|n: u64| (!n.is_multiple_of(5)).then_some(n * 2))
        .collect();
    assert_eq!(per_input(&out), expected);
    let failed: Vec<(usize, Option<&str>)> = out
        .report
        .failures
        .iter()
        .map(|f| (f.index, f.step.as_deref()))
        .collect();
    assert_eq!(failed, vec![(4, Some("fetched")), (9, Some("fetched"))]);
    assert_eq!(out.report.failures[0].error, NodeError::permanent("no"));
}

#[tokio::test]
async fn an_observed_batch_falls_back_to_run_batch_and_is_observed() {
    let started = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&started);
    let observer = move |e: &RunEvent<'_>| {
        if matches!(e, RunEvent::RunStarted { .. }) {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    };
    let opts = RunOptions::new().observer(Arc::new(observer));
    let out = Plain::run_batch_lean(&Runtime::default(), vec![1, 2, 3], opts).await;
    assert_eq!(per_input(&out), vec![Some(5), Some(9), Some(13)]);
    assert_eq!(
        started.load(Ordering::Relaxed),
        3,
        "every input's run observed"
    );
}

workflow! {
    /// A side branch the output does not need.
    workflow Sided(n: u64) -> u64 {
        doubled = double(n);
        _side = picky(doubled);
        quadrupled = double(doubled);
        return quadrupled;
    }
}

#[tokio::test]
async fn continue_on_error_falls_back_to_run_batch() {
    let opts = RunOptions::new().failure_strategy(FailureStrategy::ContinueOnError);
    let rt = Runtime::default();
    // 7 fails its side branch, which the output does not need: it still has an output.
    let out = Sided::run_batch_lean(&rt, vec![1, 7], opts).await;
    assert_eq!(per_input(&out), vec![Some(4), Some(28)]);
    assert_eq!(out.report.completed, 2);
    let failfast = Sided::run_batch_lean(&rt, vec![1, 7], RunOptions::new()).await;
    assert_eq!(per_input(&failfast), vec![Some(4), None]);
    assert_eq!(failfast.report.failures[0].step.as_deref(), Some("_side"));
}

#[node(effect)]
fn run_id(ctx: &Context, n: &u64) -> Result<String, NodeError> {
    Ok(format!("{n}:{}", ctx.workflow_id()))
}

workflow! {
    /// A synchronous effect that reads its run's workflow id.
    workflow Identified(n: u64) -> String {
        id = run_id(n);
        return id;
    }
}

#[tokio::test]
async fn every_input_of_an_effect_sees_its_own_workflow_id() {
    let rt = Runtime::default();
    let out = Identified::run_batch_lean(&rt, (0..1_000).collect(), RunOptions::new()).await;
    let ids: std::collections::HashSet<String> = out
        .into_outputs()
        .expect("every input runs")
        .into_iter()
        .map(|s| s.split_once(':').expect("n:id").1.to_string())
        .collect();
    assert_eq!(ids.len(), 1_000);
}

static CALLS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

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
async fn a_lean_input_keeps_the_priority_order() {
    let rt = Runtime::default();
    let out = Prioritized::run_batch_lean(&rt, vec![4], RunOptions::new()).await;
    assert_eq!(per_input(&out), [Some(8)]);
    assert_eq!(*CALLS.lock().unwrap(), ["b", "a"]);
}

#[node(compute)]
fn scale(x: &u64, factor: Option<&u64>) -> u64 {
    x * factor.copied().unwrap_or(1)
}

#[node(compute)]
fn describe(label: &str, n: &u64) -> String {
    format!("{label}={n}")
}

workflow! {
    /// Two inputs, an optional parameter, a `&str` fed from a `String`, and a step whose
    /// output nothing reads.
    workflow Labelled(label: String, n: u64) -> String {
        scaled = scale(n, n);
        _unread = double(n);
        text = describe(label, scaled);
        return text;
    }
}

#[tokio::test]
async fn a_lean_input_feeds_every_kind_of_argument() {
    let rt = Runtime::default();
    let inputs = vec![("x".to_string(), 3), ("y".to_string(), 5)];
    let out = Labelled::run_batch_lean(&rt, inputs.clone(), RunOptions::new()).await;
    assert_eq!(out.outputs, ["x=9", "y=25"]);
    let runs = Labelled::run_batch(&rt, inputs, RunOptions::new()).await;
    let by_run: Vec<Option<String>> = runs.into_iter().map(|r| r.ok().map(|r| r.output)).collect();
    assert_eq!(per_input(&out), by_run);
}

#[tokio::test]
async fn a_small_batch_times_every_input_and_a_large_one_a_sample() {
    let rt = Runtime::default();
    let out = Plain::run_batch_lean(&rt, (0..100).collect(), RunOptions::new()).await;
    assert_eq!(out.report.latency.sampled(), 100);
    let (p50, max) = (out.report.latency.quantile(0.5), out.report.latency.max());
    assert!(p50.is_some() && p50 <= max, "{:?}", out.report.latency);

    let out = Plain::run_batch_lean(&rt, (0..100_000).collect(), RunOptions::new()).await;
    // One input in 128 (the indices with their low 7 bits clear): 782 of 100,000.
    assert_eq!(out.report.latency.sampled(), 782);
}

#[tokio::test]
async fn a_batch_through_run_batch_times_every_input() {
    let rt = Runtime::default();
    let opts = RunOptions::new().failure_strategy(FailureStrategy::ContinueOnError);
    let out = Plain::run_batch_lean(&rt, (0..50).collect(), opts).await;
    assert_eq!(out.report.latency.sampled(), 50);
}
