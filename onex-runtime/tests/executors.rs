//! The executors' contract (issue: runtime core): same results in every mode, waves,
//! bounded parallelism, failure strategies, conditions, cycles, runtime admission.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onex_runtime::*;
use support::FlowBuilder;

const MODES: [ExecutionMode; 3] = [
    ExecutionMode::Sequential,
    ExecutionMode::Parallel { max_parallel: 3 },
    ExecutionMode::Batch,
];

fn sleeper(ms: u64) -> impl Fn(Vec<u64>) -> support::BoxFut + Send + Sync + 'static {
    move |v: Vec<u64>| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(v.iter().sum::<u64>() + ms)
        })
    }
}

/// A mixed DAG: sync and async steps, fan-out, fan-in, a forward reference.
fn mixed() -> Arc<support::Flow> {
    FlowBuilder::new("mixed")
        .compute("sink", &["left", "right", "extra"], |v| Ok(v.iter().sum()))
        .compute("root", &[], |v| Ok(v[0] + 1))
        .effect("left", &["root"], sleeper(2))
        .compute("right", &["root"], |v| Ok(v[0] * 10))
        .compute("extra", &["right", "left"], |v| Ok(v[0] - v[1] + 100))
        .build("sink")
        .unwrap()
}

/// Thunk structure as step names: each thunk's step and the steps of its dependencies.
fn structure(report: &WorkflowReport) -> Vec<(String, Vec<String>)> {
    let step_of: HashMap<_, _> = report
        .steps
        .iter()
        .flat_map(|s| {
            report.thunks_emitted[s.thunks.clone()]
                .iter()
                .map(move |t| (t.thunk_id, s.step.to_string()))
        })
        .collect();
    let mut out: Vec<_> = report
        .thunks_emitted
        .iter()
        .map(|t| {
            let mut deps: Vec<String> = t.dependencies.iter().map(|d| step_of[d].clone()).collect();
            deps.sort();
            (step_of[&t.thunk_id].clone(), deps)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn every_mode_gives_the_same_output_and_thunk_structure() {
    let rt = Runtime::default();
    let mut seen = Vec::new();
    for mode in MODES {
        let run = rt
            .run(mixed(), 4, RunOptions::new().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.report.state, WorkflowState::Completed);
        assert_eq!(run.report.thunks_emitted.len(), 5);
        assert_eq!(run.report.steps_completed, 5);
        seen.push((run.output, structure(&run.report)));
    }
    // root = 5, left = 7, right = 50, extra = 50 - 7 + 100 = 143, sink = 200
    assert_eq!(seen[0].0, 200);
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    assert_eq!(
        seen[0].1,
        vec![
            (
                "extra".to_string(),
                vec!["left".to_string(), "right".to_string()]
            ),
            ("left".to_string(), vec!["root".to_string()]),
            ("right".to_string(), vec!["root".to_string()]),
            ("root".to_string(), vec![]),
            (
                "sink".to_string(),
                vec!["extra".to_string(), "left".to_string(), "right".to_string()]
            ),
        ]
    );
}

/// A report's records are built when first read (`RecordList`): a copy taken before, a
/// serialized copy and the report itself read the same values, thunk ids included, and
/// they outlive the program they came from.
#[tokio::test]
async fn records_read_later_or_from_a_copy_are_the_same() {
    let rt = Runtime::default();
    for mode in MODES {
        let run = rt
            .run(mixed(), 4, RunOptions::new().mode(mode))
            .await
            .unwrap();
        let report = run.report;
        let copy = report.clone();
        let json = serde_json::to_string(&report).unwrap();
        let back: WorkflowReport = serde_json::from_str(&json).unwrap();
        assert_eq!(copy.thunks_emitted, report.thunks_emitted);
        assert_eq!(copy.steps, report.steps);
        assert_eq!(back, report);
        let mut ids: Vec<_> = report.thunks_emitted.iter().map(|t| t.thunk_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 5, "{mode:?}: every thunk has an id of its own");
        for step in report.steps.iter() {
            assert_eq!(step.state, StepState::Completed);
            assert_eq!((step.attempts, step.calls), (1, 1));
            assert!(step.started <= step.finished);
            assert_eq!(report.thunks_of(&step.step).len(), 1);
        }
        // Another run's thunks have other ids.
        let other = rt
            .run(mixed(), 4, RunOptions::new().mode(mode))
            .await
            .unwrap();
        assert!(
            other
                .report
                .thunks_emitted
                .iter()
                .all(|t| !ids.contains(&t.thunk_id))
        );
    }
}

fn five_sleepers() -> Arc<support::Flow> {
    FlowBuilder::new("tutorial")
        .effect("validate", &[], sleeper(10))
        .effect("fetch", &[], sleeper(10))
        .effect("process", &[], sleeper(15))
        .effect("aggregate", &[], sleeper(10))
        .effect("save", &[], sleeper(10))
        .compute(
            "done",
            &["validate", "fetch", "process", "aggregate", "save"],
            |v| Ok(v.len() as u64),
        )
        .build("done")
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn independent_steps_take_the_longest_in_parallel_and_the_sum_in_sequence() {
    let rt = Runtime::default();
    let start = tokio::time::Instant::now();
    let run = rt
        .run(
            five_sleepers(),
            0,
            RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 5 }),
        )
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(15));
    assert_eq!(run.report.parallel_executions, 5);

    let start = tokio::time::Instant::now();
    let run = rt.run(five_sleepers(), 0, RunOptions::new()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(55));
    assert_eq!(run.report.parallel_executions, 0);
    assert_eq!(run.output, 5);
}

#[tokio::test(start_paused = true)]
async fn max_parallel_bounds_the_wave_in_virtual_time() {
    // Five 10 ms steps, at most two at once: three rounds of 10 ms.
    let rt = Runtime::default();
    let flow = FlowBuilder::new("bounded")
        .effect("a", &[], sleeper(10))
        .effect("b", &[], sleeper(10))
        .effect("c", &[], sleeper(10))
        .effect("d", &[], sleeper(10))
        .effect("e", &[], sleeper(10))
        .compute("sum", &["a", "b", "c", "d", "e"], |v| Ok(v.iter().sum()))
        .build("sum")
        .unwrap();
    let start = tokio::time::Instant::now();
    rt.run(
        flow,
        0,
        RunOptions::new().mode(ExecutionMode::Parallel { max_parallel: 2 }),
    )
    .await
    .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

/// Counts calls in flight and remembers the peak.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }
    fn exit(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_parallel_is_never_exceeded() {
    for max_parallel in [1, 2, 3, 5] {
        let gauge = Arc::new(Gauge::default());
        let mut b = FlowBuilder::new("wide");
        let mut names = Vec::new();
        for i in 0..12 {
            let name = format!("s{i}");
            let g = gauge.clone();
            b = if i % 2 == 0 {
                b.compute(&name, &[], move |v| {
                    g.enter();
                    std::thread::sleep(Duration::from_micros(300));
                    g.exit();
                    Ok(v[0])
                })
            } else {
                b.effect(&name, &[], move |v| {
                    let g = g.clone();
                    async move {
                        g.enter();
                        tokio::time::sleep(Duration::from_micros(300)).await;
                        g.exit();
                        Ok(v[0])
                    }
                })
            };
            names.push(name);
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let flow = b
            .compute("sum", &refs, |v| Ok(v.iter().sum()))
            .build("sum")
            .unwrap();
        for _ in 0..20 {
            let run = Runtime::default()
                .run(
                    flow.clone(),
                    1,
                    RunOptions::new().mode(ExecutionMode::Parallel { max_parallel }),
                )
                .await
                .unwrap();
            assert_eq!(run.output, 12);
        }
        let peak = gauge.peak.load(Ordering::SeqCst);
        assert!(
            peak <= max_parallel,
            "peak {peak} > max_parallel {max_parallel}"
        );
        if max_parallel > 1 {
            assert!(
                peak > 1,
                "steps of a wave did run concurrently (peak {peak})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_bound_compute_steps_use_several_cores() {
    // Two compute steps of one wave each wait until the other is running too: this only
    // finishes quickly if they run at the same time on two threads.
    let arrived = Arc::new(AtomicUsize::new(0));
    let meet = |arrived: Arc<AtomicUsize>| {
        move |v: &[u64]| {
            arrived.fetch_add(1, Ordering::SeqCst);
            let start = std::time::Instant::now();
            while arrived.load(Ordering::SeqCst) < 2 {
                if start.elapsed() > Duration::from_secs(5) {
                    return Err(NodeError::permanent("ran alone"));
                }
                std::hint::spin_loop();
            }
            Ok(v[0])
        }
    };
    let flow = FlowBuilder::new("cores")
        .compute("x", &[], meet(arrived.clone()))
        .compute("y", &[], meet(arrived.clone()))
        .compute("sum", &["x", "y"], |v| Ok(v.iter().sum()))
        .build("sum")
        .unwrap();
    for mode in [
        ExecutionMode::Parallel { max_parallel: 2 },
        ExecutionMode::Batch,
    ] {
        arrived.store(0, Ordering::SeqCst);
        let run = Runtime::default()
            .run(flow.clone(), 3, RunOptions::new().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.output, 6);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_wave_of_one_runs_inline() {
    let driver = std::thread::current().id();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let flow = FlowBuilder::new("solo")
        .compute("only", &[], move |v| {
            s.lock().unwrap().push(std::thread::current().id());
            Ok(v[0])
        })
        .build("only")
        .unwrap();
    rt_run(flow, ExecutionMode::Parallel { max_parallel: 4 }).await;
    assert_eq!(*seen.lock().unwrap(), vec![driver]);
}

async fn rt_run(flow: Arc<support::Flow>, mode: ExecutionMode) -> WorkflowRun<u64> {
    Runtime::default()
        .run(flow, 1, RunOptions::new().mode(mode))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_diamond_runs_in_three_waves() {
    let flow = FlowBuilder::new("diamond")
        .compute("a", &[], |v| Ok(v[0]))
        .effect("b", &["a"], sleeper(1))
        .compute("c", &["a"], |v| Ok(v[0] * 2))
        .compute("d", &["b", "c"], |v| Ok(v[0] + v[1]))
        .build("d")
        .unwrap();
    let names = |w: &[usize]| w.iter().map(|&s| flow_name(&flow, s)).collect::<Vec<_>>();
    let waves: Vec<_> = flow.graph().waves().map(names).collect();
    assert_eq!(waves, vec![vec!["a"], vec!["b", "c"], vec!["d"]]);
    for mode in MODES {
        let run = rt_run(flow.clone(), mode).await;
        let r = |n: &str| run.report.step(n).unwrap().clone();
        assert_eq!(
            (r("a").wave, r("b").wave, r("c").wave, r("d").wave),
            (0, 1, 1, 2)
        );
        // Each wave starts after the previous one finished.
        assert!(r("b").started >= r("a").finished && r("c").started >= r("a").finished);
        assert!(r("d").started >= r("b").finished && r("d").started >= r("c").finished);
        let expected_parallel = if mode == ExecutionMode::Sequential {
            0
        } else {
            2
        };
        assert_eq!(
            run.report.parallel_executions, expected_parallel,
            "{mode:?}"
        );
    }
}

fn flow_name(flow: &support::Flow, step: usize) -> String {
    flow.graph().step(step).name.to_string()
}

fn failing_branch() -> Arc<support::Flow> {
    FlowBuilder::new("branches")
        .compute("root", &[], |v| Ok(v[0]))
        .compute("bad", &["root"], |_| Err(NodeError::permanent("boom")))
        .compute("after_bad", &["bad"], |v| Ok(v[0]))
        .compute("good", &["root"], |v| Ok(v[0] + 1))
        .compute("after_good", &["good"], |v| Ok(v[0] + 1))
        .build("after_good")
        .unwrap()
}

#[tokio::test]
async fn continue_on_error_gives_partial_success() {
    for mode in MODES {
        let opts = RunOptions::new()
            .mode(mode)
            .failure_strategy(FailureStrategy::ContinueOnError);
        let run = Runtime::default()
            .run(failing_branch(), 1, opts)
            .await
            .unwrap();
        let report = &run.report;
        assert_eq!(run.output, 3);
        assert_eq!(report.state, WorkflowState::PartialSuccess, "{mode:?}");
        assert_eq!(report.step("bad").unwrap().state, StepState::Failed);
        assert_eq!(report.step("after_bad").unwrap().state, StepState::Skipped);
        assert_eq!(
            report.step("after_bad").unwrap().skip_reason,
            Some(SkipReason::InputNotProduced { step: "bad".into() })
        );
        assert_eq!(
            report.step("after_good").unwrap().state,
            StepState::Completed
        );
        assert_eq!(
            (
                report.steps_completed,
                report.steps_failed,
                report.steps_skipped
            ),
            (3, 1, 1)
        );
    }
}

#[tokio::test]
async fn continue_on_error_fails_when_the_output_is_downstream_of_a_failure() {
    let flow = FlowBuilder::new("doomed")
        .compute("bad", &[], |_| Err(NodeError::permanent("boom")))
        .compute("out", &["bad"], |v| Ok(v[0]))
        .build("out")
        .unwrap();
    let opts = RunOptions::new().failure_strategy(FailureStrategy::ContinueOnError);
    let err = Runtime::default().run(flow, 1, opts).await.unwrap_err();
    assert_eq!(err.report().unwrap().state, WorkflowState::Failed);
    assert_eq!(err.failed_step(), Some("bad"));
}

#[tokio::test]
async fn fail_fast_stops_at_the_failure_and_carries_the_report() {
    for mode in MODES {
        let err = Runtime::default()
            .run(failing_branch(), 1, RunOptions::new().mode(mode))
            .await
            .unwrap_err();
        assert_eq!(err.failed_step(), Some("bad"));
        assert_eq!(err.node_error().unwrap().message(), "boom");
        assert_eq!(err.code(), ErrorCode::OperationFailed);
        let report = err.report().unwrap();
        assert_eq!(report.state, WorkflowState::Failed);
        assert_eq!(report.step("bad").unwrap().state, StepState::Failed);
        // Nothing after the failure started.
        assert_eq!(
            report.step("after_bad").unwrap().state,
            StepState::Cancelled
        );
        assert_eq!(
            report.step("after_good").unwrap().state,
            StepState::Cancelled
        );
        for s in &report.steps {
            assert!(s.state.is_final(), "{} ended {:?}", s.step, s.state);
        }
    }
}

#[tokio::test]
async fn a_false_condition_skips_the_step_and_its_dependents() {
    let build = |threshold: u64| {
        FlowBuilder::new("quality")
            .compute("score", &[], |v| Ok(v[0]))
            .compute("fast", &["score"], |v| Ok(v[0] * 100))
            .when(&["score"], move |v| v[0] >= threshold)
            .compute("after_fast", &["fast"], |v| Ok(v[0] + 1))
            .compute("full", &["score"], |v| Ok(v[0]))
            .build("full")
            .unwrap()
    };
    for mode in MODES {
        let run = rt_run(build(5), mode).await;
        assert_eq!(run.report.step("fast").unwrap().state, StepState::Skipped);
        assert_eq!(
            run.report.step("fast").unwrap().skip_reason,
            Some(SkipReason::ConditionFalse)
        );
        assert_eq!(
            run.report.step("after_fast").unwrap().state,
            StepState::Skipped
        );
        assert_eq!(run.report.state, WorkflowState::Completed);
        let run = rt_run(build(0), mode).await;
        assert_eq!(
            run.report.step("after_fast").unwrap().state,
            StepState::Completed
        );
    }
}

#[tokio::test]
async fn a_skipped_output_is_an_error() {
    let flow = FlowBuilder::new("gate")
        .compute("x", &[], |v| Ok(v[0]))
        .compute("out", &["x"], |v| Ok(v[0]))
        .when(&["x"], |_| false)
        .build("out")
        .unwrap();
    let err = Runtime::default()
        .run(flow, 1, RunOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::OutputSkipped { .. }), "{err}");
}

#[tokio::test]
async fn a_cycle_built_at_run_time_is_rejected_before_any_step_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = |calls: Arc<AtomicUsize>| {
        move |v: &[u64]| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(v[0])
        }
    };
    let err = FlowBuilder::new("loop")
        .compute("start", &[], counted(calls.clone()))
        .compute("a", &["start", "c"], counted(calls.clone()))
        .compute("b", &["a"], counted(calls.clone()))
        .compute("c", &["b"], counted(calls.clone()))
        .build("c")
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "cycle in workflow `loop`: a -> b -> c -> a"
    );
    assert_eq!(err.code(), ErrorCode::CycleDetected);
    let GraphError::Cycle { steps, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(steps, &["a", "b", "c"]);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let as_run_error = WorkflowError::from(err);
    assert_eq!(as_run_error.code(), ErrorCode::CycleDetected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_runs_share_a_runtime_at_most_four_at_once() {
    let rt = Runtime::builder().max_concurrent_workflows(4).build();
    let gauge = Arc::new(Gauge::default());
    let g = gauge.clone();
    let flow = FlowBuilder::new("shared")
        .effect("work", &[], move |v| {
            let g = g.clone();
            async move {
                g.enter();
                tokio::task::yield_now().await;
                g.exit();
                Ok(v[0] * 2)
            }
        })
        .compute("out", &["work"], |v| Ok(v[0] + 1))
        .build("out")
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000u64 {
        let (rt, flow) = (rt.clone(), flow.clone());
        tasks.spawn(async move {
            rt.run(flow, i, RunOptions::new())
                .await
                .map(|r| (i, r.output))
        });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        let (i, out) = result.unwrap().unwrap();
        assert_eq!(out, i * 2 + 1);
        done += 1;
    }
    assert_eq!(done, 1000);
    assert!(rt.peak_running() <= 4, "peak {}", rt.peak_running());
    assert!(gauge.peak.load(Ordering::SeqCst) <= 4);
    assert_eq!(rt.running(), 0);
}

#[tokio::test]
async fn reports_serialize_and_thunks_carry_step_settings() {
    let flow = FlowBuilder::new("settings")
        .compute("a", &[], |v| Ok(v[0]))
        .policy(
            StepPolicy::DEFAULT
                .retries(2)
                .priority(3)
                .timeout(Duration::from_millis(250)),
        )
        .build("a")
        .unwrap();
    let run = rt_run(flow, ExecutionMode::Sequential).await;
    let thunk = &run.report.thunks_emitted[0];
    assert_eq!(
        (thunk.retry_count, thunk.priority, thunk.timeout),
        (2, 3, Some(Duration::from_millis(250)))
    );
    assert_eq!(thunk.thunk_type, ThunkType::Compute);
    assert_eq!(thunk.thunk_id.get_version_num(), 4);
    let json = serde_json::to_value(&run.report).unwrap();
    assert_eq!(json["state"], "COMPLETED");
    assert_eq!(json["thunks_emitted"][0]["timeout_ms"], 250.0);
    let back: WorkflowReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, run.report);
}

#[tokio::test]
async fn records_off_keeps_counters_only() {
    let run = Runtime::default()
        .run(mixed(), 4, RunOptions::new().records(false))
        .await
        .unwrap();
    assert_eq!(run.output, 200);
    assert!(!run.report.records);
    assert!(run.report.thunks_emitted.is_empty() && run.report.steps.is_empty());
    assert_eq!(run.report.steps_completed, 5);
}

#[tokio::test]
async fn run_batch_returns_one_result_per_input_in_order() {
    let flow = FlowBuilder::new("batch")
        .compute("double", &[], |v| Ok(v[0] * 2))
        .compute("check", &["double"], |v| {
            if v[0] == 14 {
                Err(NodeError::permanent("seven is unlucky"))
            } else {
                Ok(v[0] + 1)
            }
        })
        .build("check")
        .unwrap();
    let results = Runtime::default()
        .run_batch(flow, (0..10).collect(), RunOptions::new())
        .await;
    assert_eq!(results.len(), 10);
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(run) => {
                assert_eq!(run.output, i as u64 * 2 + 1);
                assert_eq!(run.report.load_balanced_operations, 2);
            }
            Err(e) => {
                assert_eq!(i, 7);
                assert_eq!(e.failed_step(), Some("check"));
            }
        }
    }
}

#[tokio::test]
async fn every_input_of_a_large_fused_batch_is_its_own_run() {
    // Many more inputs than one rayon job takes: each job reuses its shared part from one
    // input to the next, and none of an input's identity or failure may leak into the next.
    let flow = FlowBuilder::new("ids")
        .compute("double", &[], |v| Ok(v[0] * 2))
        .compute("check", &["double"], |v| {
            if v[0] % 14 == 0 {
                Err(NodeError::permanent("a multiple of seven"))
            } else {
                Ok(v[0] + 1)
            }
        })
        .build("check")
        .unwrap();
    let first = uuid::Uuid::new_v4();
    let correlation = uuid::Uuid::new_v4();
    let opts = RunOptions::new()
        .workflow_id(first)
        .operation_id(correlation);
    let results = Runtime::default()
        .run_batch(flow, (0..5_000).collect(), opts)
        .await;
    assert_eq!(results.len(), 5_000);
    let mut ids = std::collections::HashSet::new();
    for (i, r) in results.iter().enumerate() {
        let report = match r {
            Ok(run) => {
                assert_ne!(i % 7, 0, "input {i} should have failed");
                assert_eq!(run.output, i as u64 * 2 + 1);
                &run.report
            }
            Err(e) => {
                assert_eq!(i % 7, 0, "input {i} failed: {e}");
                assert_eq!(e.failed_step(), Some("check"));
                e.report().unwrap()
            }
        };
        assert_eq!(report.operation_id, correlation);
        assert_eq!(report.workflow_id == first, i == 0);
        assert!(ids.insert(report.workflow_id), "input {i} reuses a run id");
    }
}

/// A chain with a failure and a panic in it, beside a branch that completes; `gate` adds a
/// step skipped by its condition, and one after it.
fn rough_chain(gate: bool) -> Arc<support::Flow> {
    let mut flow = FlowBuilder::new("rough")
        .compute("root", &[], |v| Ok(v[0]))
        .compute("bad", &["root"], |_| Err(NodeError::permanent("boom")))
        .compute("after_bad", &["bad"], |v| Ok(v[0]))
        .compute("panics", &["root"], |_| panic!("row 7 is malformed"))
        .compute("after_panic", &["panics"], |v| Ok(v[0]))
        .compute("good", &["root"], |v| Ok(v[0] + 1));
    if gate {
        flow = flow
            .compute("gated", &["good"], |v| Ok(v[0]))
            .when(&["good"], |_| false)
            .compute("after_gated", &["gated"], |v| Ok(v[0]));
    }
    flow.compute("after_good", &["good"], |v| Ok(v[0] + 1))
        .build("after_good")
        .unwrap()
}

/// The report of a run that succeeded or failed.
fn report_of(r: &Result<WorkflowRun<u64>, WorkflowError>) -> WorkflowReport {
    match r {
        Ok(run) => run.report.clone(),
        Err(e) => e.report().unwrap().clone(),
    }
}

/// What a report says of each step, without times and ids.
fn step_facts(report: &WorkflowReport) -> Vec<String> {
    let mut facts: Vec<String> = report
        .steps
        .iter()
        .map(|s| {
            format!(
                "{} {:?} attempts={} calls={} thunks={} failed={:?} skip={:?} error={:?}",
                s.step,
                s.state,
                s.attempts,
                s.calls,
                s.thunks.len(),
                s.failed_attempts
                    .iter()
                    .map(|a| (a.attempt, a.error.code()))
                    .collect::<Vec<_>>(),
                s.skip_reason,
                s.error
                    .as_ref()
                    .map(|e| (e.code(), e.message().to_string())),
            )
        })
        .collect();
    facts.push(format!(
        "completed={} failed={} skipped={} cancelled={} state={:?} thunks={}",
        report.steps_completed,
        report.steps_failed,
        report.steps_skipped,
        report.steps_cancelled,
        report.state,
        report.thunks_emitted.len()
    ));
    facts
}

#[tokio::test]
async fn sequential_runs_of_plain_steps_report_what_the_general_path_reports() {
    // With an observer every step takes the general path; without one, plain steps run
    // back to back. Both must end every step the same way, with the same records.
    let rt = Runtime::default();
    for strategy in [FailureStrategy::ContinueOnError, FailureStrategy::FailFast] {
        for records in [true, false] {
            let opts = || {
                RunOptions::new()
                    .mode(ExecutionMode::Sequential)
                    .failure_strategy(strategy)
                    .records(records)
            };
            let direct = rt.run(rough_chain(true), 1, opts()).await;
            let general = rt
                .run(
                    rough_chain(true),
                    1,
                    opts().observer(Arc::new(|_: &RunEvent<'_>| {})),
                )
                .await;
            let (d, g) = (report_of(&direct), report_of(&general));
            assert_eq!(
                step_facts(&d),
                step_facts(&g),
                "{strategy:?} records {records}"
            );
            assert_eq!(structure(&d), structure(&g));
            assert_eq!(
                direct.as_ref().map(|r| r.output).ok(),
                general.as_ref().map(|r| r.output).ok()
            );
            if strategy == FailureStrategy::ContinueOnError {
                assert_eq!(direct.unwrap().output, 3);
                assert_eq!(
                    (d.steps_completed, d.steps_failed, d.steps_skipped),
                    (3, 2, 4)
                );
            } else {
                assert_eq!(direct.unwrap_err().failed_step(), Some("bad"));
            }
        }
    }
}

#[tokio::test]
async fn a_batch_of_plain_steps_reports_what_the_lock_step_path_reports() {
    // Without an observer, a batch whose steps are all plain runs each input start to end
    // on a rayon worker; with one, the inputs advance in lock-step. Same reports.
    let rt = Runtime::default();
    for strategy in [FailureStrategy::ContinueOnError, FailureStrategy::FailFast] {
        for records in [true, false] {
            let opts = || {
                RunOptions::new()
                    .failure_strategy(strategy)
                    .records(records)
            };
            let inputs: Vec<u64> = (0..40).collect();
            let fused = rt
                .run_batch(rough_chain(false), inputs.clone(), opts())
                .await;
            let observer = Arc::new(|_: &RunEvent<'_>| {});
            let lockstep = rt
                .run_batch(rough_chain(false), inputs, opts().observer(observer))
                .await;
            assert_eq!(fused.len(), 40);
            for (f, l) in fused.iter().zip(&lockstep) {
                let (f_report, l_report) = (report_of(f), report_of(l));
                assert_eq!(step_facts(&f_report), step_facts(&l_report));
                assert_eq!(structure(&f_report), structure(&l_report));
                assert_eq!(
                    f_report.load_balanced_operations,
                    l_report.load_balanced_operations
                );
                assert_eq!(
                    f.as_ref().map(|r| r.output).ok(),
                    l.as_ref().map(|r| r.output).ok()
                );
                if strategy == FailureStrategy::ContinueOnError {
                    assert_eq!(
                        (
                            f_report.steps_completed,
                            f_report.steps_failed,
                            f_report.steps_skipped
                        ),
                        (3, 2, 2)
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_batch_of_plain_steps_stops_on_cancellation_and_deadline() {
    let flow = || {
        FlowBuilder::new("plain")
            .compute("a", &[], |v| Ok(v[0] + 1))
            .compute("b", &["a"], |v| Ok(v[0] * 2))
            .build("b")
            .unwrap()
    };
    let rt = Runtime::default();
    let token = tokio_util::sync::CancellationToken::new();
    token.cancel();
    let results = rt
        .run_batch(
            flow(),
            (0..8).collect(),
            RunOptions::new().cancellation_token(token),
        )
        .await;
    for r in &results {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");
        assert_eq!(e.report().unwrap().steps_completed, 0);
    }
    let results = rt
        .run_batch(
            flow(),
            (0..8).collect(),
            RunOptions::new().timeout(Duration::ZERO),
        )
        .await;
    for r in &results {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.code(), ErrorCode::Timeout, "{e}");
        assert_eq!(e.report().unwrap().state, WorkflowState::Cancelled);
    }
    // And with time to spare, the same batch completes.
    let results = rt
        .run_batch(
            flow(),
            (0..8).collect(),
            RunOptions::new().timeout(Duration::from_secs(60)),
        )
        .await;
    let outputs: Vec<u64> = results.into_iter().map(|r| r.unwrap().output).collect();
    assert_eq!(outputs, (0..8).map(|i| (i + 1) * 2).collect::<Vec<_>>());
}

#[test]
fn a_wave_of_plain_steps_keeps_to_its_bound_on_a_larger_pool() {
    // A `Parallel` wave of plain steps runs as one rayon job (no observer): on a pool of
    // more threads than `max_parallel`, it must still make at most that many calls at once;
    // `Batch` has no bound but the pool's.
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let gauge = |in_flight: Arc<AtomicUsize>, most: Arc<AtomicUsize>| {
        move |v: &[u64]| {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // Long enough for the other workers to take their calls meanwhile.
            std::thread::sleep(Duration::from_millis(5));
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(v[0])
        }
    };
    let mut flow = FlowBuilder::new("gauged").compute("root", &[], |v| Ok(v[0]));
    let names: Vec<String> = (0..12).map(|i| format!("g{i}")).collect();
    for name in &names {
        flow = flow.compute(name, &["root"], gauge(in_flight.clone(), most.clone()));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let flow = flow
        .compute("sum", &refs, |v| Ok(v.iter().sum()))
        .build("sum")
        .unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    pool.install(|| {
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio.block_on(async {
            let rt = Runtime::default();
            for (mode, bound) in [
                (ExecutionMode::Parallel { max_parallel: 2 }, 2),
                (ExecutionMode::Batch, 4),
            ] {
                most.store(0, Ordering::SeqCst);
                let run = rt
                    .run(flow.clone(), 1, RunOptions::new().mode(mode))
                    .await
                    .unwrap();
                assert_eq!(run.output, 12);
                assert_eq!(run.report.parallel_executions, 12);
                let most = most.load(Ordering::SeqCst);
                assert!(most <= bound, "{mode:?}: {most} calls at once");
                assert!(most >= 2, "{mode:?}: the calls ran one at a time");
            }
        });
    });
}
