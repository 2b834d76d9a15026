//! Checking a spec against a registry before anything runs: every mistake, all at once.
//!
//! The checks run in passes over the whole document (ids, then references and nodes, then
//! cycles), each collecting its errors instead of stopping at the first, and a later pass
//! skips what an earlier one already reported so one typo does not cascade into a screen
//! of follow-on errors.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::condition::Condition;
use crate::error::{SpecError, SpecErrorKind, SpecErrors};
use crate::json::short_type_name;
use crate::parse::Unreadable;
use crate::registry::{NodeRegistry, RegisteredNode};
use crate::spec::{SpecThunk, WorkflowSpec};
use onex_graph::suggest::did_you_mean;
use onex_runtime::NodeKind;
use onex_runtime::StepPolicy;
use onex_runtime::ThunkType;
use onex_runtime::{Graph, StepSpec};

/// How many "did you mean" searches over thunk ids one validation makes at most.
const SUGGESTION_BUDGET: usize = 64;

/// The reserved dependency name for the run's input.
pub(crate) const INPUT: &str = "$input";

/// Where an argument, or the value a condition tests, comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The run's input (`$input`).
    Input,
    /// The output of the thunk at this graph index.
    Thunk(usize),
}

/// One thunk, resolved: its node, its arguments, its condition.
pub(crate) struct ResolvedThunk {
    pub(crate) node: Arc<RegisteredNode>,
    pub(crate) operation_data: Value,
    /// Its arguments after `operation_data`, in order.
    pub(crate) args: Vec<Source>,
    /// Its step's condition and where the tested value comes from.
    pub(crate) condition: Option<(Condition, Source)>,
}

/// A valid spec, ready to run: one graph step per thunk, in document order.
pub(crate) struct Resolved {
    pub(crate) graph: Graph,
    pub(crate) thunks: Vec<ResolvedThunk>,
}

/// Validates `spec` against `registry`, skipping references to what did not parse.
///
/// The passes, in the order their errors are reported: the settings, the ids (pass 1),
/// each step's condition and each thunk's node, settings and dependencies (pass 2), the
/// output, the cycles (pass 3). Only a spec without errors becomes a graph.
pub(crate) fn resolve(
    spec: &WorkflowSpec,
    registry: &NodeRegistry,
    unreadable: &Unreadable,
) -> Result<Resolved, SpecErrors> {
    let mut errors = Errors::default();
    check_settings(spec, unreadable, &mut errors);
    let ids = Ids::collect(spec, unreadable, &mut errors);
    let (resolved, graph_deps) = resolve_thunks(spec, registry, unreadable, &ids, &mut errors);
    let output = resolve_output(spec, unreadable, &ids, &mut errors);
    check_cycles(spec, &ids, &graph_deps, &mut errors);
    match (output, errors.0.is_empty()) {
        (Some(output), true) => build(spec, resolved, graph_deps, output),
        _ => Err(SpecErrors::new(spec.workflow_id.clone(), errors.0)),
    }
}

/// Every mistake found so far, in the order found.
#[derive(Default)]
struct Errors(Vec<SpecError>);

impl Errors {
    fn add(
        &mut self,
        kind: SpecErrorKind,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.0
            .push(SpecError::new(kind, location.into(), message.into()));
    }
}

/// The run-wide settings: a named workflow, room for a step to run.
fn check_settings(spec: &WorkflowSpec, unreadable: &Unreadable, errors: &mut Errors) {
    if spec.workflow_id.trim().is_empty() && !unreadable.workflow_id {
        errors.add(
            SpecErrorKind::InvalidSetting,
            "workflow_id",
            "is empty: name the workflow",
        );
    }
    if spec.max_parallel_steps == 0 {
        errors.add(
            SpecErrorKind::InvalidSetting,
            "max_parallel_steps",
            "is 0: at least one step must be able to run",
        );
    }
}

/// Pass 1: the step and thunk ids. The first occurrence of a thunk id wins, so that
/// references to it still resolve.
struct Ids<'s> {
    /// Each valid thunk id's graph index.
    index_of: HashMap<&'s str, usize>,
    /// Each thunk's location in the document, by graph index.
    locations: Vec<String>,
    /// How many more "did you mean" searches [`missing`](Self::missing) may make: each
    /// compares a name with every id, and a huge spec with thousands of dangling
    /// references must not take quadratic time to reject.
    suggestions: std::cell::Cell<usize>,
}

