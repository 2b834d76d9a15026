//! A static workflow's plan becomes a spec that, run against a registry of the same nodes,
//! gives the same output and an equivalent report.

use onex::dynamic::{NodeRegistry, WorkflowSpec};
use onex::prelude::*;
use serde_json::json;

#[node(compute, name = "Parse")]
#[allow(clippy::ptr_arg)] // the registry hands nodes the owned type their JSON decodes into
fn parse(text: &String) -> Vec<i64> {
    text.split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

#[node(reducer, name = "Total")]
fn total(acc: &mut i64, n: &i64) {
    *acc += n;
}

#[node(compute, name = "Largest", retries = 2)]
#[allow(clippy::ptr_arg)]
fn largest(ns: &Vec<i64>) -> i64 {
    ns.iter().copied().max().unwrap_or(0)
}

#[node(compute, name = "Report")]
fn report(sum: &i64, max: &i64) -> String {
    format!("sum {sum}, max {max}")
}

workflow! {
    /// Parse numbers, total them, find the largest, report both.
    pub workflow Stats(raw: String) -> String {
        numbers = parse(raw);
        sum = total(numbers);
        max = largest(numbers);
        out = report(sum, max);
        return out;
    }
}

fn registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    registry
        .compute_infallible("Parse", parse)
        .reducer("Total", total)
        .compute_infallible("Largest", largest)
        // A registered node with several inputs receives them as one tuple.
        .compute_infallible("Report", |(sum, max): &(i64, i64)| report(sum, max));
    registry
}

#[tokio::test]
async fn a_plan_runs_as_a_spec_with_the_static_output_and_an_equivalent_report() {
    let rt = Runtime::default();
    let raw = "3, 9, 4".to_string();
    for mode in [
        ExecutionMode::Sequential,
        ExecutionMode::Parallel { max_parallel: 2 },
        ExecutionMode::Batch,
    ] {
        let opts = RunOptions::new().mode(mode);
        let static_run = Stats::run(&rt, raw.clone(), opts.clone()).await.unwrap();
        assert_eq!(static_run.output, "sum 16, max 9");

        let spec = WorkflowSpec::from_plan(Stats::graph(), &Stats::plan(&raw)).unwrap();
        // The spec travels as text, as it would between services.
        let spec = WorkflowSpec::from_json(&spec.to_json().unwrap()).unwrap();
        let dynamic = registry().load(spec).unwrap();
        let dynamic_run = dynamic.run(&rt, opts).await.unwrap();
        assert_eq!(dynamic_run.output, json!(static_run.output));

        let (s, d) = (&static_run.report, &dynamic_run.report);
        assert_eq!(d.state, s.state);
        assert_eq!(d.steps_completed, s.steps_completed);
        assert_eq!(d.thunks_emitted.len(), s.thunks_emitted.len());
        let shape = |r: &WorkflowReport| {
            let mut steps: Vec<_> = r
                .steps
                .iter()
                .map(|st| {
                    (
                        st.step.to_string(),
                        st.node_type.to_string(),
                        st.wave,
                        format!("{:?}", st.state),
                    )
                })
                .collect();
            steps.sort();
            steps
        };
        assert_eq!(shape(d), shape(s), "{mode:?}");
        let retries = |r: &WorkflowReport| r.thunks_of("max")[0].retry_count;
        assert_eq!(retries(d), retries(s));
    }
}
