//! A static workflow's plan, converted to a spec, gives the same output as the workflow.

mod common;

use common::drive;
use onex_runtime::{Graph, NodeKind, Runtime, StepPolicy, StepSpec, ThunkType, plan};
use onex_spec::{NodeRegistry, SpecErrorKind, WorkflowSpec};
use serde_json::{Value, json};
use std::time::Duration;

// The nodes, as a static workflow would call them. Registered nodes take `&In` where `In`
// is the owned type their JSON input decodes into, hence `&String` and `&Vec`.
#[allow(clippy::ptr_arg)]
fn parse(text: &String) -> Vec<i64> {
    text.split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}
fn total(acc: &mut i64, n: &i64) {
    *acc += n;
}
#[allow(clippy::ptr_arg)]
fn largest(ns: &Vec<i64>) -> i64 {
    ns.iter().copied().max().unwrap_or(0)
}
fn report((sum, max): &(i64, i64)) -> String {
    format!("sum {sum}, max {max}")
}

/// `parse(raw) -> {sum, max} -> report`, as the `workflow!` macro would describe it.
fn graph() -> Graph {
    Graph::new(
        "stats",
        vec!["raw".into()],
        vec![
            {
                let mut s = StepSpec::new("numbers", "Parse", NodeKind::Compute);
                s.reads_inputs = vec![0].into();
                s
            },
            StepSpec::new("sum", "Total", NodeKind::Reducer).with_deps(vec![0]),
            StepSpec::new("max", "Largest", NodeKind::Compute)
                .with_deps(vec![0])
                .with_policy(
                    StepPolicy::DEFAULT
                        .retries(2)
                        .priority(1)
                        .timeout(Duration::from_micros(1500)),
                ),
            StepSpec::new("report", "Report", NodeKind::Compute).with_deps(vec![1, 2]),
        ],
        3,
    )
    .unwrap()
}

fn registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Parse", parse)
        .reducer("Total", total)
        .compute_infallible("Largest", largest)
        .compute_infallible("Report", report);
    registry
}

fn static_output(raw: &str) -> String {
    let numbers = parse(&raw.to_string());
    let mut sum = 0;
    for n in &numbers {
        total(&mut sum, n);
    }
    report(&(sum, largest(&numbers)))
}

fn spec_of(raw: &str) -> WorkflowSpec {
    let g = graph();
    let thunks = plan(&g, |step| {
        if g.step(step).reads_inputs.is_empty() {
            Value::Null
        } else {
            json!(raw)
        }
    });
    WorkflowSpec::from_plan(&g, &thunks).unwrap()
}

#[test]
fn the_spec_keeps_names_kinds_settings_and_dependencies() {
    let spec = spec_of("1, 2");
    assert_eq!(spec.workflow_id, "stats");
    assert_eq!(spec.output.as_deref(), Some("report"));
    let ids: Vec<&str> = spec.thunks().map(|(_, t)| t.thunk_id.as_str()).collect();
    // Plan order: by wave, then priority.
    assert_eq!(ids, ["numbers", "sum", "max", "report"]);
    let max = spec.thunk("max").unwrap();
    assert_eq!(max.retry_count, 2);
    assert_eq!(max.priority, 1);
    assert_eq!(
        max.timeout_ms,
        Some(2),
        "sub-millisecond deadlines round up"
    );
    assert_eq!(
        spec.thunk("sum").unwrap().thunk_type,
        Some(ThunkType::Reduce)
    );
    assert_eq!(spec.thunk("report").unwrap().dependencies, ["sum", "max"]);
    assert_eq!(spec.thunk("numbers").unwrap().operation_data, json!("1, 2"));
    // It survives serialization: the point of a plan-as-spec is to be sent elsewhere.
    let text = spec.to_yaml().unwrap();
    assert_eq!(WorkflowSpec::from_yaml(&text).unwrap(), spec);
}

#[tokio::test]
async fn the_spec_of_a_plan_gives_the_static_output() {
    for raw in ["1, 5, 3", "42", "7,-2,x,9"] {
        let spec = WorkflowSpec::from_json(&spec_of(raw).to_json().unwrap()).unwrap();
        let wf = registry().load(spec).unwrap();
        let driven = drive(wf.program()).await.unwrap();
        assert_eq!(
            driven.output,
            Some(json!(static_output(raw))),
            "input {raw:?}"
        );
    }
}

/// Needs the executor (`Runtime::run`).
#[tokio::test]
async fn the_spec_of_a_plan_runs_on_the_runtime_with_the_static_output() {
    let wf = registry().load(spec_of("4, 8, 15, 16, 23, 42")).unwrap();
    let run = wf.run(&Runtime::default(), wf.run_options()).await.unwrap();
    assert_eq!(run.output, json!(static_output("4, 8, 15, 16, 23, 42")));
    assert_eq!(run.report.steps_completed, 4);
}

#[test]
fn map_and_when_steps_cannot_become_data() {
    let mut mapped = StepSpec::new("each", "Parse", NodeKind::Compute);
    mapped.map = true;
    let mut gated = StepSpec::new("gated", "Largest", NodeKind::Compute).with_deps(vec![0]);
    gated.conditional = true;
    let g = Graph::new("w", vec![], vec![mapped, gated], 1).unwrap();
    let thunks = plan(&g, |_| Value::Null);
    let errors = WorkflowSpec::from_plan(&g, &thunks).unwrap_err();
    let found: Vec<(SpecErrorKind, &str)> = errors
        .iter()
        .map(|e| (e.kind, e.location.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (SpecErrorKind::Unsupported, "thunks[0]"),
            (SpecErrorKind::Unsupported, "thunks[1]")
        ]
    );
    assert!(errors.to_string().contains("`map` step"), "{errors}");
    assert!(errors.to_string().contains("`when` closure"), "{errors}");
}

#[test]
fn thunks_of_another_plan_are_reported() {
    let g = graph();
    let mut thunks = plan(&g, |_| Value::Null);
    thunks[3].dependencies[0] = uuid::Uuid::new_v4();
    thunks[1].metadata.insert("step".into(), json!("nope"));
    let errors = WorkflowSpec::from_plan(&g, &thunks).unwrap_err();
    let locations: Vec<&str> = errors.iter().map(|e| e.location.as_str()).collect();
    assert_eq!(
        locations,
        ["thunks[1].metadata.step", "thunks[3].dependencies[0]"]
    );
}
