//! Specs run on the `Runtime`: every mode, every failure strategy, the same report as a
//! static workflow. These need the executor (`Runtime::run`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use common::{ETL_INPUT_YAML, ETL_YAML, SALES_JSON, TWO_SOURCES_JSON, etl};
use onex_runtime::{
    Context, ErrorCode, ExecutionMode, FailureStrategy, NodeError, Runtime, StepState,
    WorkflowState,
};
use onex_spec::{NodeRegistry, WorkflowSpec};
use serde_json::{Value, json};

const MODES: [ExecutionMode; 3] = [
    ExecutionMode::Sequential,
    ExecutionMode::Parallel { max_parallel: 2 },
    ExecutionMode::Batch,
];

#[tokio::test]
async fn the_etl_spec_gives_the_same_output_in_every_mode() {
    let rt = Runtime::default();
    let wf = etl::registry().load_yaml(ETL_YAML).unwrap();
    let mut outputs = Vec::new();
    for mode in MODES {
        let run = wf.run(&rt, wf.run_options().mode(mode)).await.unwrap();
        let report = &run.report;
        assert_eq!(report.workflow, "etl");
        assert_eq!(report.mode, mode);
        assert_eq!(report.state, WorkflowState::Completed);
        assert_eq!(report.steps_completed, 7);
        assert_eq!(report.thunks_emitted.len(), 7);
        assert_eq!(report.metadata["data_source"], "sales.csv");
        assert_eq!(
            report.step("records").unwrap().node_type,
            "NodeDataFetcherEffect"
        );
        outputs.push(run.output);
    }
    let totals: etl::Totals = serde_json::from_value(outputs[0].clone()).unwrap();
    assert_eq!(totals.count, 3);
    assert!(outputs.iter().all(|o| *o == outputs[0]));
}

#[tokio::test]
async fn the_spec_settings_reach_the_report() {
    let rt = Runtime::default();
    let wf = etl::registry().load_json(TWO_SOURCES_JSON).unwrap();
    let run = wf.run(&rt, wf.run_options()).await.unwrap();
    assert_eq!(run.report.mode, ExecutionMode::Batch);
    assert_eq!(
        run.report.failure_strategy,
        FailureStrategy::ContinueOnError
    );
    assert_eq!(run.output["count"], 3);
}

#[tokio::test]
async fn a_false_condition_skips_the_step() {
    let mut spec = WorkflowSpec::from_yaml(ETL_YAML).unwrap();
    spec.steps[4].condition.as_mut().unwrap().value = json!(2.0);
    let wf = etl::registry().load(spec).unwrap();
    let run = wf.run(&Runtime::default(), wf.run_options()).await.unwrap();
    assert_eq!(run.report.steps_skipped, 1);
    assert_eq!(run.report.step("fast").unwrap().state, StepState::Skipped);
}

#[tokio::test]
async fn captured_inputs_are_the_node_arguments() {
    let wf = etl::registry().load_yaml(ETL_YAML).unwrap();
    let run = wf
        .run(&Runtime::default(), wf.run_options().capture_inputs(true))
        .await
        .unwrap();
    let clean = run.report.step("clean").unwrap().thunks.start;
    let thunk = &run.report.thunks_emitted[clean];
    assert_eq!(thunk.operation_data.as_array().unwrap().len(), 3);
}

fn flaky_registry(failures: u32, calls: Arc<AtomicU32>) -> NodeRegistry {
    let mut registry = etl::registry();
    registry.effect("NodeFlaky", move |_ctx: Context, n: i64| {
        let calls = calls.clone();
        async move {
            if calls.fetch_add(1, Ordering::SeqCst) < failures {
                Err(NodeError::transient("busy"))
            } else {
                Ok(n + 1)
            }
        }
    });
    registry
}

const FLAKY: &str = r#"
workflow_id: flaky
steps:
  - step_id: s
    thunks:
      - { thunk_id: a, target_node_type: NodeFlaky, operation_data: 1, retry_count: 3 }