impl<'s> Ids<'s> {
    fn collect(spec: &'s WorkflowSpec, unreadable: &Unreadable, errors: &mut Errors) -> Self {
        let mut step_ids: HashMap<&str, usize> = HashMap::new();
        let mut ids = Ids {
            index_of: HashMap::new(),
            locations: Vec::new(),
            suggestions: std::cell::Cell::new(SUGGESTION_BUDGET),
        };
        for (s, step) in spec.steps.iter().enumerate() {
            let at = format!("steps[{}].step_id", unreadable.step(s));
            if step.step_id.is_empty() {
                errors.add(SpecErrorKind::DuplicateId, at, "is empty");
            } else if let Some(first) = step_ids.insert(&step.step_id, s) {
                step_ids.insert(&step.step_id, first);
                errors.add(
                    SpecErrorKind::DuplicateId,
                    at,
                    format!(
                        "duplicate step id `{}` (first used by steps[{}])",
                        step.step_id,
                        unreadable.step(first)
                    ),
                );
            }
            for (t, thunk) in step.thunks.iter().enumerate() {
                let here = unreadable.thunk(s, t);
                ids.note_thunk(&thunk.thunk_id, here, errors);
            }
        }
        ids
    }

    /// Notes the thunk at `here`, the next graph index, unless its id is bad or taken.
    fn note_thunk(&mut self, id: &'s str, here: String, errors: &mut Errors) {
        let at = format!("{here}.thunk_id");
        if id.is_empty() {
            errors.add(SpecErrorKind::DuplicateId, at, "is empty");
        } else if id.starts_with('$') {
            errors.add(
                SpecErrorKind::DuplicateId,
                at,
                format!(
                    "`{id}`: ids starting with `$` are reserved (`{INPUT}` names the run's input)"
                ),
            );
        } else if let Some(&first) = self.index_of.get(id) {
            let first_at = &self.locations[first];
            errors.add(
                SpecErrorKind::DuplicateId,
                at,
                format!("duplicate thunk id `{id}` (first used by {first_at})"),
            );
        } else {
            self.index_of.insert(id, self.locations.len());
        }
        self.locations.push(here);
    }

    /// Where `name` comes from: the run's input or a thunk; `Err` with the error's message
    /// when it names no thunk, `Ok(None)` when it names one that did not parse (its own
    /// error is reported already).
    fn source(
        &self,
        name: &str,
        what: &str,
        unreadable: &Unreadable,
    ) -> Result<Option<Source>, String> {
        if name == INPUT {
            return Ok(Some(Source::Input));
        }
        match self.index_of.get(name) {
            Some(&i) => Ok(Some(Source::Thunk(i))),
            None if unreadable.thunks.contains(name) => Ok(None),
            None => Err(self.missing(name, what)),
        }
    }

    /// The message of a reference to no thunk, with the closest id while the budget lasts.
    fn missing(&self, name: &str, what: &str) -> String {
        let hint = match self.suggestions.get().checked_sub(1) {
            Some(left) => {
                self.suggestions.set(left);
                did_you_mean(name, self.index_of.keys().copied())
            }
            None => String::new(),
        };
        format!("{what} `{name}` names no thunk of this spec{hint}")
    }
}

/// Pass 2: each step's condition, and each thunk's node, settings and dependencies.
/// Returns the thunks that resolved (`None` for one whose node is unknown) and each
/// thunk's dependencies in the graph, by graph index.
fn resolve_thunks(
    spec: &WorkflowSpec,
    registry: &NodeRegistry,
    unreadable: &Unreadable,
    ids: &Ids<'_>,
    errors: &mut Errors,
) -> (Vec<Option<ResolvedThunk>>, Vec<Vec<usize>>) {
    let mut resolved = Vec::new();
    let mut graph_deps = Vec::new();
    for (s, step) in spec.steps.iter().enumerate() {
        let condition = step.condition.as_ref().and_then(|c| {
            let at = format!("steps[{}].condition", unreadable.step(s));
            resolve_condition(c, &at, unreadable, ids, errors)
        });
        for (t, thunk) in step.thunks.iter().enumerate() {
            let here = unreadable.thunk(s, t);
            let node = check_node(thunk, &here, registry, errors);
            if thunk.timeout_ms == Some(0) {
                errors.add(
                    SpecErrorKind::InvalidSetting,
                    format!("{here}.timeout_ms"),
                    "is 0: every attempt would time out at once; omit it for no deadline",
                );
            }
            let args = resolve_args(thunk, &here, unreadable, ids, errors);
            let mut deps: Vec<usize> = Vec::with_capacity(args.len() + 1);
            for source in args.iter().chain(condition.as_ref().map(|(_, c)| c)) {
                if let Source::Thunk(i) = *source
                    && !deps.contains(&i)
                {
                    deps.push(i);
                }
            }
            graph_deps.push(deps);
            resolved.push(node.map(|node| ResolvedThunk {
                node: node.clone(),
                operation_data: thunk.operation_data.clone(),
                args,
                condition: condition.clone(),
            }));
        }
    }
    (resolved, graph_deps)
}

