//! Resilience: retries with backoff, timeouts, cancellation, contained panics, sagas,
//! circuit breakers and caching.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onex_runtime::policy::{CircuitBreaker, CircuitState};
use onex_runtime::*;
use support::FlowBuilder;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn count(calls: &Arc<AtomicUsize>) -> usize {
    calls.load(Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_backoff_schedule_within_jitter_bounds() {
    let base = Duration::from_millis(100);
    let cap = Duration::from_millis(300);
    let attempts: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = attempts.clone();
    let flow = FlowBuilder::new("retry")
        .effect("flaky", &[], move |_| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push(Instant::now());
                if seen.len() < 5 {
                    Err(NodeError::new(ErrorCode::Timeout, "slow upstream"))
                } else {
                    Ok(seen.len() as u64)
                }
            }
        })
        .policy(
            StepPolicy::DEFAULT
                .retries(4)
                .backoff(Backoff::exponential(base).max(cap)),
        )
        .build("flaky")
        .unwrap();
    let run = Runtime::default()
        .run(flow, 0, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(run.output, 5);
    let record = run.report.step("flaky").unwrap();
    assert_eq!(record.attempts, 5);
    assert_eq!(record.failed_attempts.len(), 4);
    let times = attempts.lock().unwrap();
    // Nominal delays 100, 200, 300 (capped), 300 ms; jitter draws each from [d/2, d].
    for (k, nominal) in [100u64, 200, 300, 300].into_iter().enumerate() {
        let waited = times[k + 1] - times[k];
        let nominal = Duration::from_millis(nominal);
        assert!(
            waited >= nominal / 2 && waited <= nominal,
            "delay {k}: {waited:?} vs {nominal:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn exact_schedule_without_jitter_and_permanent_errors_are_not_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let flow = FlowBuilder::new("fixed")
        .effect("down", &[], move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            async { Err::<u64, _>(NodeError::transient("service down")) }
        })
        .policy(
            StepPolicy::DEFAULT
                .retries(3)
                .backoff(Backoff::fixed(Duration::from_millis(50)).no_jitter()),
        )
        .build("down")
        .unwrap();
    let start = Instant::now();
    let err = Runtime::default()
        .run(flow, 0, RunOptions::new())
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(150));
    assert_eq!(count(&calls), 4);
    assert_eq!(err.code(), ErrorCode::ResourceUnavailable);
    assert_eq!(err.report().unwrap().step("down").unwrap().attempts, 4);
    assert_eq!(err.report().unwrap().thunks_emitted[0].retry_count, 3);

    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let flow = FlowBuilder::new("permanent")
        .compute("bad", &[], move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            Err(NodeError::permanent("invalid row"))
        })
        .policy(StepPolicy::DEFAULT.retries(3))
        .build("bad")
        .unwrap();
    let start = Instant::now();
    Runtime::default()
        .run(flow, 0, RunOptions::new())
        .await
        .unwrap_err();
    assert_eq!(count(&calls), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

/// An effect that sleeps for `d`, then counts itself finished: a count of 0 afterwards
/// proves it was cancelled.
fn counted_sleep(
    finished: &Arc<AtomicUsize>,
    d: Duration,
) -> impl Fn(Vec<u64>) -> support::BoxFut + Send + Sync + 'static {
    let finished = finished.clone();
    move |_| {
        let finished = finished.clone();
        Box::pin(async move {
            tokio::time::sleep(d).await;
            finished.fetch_add(1, Ordering::SeqCst);
            Ok(1)
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_async_step_is_cancelled_at_its_deadline() {
    let finished = Arc::new(AtomicUsize::new(0));
    let flow = FlowBuilder::new("slow")
        .effect(
            "hang",
            &[],
            counted_sleep(&finished, Duration::from_secs(60)),
        )
        .policy(StepPolicy::DEFAULT.timeout(Duration::from_millis(250)))
        .build("hang")
        .unwrap();
    let start = Instant::now();
    let err = Runtime::default()
        .run(flow, 0, RunOptions::new())
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    assert_eq!(err.code(), ErrorCode::Timeout);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        count(&finished),
        0,
        "the step's future was dropped at its deadline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_sync_step_fails_at_its_deadline_and_its_result_is_discarded() {
    let flow = FlowBuilder::new("spin")
        .compute("slow", &[], |v| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(v[0])
        })
        .policy(StepPolicy::DEFAULT.timeout(Duration::from_millis(20)))
        .compute("after", &["slow"], |v| Ok(v[0]))
        .build("after")
        .unwrap();
    let start = std::time::Instant::now();
    let err = Runtime::default()
        .run(flow, 0, RunOptions::new())
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "failed at the deadline, not when the call returned"
    );
    assert_eq!(err.code(), ErrorCode::Timeout);
    assert_eq!(
        err.report().unwrap().step("after").unwrap().state,
        StepState::Cancelled
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_deadline_cancels_the_run() {
    let flow = FlowBuilder::new("deadline")
        .effect("long", &[], |_| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok(1)
        })
        .build("long")
        .unwrap();
    let err = Runtime::default()
        .run(flow, 0, RunOptions::new().timeout(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::Cancelled { .. }));
    assert_eq!(err.code(), ErrorCode::Timeout);
    assert_eq!(err.report().unwrap().state, WorkflowState::Cancelled);
    assert_eq!(
        err.report().unwrap().step("long").unwrap().state,
        StepState::Cancelled
    );
}

fn saga(log: Arc<Mutex<Vec<String>>>, fail_undo_of: &'static str) -> Arc<support::Flow> {
    let effect = |name: &'static str, log: Arc<Mutex<Vec<String>>>| {
        move |v: Vec<u64>| {
            let log = log.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                log.lock().unwrap().push(format!("do {name}"));
                Ok(v[0] + 1)
            }
        }
    };
    let undo = |name: &'static str, log: Arc<Mutex<Vec<String>>>| {
        move |_v: Vec<u64>| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(format!("undo {name}"));
                if name == fail_undo_of {
                    Err(NodeError::permanent("cannot undo"))
                } else {
                    Ok(0)
                }
            }
        }
    };
    FlowBuilder::new("saga")
        .effect("reserve", &[], effect("reserve", log.clone()))
        .compensate(undo("reserve", log.clone()))
        .effect("charge", &["reserve"], effect("charge", log.clone()))
        .compensate(undo("charge", log.clone()))
        .effect("ship", &["charge"], |_| async {
            Err::<u64, _>(NodeError::permanent("no courier"))
        })
        .build("ship")
        .unwrap()
}

