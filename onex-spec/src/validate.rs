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
use crate::parse::Unreadable;
use crate::registry::{NodeRegistry, RegisteredNode, short_type_name};
use crate::spec::WorkflowSpec;
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
pub(crate) fn resolve(
    spec: &WorkflowSpec,
    registry: &NodeRegistry,
    unreadable: &Unreadable,
) -> Result<Resolved, SpecErrors> {
    let mut errors = Vec::new();
    let mut error = |kind, location: String, message: String| {
        errors.push(SpecError::new(kind, location, message));
    };

    if spec.workflow_id.trim().is_empty() && !unreadable.workflow_id {
        error(
            SpecErrorKind::InvalidSetting,
            "workflow_id".into(),
            "is empty: name the workflow".into(),
        );
    }
    if spec.max_parallel_steps == 0 {
        error(
            SpecErrorKind::InvalidSetting,
            "max_parallel_steps".into(),
            "is 0: at least one step must be able to run".into(),
        );
    }

    // Pass 1: ids. The first occurrence of a thunk id wins, so references still resolve.
    let mut step_ids: HashMap<&str, usize> = HashMap::new();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    let mut locations = Vec::new();
    for (s, step) in spec.steps.iter().enumerate() {
        if step.step_id.is_empty() {
            error(
                SpecErrorKind::DuplicateId,
                format!("steps[{}].step_id", unreadable.step(s)),
                "is empty".into(),
            );
        } else if let Some(first) = step_ids.insert(&step.step_id, s) {
            step_ids.insert(&step.step_id, first);
            error(
                SpecErrorKind::DuplicateId,
                format!("steps[{}].step_id", unreadable.step(s)),
                format!(
                    "duplicate step id `{}` (first used by steps[{}])",
                    step.step_id,
                    unreadable.step(first)
                ),
            );
        }
        for (t, thunk) in step.thunks.iter().enumerate() {
            let here = unreadable.thunk(s, t);
            let index = locations.len();
            if thunk.thunk_id.is_empty() {
                error(
                    SpecErrorKind::DuplicateId,
                    format!("{here}.thunk_id"),
                    "is empty".into(),
                );
            } else if thunk.thunk_id.starts_with('$') {
                error(
                    SpecErrorKind::DuplicateId,
                    format!("{here}.thunk_id"),
                    format!(
                        "`{}`: ids starting with `$` are reserved (`{INPUT}` names the run's input)",
                        thunk.thunk_id
                    ),
                );
            } else if let Some(&first) = index_of.get(thunk.thunk_id.as_str()) {
                let first_at: &String = &locations[first];
                error(
                    SpecErrorKind::DuplicateId,
                    format!("{here}.thunk_id"),
                    format!(
                        "duplicate thunk id `{}` (first used by {first_at})",
                        thunk.thunk_id
                    ),
                );
            } else {
                index_of.insert(&thunk.thunk_id, index);
            }
            locations.push(here);
        }
    }
    let thunk_ids = || index_of.keys().copied();
    // Each suggestion compares a name with every id; a budget keeps a huge spec with
    // thousands of dangling references from taking quadratic time to reject.
    let suggestions = std::cell::Cell::new(SUGGESTION_BUDGET);
    let missing = |name: &str, what: &str| {
        let hint = match suggestions.get().checked_sub(1) {
            Some(left) => {
                suggestions.set(left);
                did_you_mean(name, thunk_ids())
            }
            None => String::new(),
        };
        format!("{what} `{name}` names no thunk of this spec{hint}")
    };

    // Pass 2: nodes, settings, references and data, thunk by thunk.
    let mut resolved: Vec<Option<ResolvedThunk>> = Vec::new();
    let mut graph_deps: Vec<Vec<usize>> = Vec::new();
    for (s, step) in spec.steps.iter().enumerate() {
        let condition = step.condition.as_ref().and_then(|c| {
            let at = format!("steps[{}].condition", unreadable.step(s));
            if let Some((field, problem)) = c.static_problem() {
                error(
                    SpecErrorKind::InvalidCondition,
                    format!("{at}.{field}"),
                    problem,
                );
            }
            if c.thunk == INPUT {
                return Some((c.clone(), Source::Input));
            }
            match index_of.get(c.thunk.as_str()) {
                Some(&i) => Some((c.clone(), Source::Thunk(i))),
                None if unreadable.thunks.contains(&c.thunk) => None,
                None => {
                    error(
                        SpecErrorKind::MissingThunk,
                        format!("{at}.thunk"),
                        missing(&c.thunk, "condition thunk"),
                    );
                    None
                }
            }
        });
        for (t, thunk) in step.thunks.iter().enumerate() {
            let here = unreadable.thunk(s, t);
            let node = registry.get(&thunk.target_node_type);
            match node {
                None => error(
                    SpecErrorKind::UnknownNodeType,
                    format!("{here}.target_node_type"),
                    format!(
                        "unknown node type `{}`{}",
                        thunk.target_node_type,
                        if registry.node_types().next().is_none() {
                            " (the registry is empty)".to_string()
                        } else {
                            did_you_mean(&thunk.target_node_type, registry.node_types())
                        }
                    ),
                ),
                Some(node) => {
                    if let Some(given) = thunk.thunk_type
                        && given != node.kind.thunk_type()
                    {
                        error(
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
                                here.clone(),
                                format!(
                                    "has no operation_data and no dependencies, but `{}` needs \
                                     an input (`{input}`): {}",
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
                        error(SpecErrorKind::InvalidOperationData, at, message);
                    }
                }
            }
            if thunk.timeout_ms == Some(0) {
                error(
                    SpecErrorKind::InvalidSetting,
                    format!("{here}.timeout_ms"),
                    "is 0: every attempt would time out at once; omit it for no deadline".into(),
                );
            }
            let mut args = Vec::with_capacity(thunk.dependencies.len());
            for (d, dep) in thunk.dependencies.iter().enumerate() {
                if dep == INPUT {
                    args.push(Source::Input);
                    continue;
                }
                match index_of.get(dep.as_str()) {
                    Some(&i) => args.push(Source::Thunk(i)),
                    None if unreadable.thunks.contains(dep) => {}
                    None => error(
                        SpecErrorKind::MissingThunk,
                        format!("{here}.dependencies[{d}]"),
                        missing(dep, "dependency"),
                    ),
                }
            }
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

    let output = match &spec.output {
        None if unreadable.output => None,
        None => {
            error(
                SpecErrorKind::MissingOutput,
                "output".into(),
                "missing: name the thunk whose result is the run's output".into(),
            );
            None
        }
        Some(name) => match index_of.get(name.as_str()) {
            Some(&i) => Some(i),
            None if unreadable.thunks.contains(name) => None,
            None => {
                error(
                    SpecErrorKind::MissingThunk,
                    "output".into(),
                    missing(name, "output"),
                );
                None
            }
        },
    };

    // Pass 3: cycles, named by thunk id, one error per cycle.
    let ids: Vec<&str> = spec.thunks().map(|(_, t)| t.thunk_id.as_str()).collect();
    for cycle in onex_graph::find_cycles(&graph_deps) {
        let first = cycle.nodes()[0];
        let path: Vec<String> = cycle.nodes().iter().map(|&i| ids[i].to_string()).collect();
        let mut text = path.join(" -> ");
        text.push_str(" -> ");
        text.push_str(&path[0]);
        error(
            SpecErrorKind::Cycle,
            format!("{}.dependencies", locations[first]),
            format!("cycle: {text}"),
        );
    }

    let workflow = spec.workflow_id.clone();
    let (Some(output), true) = (output, errors.is_empty()) else {
        return Err(SpecErrors::new(workflow, errors));
    };
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
                    .with_async(r.node.is_async());
            step.conditional = r.condition.is_some();
            step.compensated = r.node.compensate.is_some();
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
