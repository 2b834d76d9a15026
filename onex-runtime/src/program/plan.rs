//! Plans: the thunks a run would emit, without running anything.

use crate::model::Graph;
use crate::model::Thunk;

/// The thunks of a workflow, one per step, in topological order, with their dependencies
/// and each step's settings; nothing is executed.
///
/// `operation_data(step)` gives a thunk's serialized input: steps fed by workflow inputs
/// carry them, the others refer to their inputs through `dependencies`. A `map` step has
/// one thunk here (its width is known only at run time), marked `"map": true`.
///
/// # Examples
///
/// ```
/// use onex::{plan, Graph, NodeKind, StepSpec};
/// let g = Graph::new("w", vec![], vec![
///     StepSpec::new("a", "A", NodeKind::Compute),
///     StepSpec::new("b", "B", NodeKind::Effect).with_deps(vec![0]),
/// ], 1).unwrap();
/// let thunks = plan(&g, |_| serde_json::Value::Null);
/// assert_eq!(thunks[1].dependencies, vec![thunks[0].thunk_id]);
/// ```
pub fn plan(
    graph: &Graph,
    mut operation_data: impl FnMut(usize) -> serde_json::Value,
) -> Vec<Thunk> {
    let mut ids = vec![uuid::Uuid::nil(); graph.steps().len()];
    let mut thunks = Vec::with_capacity(ids.len());
    for &step in graph.order() {
        let spec = graph.step(step);
        let mut thunk = Thunk::new(spec.thunk_type(), spec.node_type.clone());
        thunk.operation_data = operation_data(step);
        thunk.dependencies = spec.deps.iter().map(|&d| ids[d]).collect();
        thunk.priority = spec.policy.priority;
        thunk.timeout = spec.policy.timeout;
        thunk.retry_count = spec.policy.retries;
        thunk
            .metadata
            .insert("step".into(), serde_json::Value::from(spec.name.as_ref()));
        if spec.map {
            thunk
                .metadata
                .insert("map".into(), serde_json::Value::Bool(true));
        }
        ids[step] = thunk.thunk_id;
        thunks.push(thunk);
    }
    thunks
}