/// A step's condition and where the value it tests comes from.
fn resolve_condition(
    condition: &Condition,
    at: &str,
    unreadable: &Unreadable,
    ids: &Ids<'_>,
    errors: &mut Errors,
) -> Option<(Condition, Source)> {
    if let Some((field, problem)) = condition.static_problem() {
        errors.add(
            SpecErrorKind::InvalidCondition,
            format!("{at}.{field}"),
            problem,
        );
    }
    match ids.source(&condition.thunk, "condition thunk", unreadable) {
        Ok(source) => source.map(|source| (condition.clone(), source)),
        Err(message) => {
            errors.add(SpecErrorKind::MissingThunk, format!("{at}.thunk"), message);
            None
        }
    }
}

/// The thunk's node, if its type is registered: and that its `thunk_type`, if given,
/// and its `operation_data`, when it is the whole input, fit the node.
fn check_node<'r>(
    thunk: &SpecThunk,
    here: &str,
    registry: &'r NodeRegistry,
    errors: &mut Errors,
) -> Option<&'r Arc<RegisteredNode>> {
    let Some(node) = registry.get(&thunk.target_node_type) else {
        let hint = if registry.node_types().next().is_none() {
            " (the registry is empty)".to_string()
        } else {
            did_you_mean(&thunk.target_node_type, registry.node_types())
        };
        errors.add(
            SpecErrorKind::UnknownNodeType,
            format!("{here}.target_node_type"),
            format!("unknown node type `{}`{hint}", thunk.target_node_type),
        );
        return None;
    };
    if let Some(given) = thunk.thunk_type
        && given != node.kind.thunk_type()
    {
        errors.add(
            SpecErrorKind::ThunkTypeMismatch,
            format!("{here}.thunk_type"),
            format!(
                "is {}, but `{}` is {} node ({})",
                thunk_type_name(given),
                thunk.target_node_type,
                with_article(node.kind),
                thunk_type_name(node.kind.thunk_type())
            ),
        );
    }
    // With dependencies the input is only known at run time.
    if thunk.dependencies.is_empty()
        && let Err(mismatch) = (node.check_input)(&thunk.operation_data)
    {
        let input = short_type_name(node.input_type);
        let (at, message) = if thunk.operation_data.is_null() {
            (
                here.to_string(),
                format!(
                    "has no operation_data and no dependencies, but `{}` needs an input \
                     (`{input}`): {}",
                    thunk.target_node_type, mismatch.message
                ),
            )
        } else {
            (
                join_path(&format!("{here}.operation_data"), &mismatch.path),
                format!(
                    "does not fit the input of `{}` (`{input}`): {}",
                    thunk.target_node_type, mismatch.message
                ),
            )
        };
        errors.add(SpecErrorKind::InvalidOperationData, at, message);
    }
    Some(node)
}

/// Where each of the thunk's dependencies comes from, in order (those naming a thunk that
/// did not parse are left out: their error is reported already).
fn resolve_args(
    thunk: &SpecThunk,
    here: &str,
    unreadable: &Unreadable,
    ids: &Ids<'_>,
    errors: &mut Errors,
) -> Vec<Source> {
    let mut args = Vec::with_capacity(thunk.dependencies.len());
    for (d, dep) in thunk.dependencies.iter().enumerate() {
        match ids.source(dep, "dependency", unreadable) {
            Ok(source) => args.extend(source),
            Err(message) => errors.add(
                SpecErrorKind::MissingThunk,
                format!("{here}.dependencies[{d}]"),
                message,
            ),
        }
    }
    args
}

