//! Shared by the dynamic-workflow tests: the example ETL nodes and specs, and a minimal
//! sequential driver of a `Program`, so the spec program is tested on its own, apart
//! from the executors.

#![allow(dead_code)]

#[path = "../../../examples/common/etl_nodes.rs"]
pub mod etl;

use onex_runtime::{Call, Context, ExecutionMode, NodeError, Program, Runtime};

pub const ETL_YAML: &str = include_str!("../../../examples/specs/etl.yaml");
pub const TWO_SOURCES_JSON: &str = include_str!("../../../examples/specs/two_sources.json");

/// What [`drive`] did.
pub struct Driven<T> {
    pub output: Option<T>,
    pub completed: Vec<String>,
    pub skipped: Vec<String>,
}

/// Runs `program` one step at a time in topological order, honouring the `Program`
/// contract (conditions after dependencies, a step whose dependency did not complete is
/// skipped), failing fast on the first error.
pub async fn drive<P: Program<Input = serde_json::Value>>(
    program: &P,
) -> Result<Driven<P::Output>, NodeError> {
    drive_on(program, serde_json::Value::Null).await
}

/// [`drive`] on an input.
pub async fn drive_on<P: Program<Input = serde_json::Value>>(
    program: &P,
    input: serde_json::Value,
) -> Result<Driven<P::Output>, NodeError> {
    let rt = Runtime::default();
    let graph = program.graph();
    let ctx = Context::detached(&rt, graph.name().to_string());
    let slots = program.slots(input);
    let mut done = vec![false; graph.steps().len()];
    let (mut completed, mut skipped) = (Vec::new(), Vec::new());
    for &step in graph.order() {
        let spec = graph.step(step);
        if !spec.deps.iter().all(|&d| done[d]) || !program.condition(&slots, step)? {
            skipped.push(spec.name.to_string());
            continue;
        }
        let call = Call {
            ctx: &ctx,
            step,
            item: 0,
            attempt: 1,
            mode: ExecutionMode::Sequential,
        };
        if spec.is_async {
            program.call_async(&slots, call).await?;
        } else {
            program.call_sync(&slots, call)?;
        }
        program.finish(&slots, step)?;
        done[step] = true;
        completed.push(spec.name.to_string());
    }
    Ok(Driven {
        output: program.output(slots),
        completed,
        skipped,
    })
}

pub const ETL_INPUT_YAML: &str = include_str!("../../../examples/specs/etl_input.yaml");
pub const SALES_JSON: &str = include_str!("../../../examples/specs/sales.json");