#[tokio::test]
async fn compensations_run_in_reverse_completion_order_once_each() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let opts = RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    let err = Runtime::default()
        .run(saga(log.clone(), ""), 0, opts)
        .await
        .unwrap_err();
    assert_eq!(
        *log.lock().unwrap(),
        ["do reserve", "do charge", "undo charge", "undo reserve"]
    );
    let report = err.report().unwrap();
    assert_eq!(report.state, WorkflowState::Failed);
    assert_eq!(report.compensations_run, 2);
    assert_eq!(
        report
            .step("charge")
            .unwrap()
            .compensation
            .as_ref()
            .unwrap()
            .state,
        StepState::Completed
    );
    assert_eq!(err.failed_step(), Some("ship"));

    // A failing compensation is recorded and the others still run.
    let log = Arc::new(Mutex::new(Vec::new()));
    let opts = RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    let err = Runtime::default()
        .run(saga(log.clone(), "charge"), 0, opts)
        .await
        .unwrap_err();
    assert_eq!(
        *log.lock().unwrap(),
        ["do reserve", "do charge", "undo charge", "undo reserve"]
    );
    let charge = err
        .report()
        .unwrap()
        .step("charge")
        .unwrap()
        .compensation
        .clone()
        .unwrap();
    assert_eq!(charge.state, StepState::Failed);
    assert_eq!(charge.error.unwrap().message(), "cannot undo");

    // Other strategies never compensate.
    for strategy in [FailureStrategy::FailFast, FailureStrategy::ContinueOnError] {
        let log = Arc::new(Mutex::new(Vec::new()));
        let opts = RunOptions::new().failure_strategy(strategy);
        let err = Runtime::default()
            .run(saga(log.clone(), ""), 0, opts)
            .await
            .unwrap_err();
        assert_eq!(*log.lock().unwrap(), ["do reserve", "do charge"]);
        assert_eq!(err.report().unwrap().compensations_run, 0);
    }
}

