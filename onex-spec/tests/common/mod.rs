//! Shared by the dynamic-workflow tests: the example ETL nodes and specs, and a sequential
//! run of a spec program summarized as the steps it completed and skipped.

#![allow(dead_code)]

#[path = "../../../examples/common/etl_nodes.rs"]
pub mod etl;

use std::sync::Arc;

use onex_runtime::{NodeError, Program, RunOptions, Runtime, StepState};

pub const ETL_YAML: &str = include_str!("../../../examples/specs/etl.yaml");
pub const TWO_SOURCES_JSON: &str = include_str!("../../../examples/specs/two_sources.json");

/// What [`drive`] did.
pub struct Driven<T> {
    pub output: Option<T>,
    pub completed: Vec<String>,
    pub skipped: Vec<String>,
}

/// Runs `program` sequentially on the runtime, failing fast, and sorts its steps into
/// completed and skipped, in topological order.
pub async fn drive<P: Program<Input = serde_json::Value>>(
    program: Arc<P>,
) -> Result<Driven<P::Output>, NodeError> {
    drive_on(program, serde_json::Value::Null).await
}

/// [`drive`] on an input.
pub async fn drive_on<P: Program<Input = serde_json::Value>>(
    program: Arc<P>,
    input: serde_json::Value,
) -> Result<Driven<P::Output>, NodeError> {
    let order: Vec<usize> = program.graph().order().to_vec();
    let run = Runtime::default()
        .run(program, input, RunOptions::new())
        .await
        .map_err(|e| {
            e.node_error()
                .cloned()
                .unwrap_or_else(|| NodeError::permanent(e.to_string()))
        })?;
    let in_state = |state: StepState| -> Vec<String> {
        order
            .iter()
            .map(|&i| &run.report.steps[i])
            .filter(|r| r.state == state)
            .map(|r| r.step.to_string())
            .collect()
    };
    Ok(Driven {
        completed: in_state(StepState::Completed),
        skipped: in_state(StepState::Skipped),
        output: Some(run.output),
    })
}

pub const ETL_INPUT_YAML: &str = include_str!("../../../examples/specs/etl_input.yaml");
pub const SALES_JSON: &str = include_str!("../../../examples/specs/sales.json");
