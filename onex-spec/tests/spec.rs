//! Parsing and validating workflow specs, and the spec program driven on its own.

mod common;

use common::{ETL_INPUT_YAML, ETL_YAML, SALES_JSON, TWO_SOURCES_JSON, drive, drive_on, etl};
use onex_runtime::{ErrorCode, ExecutionMode, FailureStrategy, NodeKind, Program};
use onex_spec::{NodeRegistry, SpecErrorKind, SpecMode, WorkflowSpec};
use serde_json::json;

/// A spec with one mistake of (almost) every kind.
const BAD: &str = r#"{
  "workflow_id": "etl",
  "max_parallel_steps": 0,
  "steps": [
    { "step_id": "load", "thunks": [
      { "thunk_id": "valid", "target_node_type": "NodeDataValidatr",
        "operation_data": { "source": "s", "rows": [] } },
      { "thunk_id": "records", "thunk_type": "COMPUTE", "target_node_type": "NodeDataFetcherEffect",
        "dependencies": ["valid", "clean"] }
    ]},
    { "step_id": "load", "thunks": [
      { "thunk_id": "clean", "target_node_type": "NodeDataTransformer", "dependencies": ["records"] },
      { "thunk_id": "clean", "target_node_type": "NodeDataTransformer", "dependencies": ["recrods"] },
      { "thunk_id": "check", "target_node_type": "NodeDataValidator",
        "operation_data": { "source": "s", "rows": [ { "id": "one", "region": "n", "amount": 1 } ] },
        "timeout_ms": 0 }
    ]},
    { "step_id": "maybe", "condition": { "thunk": "qualty", "pointer": "score", "op": "ge", "value": 0.9 },
      "thunks": [ { "thunk_id": "fast", "target_node_type": "NodeFastTrack", "dependencies": ["clean"] } ] }
  ]
}"#;

#[test]
fn every_mistake_is_reported_at_once_with_its_location() {
    let spec = WorkflowSpec::from_json(BAD).unwrap();
    let errors = etl::registry().load(spec).unwrap_err();
    let shown = errors.to_string();
    println!("{shown}");
    let found: Vec<(SpecErrorKind, &str)> = errors
        .iter()
        .map(|e| (e.kind, e.location.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (SpecErrorKind::InvalidSetting, "max_parallel_steps"),
            (SpecErrorKind::DuplicateId, "steps[1].step_id"),
            (SpecErrorKind::DuplicateId, "steps[1].thunks[1].thunk_id"),
            (
                SpecErrorKind::UnknownNodeType,
                "steps[0].thunks[0].target_node_type"
            ),
            (
                SpecErrorKind::ThunkTypeMismatch,
                "steps[0].thunks[1].thunk_type"
            ),
            (
                SpecErrorKind::MissingThunk,
                "steps[1].thunks[1].dependencies[0]"
            ),
            (
                SpecErrorKind::InvalidOperationData,
                "steps[1].thunks[2].operation_data.rows[0].id"
            ),
            (
                SpecErrorKind::InvalidSetting,
                "steps[1].thunks[2].timeout_ms"
            ),
            (
                SpecErrorKind::InvalidCondition,
                "steps[2].condition.pointer"
            ),
            (SpecErrorKind::MissingThunk, "steps[2].condition.thunk"),
            (SpecErrorKind::MissingOutput, "output"),
            (SpecErrorKind::Cycle, "steps[0].thunks[1].dependencies"),
        ]
    );
    assert!(
        shown.starts_with("invalid workflow spec `etl` (12 errors):"),
        "{shown}"
    );
    for needle in [
        "unknown node type `NodeDataValidatr`; did you mean `NodeDataValidator`?",
        "dependency `recrods` names no thunk of this spec; did you mean `records`?",
        "condition thunk `qualty` names no thunk",
        "duplicate thunk id `clean` (first used by steps[1].thunks[0])",
        "is COMPUTE, but `NodeDataFetcherEffect` is an effect node (EFFECT)",
        "cycle: records -> clean -> records",
        "invalid type: string \"one\", expected u64",
    ] {
        assert!(shown.contains(needle), "missing {needle:?} in\n{shown}");
    }
    assert_eq!(errors.code(), ErrorCode::InvalidWorkflow);
}

