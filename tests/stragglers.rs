//! Stragglers: a synchronous attempt abandoned at its timeout keeps running (a thread
//! cannot be stopped). Whatever it writes must still be accounted for: every attempt that
//! returned `Ok` is either the step's output or handed to the step's compensation, exactly
//! once. A ledger keyed by (run key, attempt) counts every write and every undo.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use onex::prelude::*;
use onex::{StepRecord, StragglerOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    key: u64,
    attempt: u32,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Entry {
    writes: u32,
    undos: u32,
}

/// Per (key, attempt): what was written and undone.
static LEDGER: Mutex<BTreeMap<(u64, u32), Entry>> = Mutex::new(BTreeMap::new());
/// Per key: the attempts made so far.
static ATTEMPTS: Mutex<BTreeMap<u64, u32>> = Mutex::new(BTreeMap::new());
/// Per (key, attempt): how long the attempt takes (0 when absent).
static DELAYS: Mutex<BTreeMap<(u64, u32), Duration>> = Mutex::new(BTreeMap::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The side effect: takes its planned time, then writes (key, attempt).
fn write_for(key: u64) -> Written {
    let attempt = {
        let mut attempts = lock(&ATTEMPTS);
        let n = attempts.entry(key).or_insert(0);
        *n += 1;
        *n
    };
    let delay = lock(&DELAYS)
        .get(&(key, attempt))
        .copied()
        .unwrap_or_default();
    std::thread::sleep(delay);
    lock(&LEDGER).entry((key, attempt)).or_default().writes += 1;
    Written { key, attempt }
}

fn undo(written: &Written) -> Result<(), NodeError> {
    lock(&LEDGER)
        .entry((written.key, written.attempt))
        .or_default()
        .undos += 1;
    Ok(())
}

#[node(effect, retries = 1, backoff = fixed(1ms), timeout = 25ms, compensate = unwrite)]
fn write(key: &u64) -> Result<Written, NodeError> {
    Ok(write_for(*key))
}

fn unwrite(_ctx: &Context, written: &Written) -> Result<(), NodeError> {
    undo(written)
}

#[node(effect)]
fn explode(_written: &Written) -> Result<u64, NodeError> {
    Err(NodeError::permanent("downstream refused"))
}

workflow! {
    workflow Saga(key: u64) -> u64 {
        written = write(key);
        done = explode(written);
        return done;
    }
}

/// Attempt 1 of `key` sleeps past the 25 ms timeout; attempt 2 answers at once.
fn plan_slow_first(key: u64) {
    lock(&DELAYS).insert((key, 1), Duration::from_millis(80));
}

/// A step's stragglers: (attempt, what became of it).
fn stragglers(record: &StepRecord) -> Vec<(u32, StragglerOutcome)> {
    record
        .stragglers()
        .filter_map(|a| Some((a.attempt, a.straggler.clone()?)))
        .collect()
}

fn entries(key: u64) -> Vec<(u32, Entry)> {
    lock(&LEDGER)
        .range((key, 0)..=(key, u32::MAX))
        .map(|(&(_, attempt), &e)| (attempt, e))
        .collect()
}

fn modes() -> [(&'static str, RunOptions); 3] {
    let saga = || RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    [
        ("sequential", saga()),
        (
            "parallel",
            saga().mode(ExecutionMode::Parallel { max_parallel: 4 }),
        ),
        ("batch", saga().mode(ExecutionMode::Batch)),
    ]
}

/// Written once, undone once.
const UNDONE: Entry = Entry {
    writes: 1,
    undos: 1,
};
const BOTH_UNDONE: [(u32, Entry); 2] = [(1, UNDONE), (2, UNDONE)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_straggler_and_its_retry_are_both_undone_in_every_mode() {
    let rt = Runtime::default();
    for (k, (mode, options)) in modes().into_iter().enumerate() {
        let key = 100 + k as u64;
        plan_slow_first(key);
        let err = Saga::run(&rt, key, options).await.unwrap_err();
        assert_eq!(entries(key), BOTH_UNDONE, "{mode}");
        let report = err.report().unwrap();
        assert_eq!(report.compensations_run, 2, "{mode}");
        assert_eq!(report.stuck_calls, 0, "{mode}: the run waited for it");
        let written = report.step("written").unwrap();
        assert_eq!(written.attempts, 2, "{mode}");
        assert_eq!(written.output_attempt, Some(2), "{mode}");
        assert_eq!(
            stragglers(written),
            [(1, StragglerOutcome::Compensated)],
            "{mode}"
        );
        assert!(
            report
                .to_string()
                .contains("attempt 1 outlived its timeout, its output compensated"),
            "{mode}: {report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_straggler_and_its_retry_are_both_undone_in_run_batch() {
    let rt = Runtime::default();
    for (k, (mode, options)) in modes().into_iter().enumerate() {
        // Fresh keys per mode: the ledger is keyed by input.
        let base = 200 + 10 * k as u64;
        let inputs: Vec<u64> = (base..base + 4).collect();
        for &key in &inputs {
            plan_slow_first(key);
        }
        let results = Saga::run_batch(&rt, inputs.clone(), options).await;
        assert_eq!(results.len(), inputs.len());
        for (&key, result) in inputs.iter().zip(&results) {
            assert_eq!(entries(key), BOTH_UNDONE, "{mode}, key {key}");
            let report = result.as_ref().unwrap_err().report().unwrap();
            let written = report.step("written").unwrap();
            assert_eq!(written.output_attempt, Some(2), "{mode}, key {key}");
            assert_eq!(
                stragglers(written),
                [(1, StragglerOutcome::Compensated)],
                "{mode}, key {key}"
            );
        }
    }
}

// ---- under FailFast the run does not wait: the straggler is stuck, then undoes itself ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_straggler_still_running_when_its_run_ends_is_reported_and_compensated_later() {
    let key = 400;
    plan_slow_first(key);
    let err = Saga::run(&Runtime::default(), key, RunOptions::new())
        .await
        .unwrap_err();
    let report = err.report().unwrap();
    assert_eq!(report.stuck_calls, 1, "{report}");
    let written = report.step("written").unwrap();
    assert_eq!(stragglers(written), [(1, StragglerOutcome::Running)]);
    assert!(
        report
            .to_string()
            .contains("1 call still running past its timeout (stuck)")
    );
    // FailFast leaves the retry's write (the step's output) alone; the straggler's own
    // write is nobody's output, so it is undone when it returns.
    let kept = Entry {
        writes: 1,
        undos: 0,
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while entries(key) != [(1, UNDONE), (2, kept)] {
        assert!(
            std::time::Instant::now() < deadline,
            "ledger: {:?}",
            entries(key)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---- a run interrupted mid-call: the call outlives its driver and is still undone ----

#[node(effect, timeout = 5s, compensate = unwrite)]
fn write_slow(key: &u64) -> Result<Written, NodeError> {
    Ok(write_for(*key))
}

workflow! {
    workflow Interrupted(key: u64) -> Written {
        written = write_slow(key);
        return written;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_running_when_its_run_is_cancelled_is_undone_by_the_saga() {
    let rt = Runtime::default();
    for (k, (mode, options)) in modes().into_iter().enumerate() {
        let key = 600 + k as u64;
        plan_slow_first(key);
        // The run's deadline passes while the call sleeps: the run is cancelled, the call
        // goes on, and what it writes is undone before the run reports.
        let options = options.timeout(Duration::from_millis(20));
        let err = Interrupted::run(&rt, key, options).await.unwrap_err();
        assert!(
            matches!(err, WorkflowError::Cancelled { .. }),
            "{mode}: {err}"
        );
        assert_eq!(entries(key), [(1, UNDONE)], "{mode}");
        let written = err.report().unwrap().step("written").unwrap().clone();
        assert_eq!(written.state, StepState::Cancelled, "{mode}");
        assert_eq!(stragglers(&written), [(1, StragglerOutcome::Compensated)]);
        assert!(
            err.report()
                .unwrap()
                .to_string()
                .contains("attempt 1 outlived its run's stop, its output compensated"),
            "{mode}"
        );
    }
}

// ---- a compute straggler: pure, so its equal value is dropped, but it is tracked ----

static SQUARED: Mutex<BTreeMap<u64, u32>> = Mutex::new(BTreeMap::new());
static FIRST_SQUARE_RETURNED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

#[node(compute, retries = 1, backoff = fixed(1ms), timeout = 25ms)]
fn slow_square(x: &u64) -> u64 {
    let attempt = {
        let mut seen = lock(&SQUARED);
        let n = seen.entry(*x).or_insert(0);
        *n += 1;
        *n
    };
    if attempt == 1 {
        std::thread::sleep(Duration::from_millis(80));
        FIRST_SQUARE_RETURNED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    x * x
}

workflow! {
    workflow Square(x: u64) -> u64 {
        squared = slow_square(x);
        return squared;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compute_straggler_is_waited_for_and_reported_discarded() {
    let run = Square::run(&Runtime::default(), 12, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(run.output, 144);
    assert!(
        FIRST_SQUARE_RETURNED.load(std::sync::atomic::Ordering::SeqCst),
        "the run handed its output back only after the straggler returned"
    );
    let squared = run.report.step("squared").unwrap();
    assert_eq!(squared.output_attempt, Some(2));
    assert_eq!(stragglers(squared), [(1, StragglerOutcome::Discarded)]);
    assert_eq!(run.report.compensations_run, 0);
}

// ---- an async effect: its future is dropped at the timeout, so it never writes ----

#[node(effect, retries = 1, backoff = fixed(1ms), timeout = 25ms, compensate = unwrite_async)]
async fn write_async(key: &u64) -> Result<Written, NodeError> {
    let attempt = {
        let mut attempts = lock(&ATTEMPTS);
        let n = attempts.entry(*key).or_insert(0);
        *n += 1;
        *n
    };
    if attempt == 1 {
        // Cancelled here: the future is dropped at its deadline, and nothing below runs.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    lock(&LEDGER).entry((*key, attempt)).or_default().writes += 1;
    Ok(Written { key: *key, attempt })
}

async fn unwrite_async(_ctx: &Context, written: &Written) -> Result<(), NodeError> {
    undo(written)
}

workflow! {
    workflow AsyncSaga(key: u64) -> u64 {
        written = write_async(key);
        done = explode(written);
        return done;
    }
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_async_attempt_is_dropped_at_its_await_and_never_writes() {
    for (k, (mode, options)) in modes().into_iter().enumerate() {
        let key = 500 + k as u64;
        let err = AsyncSaga::run(&Runtime::default(), key, options)
            .await
            .unwrap_err();
        let report = err.report().unwrap();
        let written = report.step("written").unwrap();
        assert_eq!(written.output_attempt, Some(2), "{mode}");
        assert!(
            stragglers(written).is_empty(),
            "{mode}: nothing outlives a drop"
        );
        // Long after the dropped attempt's sleep would have ended: it never wrote.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(entries(key), [(2, UNDONE)], "{mode}");
    }
}

// ---- a seeded loop: random delays around the timeout, with and without a failure ----

#[node(effect, retries = 2, backoff = fixed(1ms), timeout = 2ms, compensate = unwrite)]
fn write_fast(key: &u64) -> Result<Written, NodeError> {
    Ok(write_for(*key))
}

workflow! {
    workflow FastSaga(key: u64) -> u64 {
        written = write_fast(key);
        done = explode(written);
        return done;
    }
}

workflow! {
    workflow FastKept(key: u64) -> Written {
        written = write_fast(key);
        return written;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_seeded_runs_lose_and_double_no_compensation() {
    const RUNS: u64 = 1_000;
    const BASE: u64 = 10_000;
    let mut rng = fastrand::Rng::with_seed(19);
    {
        let mut delays = lock(&DELAYS);
        for key in BASE..BASE + RUNS {
            for attempt in 1..=3 {
                // Most attempts land close to the 2 ms timeout, on either side of it.
                let micros = rng.u64(0..3_500);
                delays.insert((key, attempt), Duration::from_micros(micros));
            }
        }
    }
    let rt = Runtime::default();
    let mut outputs: HashMap<u64, Option<u32>> = HashMap::new();
    let keys: Vec<u64> = (BASE..BASE + RUNS).collect();
    for chunk in keys.chunks(50) {
        let runs = chunk.iter().map(|&key| {
            let options = match key % 3 {
                0 => RunOptions::new(),
                1 => RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 2 }),
                _ => RunOptions::new().mode(ExecutionMode::Batch),
            }
            .failure_strategy(FailureStrategy::Compensate);
            let rt = &rt;
            async move {
                if key % 2 == 0 {
                    let result = FastSaga::run(rt, key, options).await;
                    assert!(result.is_err(), "key {key}: the saga always fails");
                    (key, None)
                } else {
                    let result = FastKept::run(rt, key, options).await;
                    // The output step completed when some attempt was in time. (The
                    // ledger counts the attempts that ran: one abandoned while it waited
                    // for a thread never did, so the executor's numbers can run ahead.)
                    let output = result.ok().map(|run| {
                        let record = run.report.step("written").unwrap();
                        assert!(record.output_attempt >= Some(run.output.attempt));
                        run.output.attempt
                    });
                    (key, output)
                }
            }
        });
        for (key, output) in futures_util::future::join_all(runs).await {
            outputs.insert(key, output);
        }
    }
    let ledger = lock(&LEDGER).clone();
    let mut stragglers = 0;
    let mut saga_writes = 0;
    for key in BASE..BASE + RUNS {
        let kept = outputs[&key];
        for attempt in 1..=3 {
            let entry = ledger.get(&(key, attempt)).copied().unwrap_or_default();
            let expected_undos = if entry.writes == 0 || kept == Some(attempt) {
                0
            } else {
                1
            };
            assert!(entry.writes <= 1, "key {key} attempt {attempt}: {entry:?}");
            assert_eq!(
                entry.undos, expected_undos,
                "key {key} attempt {attempt}: {entry:?}, output from {kept:?}"
            );
            // A write that is not the output of a run that has one: a straggler's.
            if entry.writes == 1 && kept.is_some_and(|k| k != attempt) {
                stragglers += 1;
            }
            if entry.writes == 1 && key % 2 == 0 {
                saga_writes += 1;
            }
        }
    }
    eprintln!("{stragglers} straggler writes beside an output; {saga_writes} writes in sagas");
    // Both shapes are exercised: stragglers beside an output, and several writes per saga.
    assert!(stragglers > 0, "the delays produced no straggler");
    assert!(saga_writes > RUNS / 2, "{saga_writes} writes in 500 sagas");
}
