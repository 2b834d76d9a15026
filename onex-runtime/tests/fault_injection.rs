//! Fault injection: seeded random 20-step workflows with random failures, panics and
//! timeouts, under every failure strategy and mode. Every step ends in exactly one final
//! state, sagas compensate exactly the completed effects, nothing hangs, no panic escapes.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onex_runtime::*;
use support::FlowBuilder;

const STEPS: usize = 20;
const RUNS_PER_STRATEGY: u64 = 1000;

struct Case {
    flow: Arc<support::Flow>,
    /// Per step: how many times its compensation ran (None: no compensation).
    undone: Vec<Option<Arc<AtomicUsize>>>,
}

fn random_case(seed: u64) -> Case {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut b = FlowBuilder::new("chaos");
    let mut undone = Vec::new();
    for i in 0..STEPS {
        let name = format!("s{i}");
        let deps: Vec<String> = if i == 0 {
            vec![]
        } else {
            let n = rng.usize(1..=2.min(i));
            let mut d: Vec<String> = (0..n).map(|_| format!("s{}", rng.usize(0..i))).collect();
            d.dedup();
            d
        };
        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
        let fault = rng.u8(0..100);
        let retries = rng.u32(0..3);
        let mut policy = StepPolicy::DEFAULT
            .retries(retries)
            .backoff(Backoff::fixed(Duration::from_millis(3)));
        let mut undo = None;
        if rng.bool() {
            b = b.compute(&name, &deps, move |v| match fault {
                0..4 => panic!("injected panic"),
                4..10 => Err(NodeError::permanent("injected permanent failure")),
                10..16 => Err(NodeError::transient("injected transient failure")),
                _ => Ok(v.iter().sum::<u64>() + 1),
            });
        } else {
            let sleep = Duration::from_millis(rng.u64(0..20));
            if rng.u8(0..4) == 0 {
                policy = policy.timeout(Duration::from_millis(10));
            }
            let attempts = Arc::new(AtomicUsize::new(0));
            b = b.effect(&name, &deps, move |v| {
                let attempt = attempts.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(sleep).await;
                    match fault {
                        0..4 => panic!("injected async panic"),
                        4..10 => Err(NodeError::permanent("injected permanent failure")),
                        // Transient faults clear up on the second attempt.
                        10..20 if attempt == 0 => {
                            Err(NodeError::transient("injected transient failure"))
                        }
                        _ => Ok(v.iter().sum::<u64>() + 1),
                    }
                }
            });
            if rng.bool() {
                let counter = Arc::new(AtomicUsize::new(0));
                let c = counter.clone();
                b = b.compensate(move |_| {
                    c.fetch_add(1, Ordering::SeqCst);
                    async { Ok(0) }
                });
                undo = Some(counter);
            }
        }
        b = b.policy(policy);
        undone.push(undo);
    }
    let flow = b
        .build(&format!("s{}", STEPS - 1))
        .expect("random flows are DAGs");
    Case { flow, undone }
}

/// Aborts the test process if `done` is not set within a minute of real time: a hung run
/// must fail CI, not stall it.
fn watchdog(what: &'static str) -> Arc<std::sync::atomic::AtomicBool> {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while !d.load(Ordering::SeqCst) {
            if start.elapsed() > Duration::from_secs(60) {
                eprintln!("{what}: a run hung");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    done
}

async fn check_strategy(strategy: FailureStrategy) {
    let done = watchdog("fault injection");
    let rt = Runtime::builder().max_concurrent_workflows(8).build();
    let mut outcomes = [0usize; 3];
    for seed in 0..RUNS_PER_STRATEGY {
        let case = random_case(seed);
        let mode = match seed % 3 {
            0 => ExecutionMode::Sequential,
            1 => ExecutionMode::Parallel { max_parallel: 4 },
            _ => ExecutionMode::Batch,
        };
        let opts = RunOptions::new().mode(mode).failure_strategy(strategy);
        // The clock is paused, and tokio advances it whenever the runtime waits on rayon, so
        // a hang is watched for in real time instead (see `watchdog`).
        let result = rt.run(case.flow.clone(), seed, opts).await;
        let report = match &result {
            Ok(run) => &run.report,
            Err(e) => e.report().expect("a run that started has a report"),
        };
        outcomes[match report.state {
            WorkflowState::Completed => 0,
            WorkflowState::PartialSuccess => 1,
            _ => 2,
        }] += 1;
        assert_eq!(report.steps.len(), STEPS);
        let counted = report.steps_completed
            + report.steps_failed
            + report.steps_skipped
            + report.steps_cancelled;
        assert_eq!(
            counted, STEPS,
            "seed {seed}: every step is in exactly one final state"
        );
        let failed = result.is_err();
        for (i, step) in report.steps.iter().enumerate() {
            assert!(
                matches!(
                    step.state,
                    StepState::Completed
                        | StepState::Failed
                        | StepState::Skipped
                        | StepState::Cancelled
                ),
                "seed {seed}: step {} ended {:?}",
                step.step,
                step.state
            );
            if let Some(counter) = &case.undone[i] {
                let times = counter.load(Ordering::SeqCst);
                let expected = usize::from(
                    strategy == FailureStrategy::Compensate
                        && failed
                        && step.state == StepState::Completed,
                );
                assert_eq!(
                    times, expected,
                    "seed {seed}: step {} compensated {times} times",
                    step.step
                );
            }
        }
        if strategy != FailureStrategy::ContinueOnError {
            assert_ne!(report.state, WorkflowState::PartialSuccess);
        }
    }
    // The faults are frequent enough that every kind of ending happens.
    assert!(
        outcomes[0] > 0 && outcomes[2] > 0,
        "{strategy:?}: {outcomes:?}"
    );
    if strategy == FailureStrategy::ContinueOnError {
        assert!(outcomes[1] > 0, "{outcomes:?}");
    }
    done.store(true, Ordering::SeqCst);
}

#[tokio::test(start_paused = true)]
async fn fail_fast_under_random_faults() {
    check_strategy(FailureStrategy::FailFast).await;
}

#[tokio::test(start_paused = true)]
async fn continue_on_error_under_random_faults() {
    check_strategy(FailureStrategy::ContinueOnError).await;
}

#[tokio::test(start_paused = true)]
async fn compensate_under_random_faults() {
    check_strategy(FailureStrategy::Compensate).await;
}