/// Shape mistakes (found while parsing) and registry mistakes (found on what parsed).
const BAD_YAML: &str = r#"
workflow_id: etl
execution_mode: paralel
max_parallel_steps: 0
steps:
  - step_id: ingest
    thunks:
      - thunk_id: valid
        target_node_type: NodeDataValidator
        operation_data: { source: sales.csv, rows: [ { id: 1, region: north, amount: "12" } ] }
      - thunk_id: records
        target_node_type: NodeDataFetcher
        dependecies: [valid]
      - thunk_id: clean
        target_node_type: NodeDataTransformer
        dependencies: [records, totals]
  - step_id: analyse
    thunks:
      - { thunk_id: totals, target_node_type: NodeAggregator, dependencies: [clean] }
      - { thunk_id: saved, target_node_type: NodeDatabaseWriter, dependencies: [totls], retry_count: -1 }
output: totals
"#;

#[test]
fn shape_and_registry_mistakes_are_reported_together() {
    let errors = etl::registry().load_yaml(BAD_YAML).unwrap_err();
    println!("{errors}");
    let found: Vec<(SpecErrorKind, &str)> = errors
        .iter()
        .map(|e| (e.kind, e.location.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (SpecErrorKind::Parse, "execution_mode"),
            (SpecErrorKind::Parse, "steps[0].thunks[1].dependecies"),
            (SpecErrorKind::Parse, "steps[1].thunks[1].retry_count"),
            (SpecErrorKind::InvalidSetting, "max_parallel_steps"),
            (
                SpecErrorKind::InvalidOperationData,
                "steps[0].thunks[0].operation_data.rows[0].amount"
            ),
            (SpecErrorKind::Cycle, "steps[0].thunks[2].dependencies"),
        ]
    );
    let shown = errors.to_string();
    assert!(
        shown.contains("unknown field `dependecies`; did you mean `dependencies`?"),
        "{shown}"
    );
    assert!(shown.contains("cycle: clean -> totals -> clean"), "{shown}");
    // `records` did not parse, so `clean`'s dependency on it is not reported again, and
    // neither are `saved`'s problems beyond the one that made it unreadable.
    assert!(!shown.contains("`records` names no thunk"), "{shown}");
}

#[test]
fn a_lone_cycle_has_the_cycle_code_and_every_cycle_is_reported() {
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Id", |v: &serde_json::Value| v.clone());
    let spec = WorkflowSpec::from_yaml(
        r#"
workflow_id: loops
steps:
  - step_id: s
    thunks:
      - { thunk_id: a, target_node_type: Id, dependencies: [c] }
      - { thunk_id: b, target_node_type: Id, dependencies: [a] }
      - { thunk_id: c, target_node_type: Id, dependencies: [b] }
      - { thunk_id: self, target_node_type: Id, dependencies: [self] }
output: a
"#,
    )
    .unwrap();
    let errors = registry.load(spec).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["cycle: a -> b -> c -> a", "cycle: self -> self"]);
    assert_eq!(errors.code(), ErrorCode::CycleDetected);
}

#[test]
fn missing_input_data_and_unknown_nodes_in_an_empty_registry() {
    let spec = WorkflowSpec::from_yaml(
        "workflow_id: w\nsteps: [{step_id: s, thunks: [{thunk_id: a, target_node_type: X}]}]\noutput: a\n",
    )
    .unwrap();
    let e = NodeRegistry::new().load(spec.clone()).unwrap_err();
    assert_eq!(
        e.errors()[0].message,
        "unknown node type `X` (the registry is empty)"
    );

    let mut registry = NodeRegistry::new();
    registry.compute_infallible("X", |n: &u32| *n);
    let e = registry.load(spec).unwrap_err();
    assert_eq!(e.errors()[0].location, "steps[0].thunks[0]");
    assert!(
        e.errors()[0].message.starts_with(
            "has no operation_data and no dependencies, but `X` needs an input (`u32`)"
        ),
        "{e}"
    );
}