/// A compensated write, then an hour-long wait to interrupt; the log records undos.
fn write_then_wait() -> (Arc<support::Flow>, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let flow = FlowBuilder::new("interrupted")
        .effect("write", &[], |_| async { Ok(7) })
        .compensate(move |v| {
            let l = l.clone();
            async move {
                l.lock().unwrap().push(format!("undo write {}", v[0]));
                Ok(0)
            }
        })
        .effect("wait", &["write"], |_| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(0)
        })
        .build("wait")
        .unwrap();
    (flow, log)
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_token_stops_in_flight_steps_and_still_compensates() {
    let (flow, log) = write_then_wait();
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        t.cancel();
    });
    let opts = RunOptions::new()
        .failure_strategy(FailureStrategy::Compensate)
        .cancellation_token(token);
    let start = Instant::now();
    let err = Runtime::default().run(flow, 0, opts).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(err.code(), ErrorCode::Cancelled);
    let report = err.report().unwrap();
    assert_eq!(report.state, WorkflowState::Cancelled);
    assert_eq!(report.step("wait").unwrap().state, StepState::Cancelled);
    assert_eq!(*log.lock().unwrap(), ["undo write 7"]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_run_future_cancels_in_flight_steps() {
    let finished = Arc::new(AtomicUsize::new(0));
    let flow = FlowBuilder::new("dropped")
        .effect(
            "long",
            &[],
            counted_sleep(&finished, Duration::from_secs(10)),
        )
        .build("long")
        .unwrap();
    let rt = Runtime::builder().max_concurrent_workflows(1).build();
    let run = rt.run(flow.clone(), 0, RunOptions::new());
    assert!(
        tokio::time::timeout(Duration::from_secs(1), run)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(count(&finished), 0);
    assert_eq!(rt.running(), 0, "the dropped run gave its slot back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_node_fails_its_step_and_everything_else_goes_on() {
    let flow = FlowBuilder::new("panics")
        .compute("root", &[], |v| Ok(v[0]))
        .compute("explode", &["root"], |v| {
            if v[0] % 2 == 1 {
                panic!("row {} is corrupt", v[0]);
            }
            Ok(v[0])
        })
        .effect("async_explode", &["root"], |v| async move {
            if v[0] == 3 {
                panic!("async failure");
            }
            Ok(v[0])
        })
        .compute("ok", &["root"], |v| Ok(v[0] * 10))
        .build("ok")
        .unwrap();
    let rt = Runtime::default();
    for mode in [
        ExecutionMode::Sequential,
        ExecutionMode::Parallel { max_parallel: 4 },
        ExecutionMode::Batch,
    ] {
        let opts = RunOptions::new()
            .mode(mode)
            .failure_strategy(FailureStrategy::ContinueOnError);
        let run = rt.run(flow.clone(), 3, opts.clone()).await.unwrap();
        assert_eq!(run.output, 30);
        assert_eq!(run.report.state, WorkflowState::PartialSuccess);
        let e = run.report.step("explode").unwrap().error.clone().unwrap();
        assert_eq!(e.code(), ErrorCode::Panicked);
        assert_eq!(e.message(), "step `explode` panicked: row 3 is corrupt");
        let e = run
            .report
            .step("async_explode")
            .unwrap()
            .error
            .clone()
            .unwrap();
        assert_eq!(e.message(), "step `async_explode` panicked: async failure");
        // The runtime carries on with other runs.
        assert_eq!(
            rt.run(flow.clone(), 2, opts).await.unwrap().report.state,
            WorkflowState::Completed
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_circuit_opens_rejects_half_opens_and_closes_across_concurrent_runs() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let (h, c) = (healthy.clone(), calls.clone());
    let flow = FlowBuilder::new("payments")
        .effect("pay", &[], move |v| {
            c.fetch_add(1, Ordering::SeqCst);
            let ok = h.load(Ordering::SeqCst);
            async move {
                if !ok {
                    // A dead gateway answers at once, so failures are recorded as the
                    // runs reach it one after another.
                    return Err(NodeError::transient("gateway down"));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok(v[0])
            }
        })
        .node_type("PaymentGateway")
        .build("pay")
        .unwrap();
    let rt = Runtime::builder()
        .circuit_breaker(
            "PaymentGateway",
            CircuitBreaker::new(3, Duration::from_secs(30)),
        )
        .build();
    let run8 = || {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (rt, flow) = (rt.clone(), flow.clone());
            set.spawn(async move { rt.run(flow, i, RunOptions::new()).await });
        }
        set
    };
    // 8 concurrent runs against a failing service: only the first 3 calls reach it.
    let results = run8().join_all().await;
    assert_eq!(count(&calls), 3);
    let rejected = results
        .iter()
        .filter(|r| r.as_ref().err().map(|e| e.code()) == Some(ErrorCode::CircuitOpen))
        .count();
    assert_eq!(rejected, 5);
    assert_eq!(rt.circuit_state("PaymentGateway"), Some(CircuitState::Open));

    // After the cool-down one probe goes through; the service has recovered, so it closes.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        rt.circuit_state("PaymentGateway"),
        Some(CircuitState::HalfOpen)
    );
    healthy.store(true, Ordering::SeqCst);
    let results = run8().join_all().await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert!(ok >= 1, "the probe succeeded");
    assert_eq!(
        rt.circuit_state("PaymentGateway"),
        Some(CircuitState::Closed { failures: 0 })
    );
    let results = run8().join_all().await;
    assert!(results.iter().all(|r| r.is_ok()));
}

#[tokio::test]
async fn a_cache_hit_skips_the_node_and_failures_are_not_cached() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let flow = FlowBuilder::new("cached")
        .compute("square", &[], move |v| {
            c.fetch_add(1, Ordering::SeqCst);
            if v[0] == 0 {
                Err(NodeError::permanent("zero"))
            } else {
                Ok(v[0] * v[0])
            }
        })
        .policy(StepPolicy::DEFAULT.cache(true))
        .build("square")
        .unwrap();
    let rt = Runtime::default();
    for mode in [
        ExecutionMode::Sequential,
        ExecutionMode::Parallel { max_parallel: 2 },
        ExecutionMode::Batch,
    ] {
        calls.store(0, Ordering::SeqCst);
        let rt = Runtime::default();
        let first = rt
            .run(flow.clone(), 7, RunOptions::new().mode(mode))
            .await
            .unwrap();
        assert_eq!((first.output, first.report.cache_hits), (49, 0));
        let second = rt
            .run(flow.clone(), 7, RunOptions::new().mode(mode))
            .await
            .unwrap();
        assert_eq!((second.output, second.report.cache_hits), (49, 1));
        assert_eq!(count(&calls), 1, "{mode:?}: the hit did not call the node");
    }
    calls.store(0, Ordering::SeqCst);
    rt.run(flow.clone(), 0, RunOptions::new())
        .await
        .unwrap_err();
    rt.run(flow.clone(), 0, RunOptions::new())
        .await
        .unwrap_err();
    assert_eq!(count(&calls), 2, "a failure is never cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_runs_through_eight_slots_complete_without_deadlock() {
    let flow = FlowBuilder::new("load")
        .compute("parse", &[], |v| Ok(v[0] + 1))
        .effect("store", &["parse"], |v| async move {
            tokio::task::yield_now().await;
            Ok(v[0] * 2)
        })
        .compute("left", &["store"], |v| Ok(v[0] + 1))
        .compute("right", &["store"], |v| Ok(v[0] + 2))
        .compute("join", &["left", "right"], |v| Ok(v[0] + v[1]))
        .build("join")
        .unwrap();
    let rt = Runtime::builder().max_concurrent_workflows(8).build();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10_000u64 {
        let (rt, flow) = (rt.clone(), flow.clone());
        let mode = [
            ExecutionMode::Sequential,
            ExecutionMode::Parallel { max_parallel: 2 },
            ExecutionMode::Batch,
        ][i as usize % 3];
        set.spawn(async move {
            rt.run(flow, i, RunOptions::new().mode(mode))
                .await
                .map(|r| (i, r.output))
        });
    }
    let mut done = 0;
    while let Some(r) = set.join_next().await {
        let (i, out) = r.unwrap().unwrap();
        assert_eq!(out, 4 * (i + 1) + 3);
        done += 1;
    }
    assert_eq!(done, 10_000);
    assert!(rt.peak_running() <= 8);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_compensating_run_still_undoes_its_completed_effects() {
    let (flow, log) = write_then_wait();
    let rt = Runtime::default();
    let opts = RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    assert!(
        tokio::time::timeout(Duration::from_secs(1), rt.run(flow.clone(), 0, opts))
            .await
            .is_err()
    );
    tokio::task::yield_now().await;
    assert_eq!(*log.lock().unwrap(), ["undo write 7"]);

    // Without Compensate, dropping undoes nothing.
    let log_before = log.lock().unwrap().len();
    assert!(
        tokio::time::timeout(Duration::from_secs(1), rt.run(flow, 0, RunOptions::new()))
            .await
            .is_err()
    );
    tokio::task::yield_now().await;
    assert_eq!(log.lock().unwrap().len(), log_before);
}