output: a
"#;

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_up_to_retry_count() {
    let calls = Arc::new(AtomicU32::new(0));
    let wf = flaky_registry(2, calls.clone()).load_yaml(FLAKY).unwrap();
    let run = wf.run(&Runtime::default(), wf.run_options()).await.unwrap();
    assert_eq!(run.output, json!(2));
    assert_eq!(run.report.step("a").unwrap().attempts, 3);

    let calls = Arc::new(AtomicU32::new(0));
    let wf = flaky_registry(10, calls.clone()).load_yaml(FLAKY).unwrap();
    let e = wf
        .run(&Runtime::default(), wf.run_options())
        .await
        .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(e.failed_step(), Some("a"));
}

/// The ETL spec with a failing node after `saved`, which depends on it.
fn failing_after_save(strategy: &str) -> (WorkflowSpec, NodeRegistry, Arc<AtomicUsize>) {
    let undone = Arc::new(AtomicUsize::new(0));
    let mut registry = etl::registry();
    let counter = undone.clone();
    registry
        .effect_compensated(
            "NodeDatabaseWriter",
            etl::save,
            move |_ctx: Context, _saved: etl::Saved| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            },
        )
        .compute("NodeBroken", |_: &Value| -> Result<Value, NodeError> {
            Err(NodeError::permanent("broken"))
        });
    let mut spec = WorkflowSpec::from_yaml(ETL_YAML).unwrap();
    spec.failure_strategy = serde_json::from_value(json!(strategy)).unwrap();
    let mut broken = spec.steps[5].thunks[0].clone();
    broken.thunk_id = "notify".into();
    broken.target_node_type = "NodeBroken".into();
    broken.thunk_type = None;
    broken.dependencies = vec!["saved".into()];
    spec.steps[5].thunks.push(broken);
    (spec, registry, undone)
}

#[tokio::test]
async fn fail_fast_reports_the_failing_thunk() {
    let (spec, registry, undone) = failing_after_save("fail_fast");
    let wf = registry.load(spec).unwrap();
    let e = wf
        .run(&Runtime::default(), wf.run_options())
        .await
        .unwrap_err();
    assert_eq!(e.failed_step(), Some("notify"));
    assert_eq!(e.code(), ErrorCode::OperationFailed);
    assert_eq!(e.report().unwrap().state, WorkflowState::Failed);
    assert_eq!(undone.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn continue_on_error_keeps_the_output() {
    let (spec, registry, _) = failing_after_save("continue_on_error");
    let wf = registry.load(spec).unwrap();
    let run = wf.run(&Runtime::default(), wf.run_options()).await.unwrap();
    assert_eq!(run.report.state, WorkflowState::PartialSuccess);
    assert_eq!(run.report.steps_failed, 1);
    assert_eq!(run.output["count"], 3);
}

#[tokio::test]
async fn compensate_undoes_completed_effects() {
    let (spec, registry, undone) = failing_after_save("compensate");
    let wf = registry.load(spec).unwrap();
    let e = wf
        .run(&Runtime::default(), wf.run_options())
        .await
        .unwrap_err();
    assert_eq!(undone.load(Ordering::SeqCst), 1);
    assert_eq!(e.report().unwrap().compensations_run, 1);
}

#[tokio::test]
async fn extreme_settings_do_not_panic() {
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Double", |n: &i64| n * 2);
    let wf = registry
        .load_json(&format!(
            r#"{{"workflow_id": "w", "max_parallel_steps": {}, "execution_mode": "parallel",
              "steps": [{{"step_id": "s", "thunks": [
                {{"thunk_id": "a", "target_node_type": "Double", "operation_data": 1,
                  "timeout_ms": {}, "priority": {}, "retry_count": {}}}]}}],
              "output": "a"}}"#,
            usize::MAX,
            u64::MAX,
            i32::MIN,
            u32::MAX
        ))
        .unwrap();
    let run = wf.run(&Runtime::default(), wf.run_options()).await.unwrap();
    assert_eq!(run.output, json!(2));
}