#[test]
fn parse_errors_point_at_the_value() {
    let e = WorkflowSpec::from_yaml("workflow_id: w\nexecution_mode: paralel\nsteps: []\n")
        .unwrap_err();
    assert_eq!(e.errors()[0].kind, SpecErrorKind::Parse);
    assert_eq!(e.errors()[0].location, "execution_mode");
    assert!(
        e.to_string()
            .contains("expected one of `sequential`, `parallel`, `batch`"),
        "{e}"
    );

    let e = WorkflowSpec::from_json(
        r#"{"workflow_id": "w", "failure_strategy": "retry_forever", "steps": []}"#,
    )
    .unwrap_err();
    assert_eq!(e.errors()[0].location, "failure_strategy");

    let e = WorkflowSpec::from_json(
        r#"{"workflow_id": "w", "steps": [{"step_id": "s", "thunks": [{"thunk_id": "a", "target_node_type": "A", "retry_count": -1}]}]}"#,
    )
    .unwrap_err();
    assert_eq!(e.errors()[0].location, "steps[0].thunks[0].retry_count");
}

#[test]
fn the_etl_spec_loads_with_its_settings() {
    let spec = WorkflowSpec::from_yaml(ETL_YAML).unwrap();
    assert_eq!(spec.execution_mode, SpecMode::Parallel);
    assert_eq!(spec.failure_strategy, FailureStrategy::Compensate);
    let opts = spec.run_options();
    assert_eq!(opts.get_mode(), ExecutionMode::Parallel { max_parallel: 3 });

    let wf = etl::registry().load(spec.clone()).unwrap();
    let g = wf.graph();
    let names: Vec<&str> = g.steps().iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "valid", "records", "clean", "quality", "totals", "fast", "saved"
        ]
    );
    let records = g.step(g.find("records").unwrap());
    assert_eq!(records.kind, NodeKind::Effect);
    assert!(records.is_async);
    assert_eq!(records.policy.retries, 2);
    assert_eq!(records.policy.timeout.unwrap().as_millis(), 10_000);
    let fast = g.step(g.find("fast").unwrap());
    assert!(fast.conditional);
    // `fast` reads `totals` and its condition reads `quality`.
    assert_eq!(&*fast.deps, &[4, 3]);
    assert!(g.step(g.find("saved").unwrap()).compensated);
    assert_eq!(g.output(), 4);
    let waves: Vec<Vec<&str>> = g
        .waves()
        .map(|w| w.iter().map(|&s| g.step(s).name.as_ref()).collect())
        .collect();
    assert_eq!(
        waves,
        [
            vec!["valid"],
            vec!["records"],
            vec!["clean"],
            vec!["quality", "totals"],
            vec!["fast", "saved"]
        ]
    );

    // JSON and YAML round trips give the same spec.
    assert_eq!(
        WorkflowSpec::from_json(&spec.to_json().unwrap()).unwrap(),
        spec
    );
    assert_eq!(
        WorkflowSpec::from_yaml(&spec.to_yaml().unwrap()).unwrap(),
        spec
    );
}

#[test]
fn the_plan_of_a_spec_has_one_thunk_per_spec_thunk() {
    let wf = etl::registry().load_yaml(ETL_YAML).unwrap();
    let plan = wf.plan();
    assert_eq!(plan.len(), 7);
    assert_eq!(plan[0].target_node_type, "NodeDataValidator");
    assert_eq!(plan[0].operation_data["source"], "sales.csv");
    let records = &plan[1];
    assert_eq!(records.dependencies, [plan[0].thunk_id]);
    assert_eq!(records.retry_count, 2);
    assert_eq!(records.metadata["step"], "records");
}

#[tokio::test]
async fn the_etl_program_computes_totals_and_takes_the_fast_track() {
    let wf = etl::registry().load_yaml(ETL_YAML).unwrap();
    let driven = drive(wf.program()).await.unwrap();
    let totals: etl::Totals = serde_json::from_value(driven.output.unwrap()).unwrap();
    assert_eq!(totals.count, 3);
    assert!((totals.sum - 220.75).abs() < 1e-9);
    assert_eq!(totals.by_region["NORTH"], 140.5);
    assert_eq!(totals.by_region["SOUTH"], 80.25);
    assert!(driven.skipped.is_empty());
    assert_eq!(driven.completed.len(), 7);
}

#[tokio::test]
async fn a_false_condition_skips_its_step_and_what_follows() {
    let mut spec = WorkflowSpec::from_yaml(ETL_YAML).unwrap();
    let cond = spec.steps[4].condition.as_mut().unwrap();
    cond.value = json!(1.5);
    let wf = etl::registry().load(spec).unwrap();
    let driven = drive(wf.program()).await.unwrap();
    assert_eq!(driven.skipped, ["fast"]);
    assert!(driven.output.is_some());
}

