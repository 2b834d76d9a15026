//! Plans to specs: the thunks of a static workflow's `plan()` as a [`WorkflowSpec`], so a
//! plan can be stored, sent elsewhere and run against a registry of the same nodes.

use std::collections::HashMap;

use crate::error::{SpecError, SpecErrorKind, SpecErrors};
use crate::spec::{SpecStep, SpecThunk, WorkflowSpec};
use onex_runtime::Graph;
use onex_runtime::Thunk;

impl WorkflowSpec {
    /// The spec of a plan: one spec step with one thunk per graph step, named by the step
    /// (`thunk_id` = `step_id` = the step's name), with the plan's node types, kinds,
    /// `operation_data`, dependencies, priorities, timeouts and retry budgets; the output
    /// is the graph's output step.
    ///
    /// Run against a [`NodeRegistry`](crate::NodeRegistry) holding the same nodes
    /// under the same `target_node_type`s, it gives the same output as the static workflow.
    /// A node of several parameters is registered with a tuple input: its arguments arrive
    /// as an array, the plan's `operation_data` (the workflow input it reads; an object
    /// keyed by input name when it reads several) first, then its dependencies in order
    /// (see [`SpecThunk`]).
    ///
    /// # Errors
    ///
    /// [`SpecErrorKind::Unsupported`] for what data cannot express: a `map` step (its width
    /// is known only at run time) and a step with a `when` closure (code, not data);
    /// [`SpecErrorKind::MissingThunk`] for a thunk whose step or dependency is not in the
    /// plan. Locations are `thunks[i]`, indexes into the plan.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::dynamic::WorkflowSpec;
    /// use onex::{plan, Graph, NodeKind, StepSpec};
    ///
    /// let g = Graph::new("w", vec!["x".into()], vec![
    ///     StepSpec::new("double", "Double", NodeKind::Compute),
    ///     StepSpec::new("show", "Show", NodeKind::Compute).with_deps(vec![0]),
    /// ], 1).unwrap();
    /// let thunks = plan(&g, |step| if step == 0 { serde_json::json!(21) } else { serde_json::Value::Null });
    /// let spec = WorkflowSpec::from_plan(&g, &thunks).unwrap();
    /// assert_eq!(spec.output.as_deref(), Some("show"));
    /// assert_eq!(spec.steps[1].thunks[0].dependencies, ["double"]);
    /// assert_eq!(spec.steps[0].thunks[0].operation_data, 21);
    /// ```
    pub fn from_plan(graph: &Graph, thunks: &[Thunk]) -> Result<WorkflowSpec, SpecErrors> {
        let mut errors = Vec::new();
        let step_of =
            |thunk: &Thunk| -> Option<usize> { graph.find(thunk.metadata.get("step")?.as_str()?) };
        let names: HashMap<uuid::Uuid, &str> = thunks
            .iter()
            .filter_map(|t| Some((t.thunk_id, graph.step(step_of(t)?).name.as_ref())))
            .collect();
        let mut spec = WorkflowSpec::new(graph.name());
        for (i, thunk) in thunks.iter().enumerate() {
            let here = format!("thunks[{i}]");
            let Some(step) = step_of(thunk) else {
                errors.push(SpecError::new(
                    SpecErrorKind::MissingThunk,
                    format!("{here}.metadata.step"),
                    format!(
                        "names no step of workflow `{}` (a thunk of another plan?)",
                        graph.name()
                    ),
                ));
                continue;
            };
            let step_spec = graph.step(step);
            if step_spec.map {
                errors.push(SpecError::new(
                    SpecErrorKind::Unsupported,
                    here.clone(),
                    format!(
                        "step `{}` is a `map` step, whose width is known only at run time; \
                         a spec cannot express it",
                        step_spec.name
                    ),
                ));
            }
            if step_spec.conditional {
                errors.push(SpecError::new(
                    SpecErrorKind::Unsupported,
                    here.clone(),
                    format!(
                        "step `{}` has a `when` closure, which is code, not data; \
                         write it as a spec condition instead",
                        step_spec.name
                    ),
                ));
            }
            let mut dependencies = Vec::with_capacity(thunk.dependencies.len());
            for (d, id) in thunk.dependencies.iter().enumerate() {
                match names.get(id) {
                    Some(name) => dependencies.push((*name).to_string()),
                    None => errors.push(SpecError::new(
                        SpecErrorKind::MissingThunk,
                        format!("{here}.dependencies[{d}]"),
                        format!("thunk {id} is not in the plan"),
                    )),
                }
            }
            let name = step_spec.name.to_string();
            let mut spec_thunk = SpecThunk::new(name.clone(), thunk.target_node_type.to_string());
            spec_thunk.thunk_type = Some(thunk.thunk_type);
            spec_thunk.operation_data = thunk.operation_data.clone();
            spec_thunk.dependencies = dependencies;
            spec_thunk.priority = thunk.priority;
            // Round sub-millisecond deadlines up: 0 would mean "time out at once".
            spec_thunk.timeout_ms = thunk
                .timeout
                .map(|t| u64::try_from(t.as_micros().div_ceil(1000)).unwrap_or(u64::MAX));
            spec_thunk.retry_count = thunk.retry_count;
            spec.steps.push(SpecStep {
                step_id: name.clone(),
                step_name: name,
                condition: None,
                thunks: vec![spec_thunk],
            });
        }
        spec.output = Some(graph.step(graph.output()).name.to_string());
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(SpecErrors::new(graph.name(), errors))
        }
    }
}