async fn save_by_ref(ctx: &Context, total: &i64) -> Result<String, NodeError> {
    tokio::task::yield_now().await;
    Ok(format!("{}: saved {total}", ctx.workflow()))
}

#[tokio::test]
async fn effects_written_like_static_nodes_run_in_every_mode() {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Double", |n: &i64| n * 2)
        .effect_ref("NodeSave", save_by_ref);
    let wf = registry
        .load_yaml(
            r#"
workflow_id: by_ref
steps:
  - step_id: s
    thunks:
      - { thunk_id: a, target_node_type: Double, operation_data: 21 }
      - { thunk_id: saved, target_node_type: NodeSave, dependencies: [a] }
output: saved
"#,
        )
        .unwrap();
    for mode in MODES {
        let run = wf
            .run(&Runtime::default(), wf.run_options().mode(mode))
            .await
            .unwrap();
        assert_eq!(run.output, json!("by_ref: saved 42"));
    }
}

#[tokio::test]
async fn compute_thunks_are_cached_by_input_when_asked() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Square", move |n: &i64| {
        counter.fetch_add(1, Ordering::SeqCst);
        n * n
    });
    let wf = registry
        .load_yaml(
            r#"
workflow_id: cached
steps:
  - step_id: s
    thunks:
      - { thunk_id: a, target_node_type: Square, operation_data: 12 }
output: a
"#,
        )
        .unwrap();
    let rt = Runtime::default();
    for _ in 0..3 {
        let run = wf.run(&rt, wf.run_options().cache(true)).await.unwrap();
        assert_eq!(run.output, json!(144));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cached_thunks_whose_inputs_collide_each_get_their_own_output() {
    /// Every input hashes alike.
    #[derive(Default)]
    struct Collide;
    impl std::hash::Hasher for Collide {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, _: &[u8]) {}
    }
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Square", |n: &i64| n * n);
    let spec = |n: i64| {
        registry
            .load_json(
                &json!({
                    "workflow_id": "collide", "output": "a",
                    "steps": [{"step_id": "s", "thunks": [
                        {"thunk_id": "a", "target_node_type": "Square", "operation_data": n}
                    ]}]
                })
                .to_string(),
            )
            .unwrap()
    };
    let rt = Runtime::builder()
        .cache_hasher(std::hash::BuildHasherDefault::<Collide>::default())
        .build();
    for (n, square, hits) in [(12, 144, 0), (13, 169, 0), (13, 169, 1), (12, 144, 0)] {
        let wf = spec(n);
        let run = wf.run(&rt, wf.run_options().cache(true)).await.unwrap();
        assert_eq!(
            (run.output, run.report.cache_hits),
            (json!(square), hits),
            "{n}"
        );
    }
}

#[tokio::test]
async fn one_spec_runs_over_many_inputs_in_a_batch() {
    let wf = etl::registry().load_yaml(ETL_INPUT_YAML).unwrap();
    let sales: Value = serde_json::from_str(SALES_JSON).unwrap();
    let rt = Runtime::default();
    let single = wf
        .run_on(&rt, sales.clone(), wf.run_options())
        .await
        .unwrap();
    assert_eq!(single.output["count"], 3);

    let inputs: Vec<Value> = (1..=4)
        .map(|n| {
            let mut batch = sales.clone();
            batch["rows"] = json!(
                (0..n)
                    .map(|i| json!({ "id": i, "region": "north", "amount": 1.0 }))
                    .collect::<Vec<_>>()
            );
            batch
        })
        .collect();
    let runs = wf.run_batch(&rt, inputs, wf.run_options()).await;
    let counts: Vec<Value> = runs
        .into_iter()
        .map(|r| r.unwrap().output["count"].clone())
        .collect();
    assert_eq!(counts, [json!(1), json!(2), json!(3), json!(4)]);
}