/// The output thunk's graph index.
fn resolve_output(
    spec: &WorkflowSpec,
    unreadable: &Unreadable,
    ids: &Ids<'_>,
    errors: &mut Errors,
) -> Option<usize> {
    let Some(name) = &spec.output else {
        if !unreadable.output {
            errors.add(
                SpecErrorKind::MissingOutput,
                "output",
                "missing: name the thunk whose result is the run's output",
            );
        }
        return None;
    };
    match ids.index_of.get(name.as_str()) {
        Some(&i) => Some(i),
        None if unreadable.thunks.contains(name) => None,
        None => {
            errors.add(
                SpecErrorKind::MissingThunk,
                "output",
                ids.missing(name, "output"),
            );
            None
        }
    }
}

/// Pass 3: the cycles, named by thunk id, one error per cycle.
fn check_cycles(
    spec: &WorkflowSpec,
    ids: &Ids<'_>,
    graph_deps: &[Vec<usize>],
    errors: &mut Errors,
) {
    let names: Vec<&str> = spec.thunks().map(|(_, t)| t.thunk_id.as_str()).collect();
    for cycle in onex_graph::find_cycles(graph_deps) {
        let first = cycle.nodes()[0];
        let path: Vec<&str> = cycle.nodes().iter().map(|&i| names[i]).collect();
        errors.add(
            SpecErrorKind::Cycle,
            format!("{}.dependencies", ids.locations[first]),
            format!("cycle: {} -> {}", path.join(" -> "), path[0]),
        );
    }
}

/// The graph of a spec without errors: one step per thunk, in document order.
fn build(
    spec: &WorkflowSpec,
    resolved: Vec<Option<ResolvedThunk>>,
    graph_deps: Vec<Vec<usize>>,
    output: usize,
) -> Result<Resolved, SpecErrors> {
    let workflow = spec.workflow_id.clone();
    let thunks: Vec<ResolvedThunk> = resolved.into_iter().flatten().collect();
    let steps = spec
        .thunks()
        .zip(&thunks)
        .zip(graph_deps)
        .map(|(((_, t), r), deps)| {
            let mut policy = StepPolicy::DEFAULT
                .retries(t.retry_count)
                .priority(t.priority);
            if let Some(timeout) = t.timeout() {
                policy = policy.timeout(timeout);
            }
            let mut step =
                StepSpec::new(t.thunk_id.clone(), t.target_node_type.clone(), r.node.kind)
                    .with_deps(deps)
                    .with_policy(policy)
                    .with_async(r.node.is_async())
                    .with_delivery(r.node.delivery);
            step.conditional = r.condition.is_some();
            step.compensated = r.node.compensate.is_some();
            step.signature = format!("({}) -> {}", r.node.input_type, r.node.output_type).into();
            step
        })
        .collect();
    let graph =
        Graph::new(Cow::Owned(workflow.clone()), Vec::new(), steps, output).map_err(|e| {
            // Unreachable after the checks above; reported rather than trusted.
            SpecErrors::single(
                workflow.clone(),
                SpecError::new(SpecErrorKind::Cycle, "", e.to_string()),
            )
        })?;
    Ok(Resolved { graph, thunks })
}

/// `a compute`, `an effect`, ...
fn with_article(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Compute => "a compute",
        NodeKind::Effect => "an effect",
        NodeKind::Reducer => "a reducer",
        NodeKind::Orchestrator => "an orchestrator",
    }
}

/// As written in specs: `COMPUTE`, `EFFECT`, `REDUCE`, `ORCHESTRATE`.
fn thunk_type_name(t: ThunkType) -> &'static str {
    match t {
        ThunkType::Compute => "COMPUTE",
        ThunkType::Effect => "EFFECT",
        ThunkType::Reduce => "REDUCE",
        ThunkType::Orchestrate => "ORCHESTRATE",
    }
}

/// `steps[0].operation_data` + `rows[1].id` = `steps[0].operation_data.rows[1].id`.
fn join_path(base: &str, inner: &str) -> String {
    if inner.is_empty() || inner.starts_with('[') {
        format!("{base}{inner}")
    } else {
        format!("{base}.{inner}")
    }
}