#[tokio::test]
async fn a_condition_pointer_that_finds_nothing_fails_the_step() {
    let mut spec = WorkflowSpec::from_yaml(ETL_YAML).unwrap();
    spec.steps[4].condition.as_mut().unwrap().pointer = "/scroe".into();
    let wf = etl::registry().load(spec).unwrap();
    let e = drive(wf.program()).await.err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.message().contains("`/scroe` finds nothing"), "{e}");
}

#[tokio::test]
async fn several_dependencies_arrive_as_a_tuple() {
    let wf = etl::registry().load_json(TWO_SOURCES_JSON).unwrap();
    assert_eq!(wf.spec().execution_mode, SpecMode::Batch);
    let driven = drive(wf.program()).await.unwrap();
    let totals: etl::Totals = serde_json::from_value(driven.output.unwrap()).unwrap();
    assert_eq!(totals.count, 3);
    assert_eq!(totals.sum, 50.0);
}

#[tokio::test]
async fn operation_data_and_dependencies_combine_into_arguments() {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Double", |n: &i64| n * 2)
        .compute_infallible("Scale", |(factor, n): &(i64, i64)| factor * n);
    let wf = registry
        .load_yaml(
            r#"
workflow_id: args
steps:
  - step_id: s
    thunks:
      - { thunk_id: a, target_node_type: Double, operation_data: 5 }
      - { thunk_id: b, target_node_type: Scale, operation_data: 3, dependencies: [a] }
output: b
"#,
        )
        .unwrap();
    let driven = drive(wf.program()).await.unwrap();
    assert_eq!(driven.output, Some(json!(30)));
}

#[tokio::test]
async fn a_node_given_the_wrong_shape_at_run_time_fails_with_invalid_input() {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Text", |s: &String| s.clone())
        .compute_infallible("Double", |n: &i64| n * 2);
    let wf = registry
        .load_yaml(
            r#"
workflow_id: shapes
steps:
  - step_id: s
    thunks:
      - { thunk_id: a, target_node_type: Text, operation_data: "hello" }
      - { thunk_id: b, target_node_type: Double, dependencies: [a] }
output: b
"#,
        )
        .unwrap();
    let e = drive(wf.program()).await.err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.message()
            .starts_with("input of `Double` does not fit `i64`"),
        "{e}"
    );
    let _ = wf.program().graph();
}

#[tokio::test]
async fn input_specs_take_the_run_input_and_test_it_in_conditions() {
    let wf = etl::registry().load_yaml(ETL_INPUT_YAML).unwrap();
    // `$input` is not a graph step: `valid` has no dependencies, `saved` only `totals`.
    let g = wf.graph();
    assert!(g.step(0).deps.is_empty());
    assert_eq!(&*g.step(g.find("saved").unwrap()).deps, &[3]);

    let sales: serde_json::Value = serde_json::from_str(SALES_JSON).unwrap();
    let driven = drive_on(wf.program(), sales.clone()).await.unwrap();
    assert_eq!(driven.output.unwrap()["sum"], 19.75);
    assert!(driven.skipped.is_empty());

    let mut dry = sales;
    dry["source"] = json!("dry-run");
    let driven = drive_on(wf.program(), dry).await.unwrap();
    assert_eq!(driven.skipped, ["saved"]);

    // A null input does not fit the validator: a clear run-time error.
    let e = drive(wf.program()).await.err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(
        e.message()
            .starts_with("input of `NodeDataValidator` does not fit `RawBatch`"),
        "{e}"
    );
}

#[test]
fn ids_starting_with_a_dollar_are_reserved() {
    let mut registry = NodeRegistry::new();
    registry.compute_infallible("Id", |v: &serde_json::Value| v.clone());
    let e = registry
        .load_yaml(
            "workflow_id: w\nsteps: [{step_id: s, thunks: [{thunk_id: $input, target_node_type: Id}]}]\noutput: $input\n",
        )
        .unwrap_err();
    assert_eq!(e.errors()[0].location, "steps[0].thunks[0].thunk_id");
    assert!(e.errors()[0].message.contains("reserved"), "{e}");
}
