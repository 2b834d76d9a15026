//! [`WorkflowSpec`]: a workflow as data, after ONEX's `ModelOrchestratorInput`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::condition::Condition;
use onex_runtime::RunOptions;
use onex_runtime::ThunkType;
use onex_runtime::{ExecutionMode, FailureStrategy};

/// The execution mode as a spec writes it: `sequential`, `parallel` or `batch`.
///
/// The parallel mode's bound comes from [`WorkflowSpec::max_parallel_steps`].
///
/// # Examples
///
/// ```
/// use onex::dynamic::SpecMode;
/// let m: SpecMode = serde_json::from_str("\"batch\"").unwrap();
/// assert_eq!(m, SpecMode::Batch);
/// assert!(serde_json::from_str::<SpecMode>("\"paralel\"").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecMode {
    /// One thunk at a time, in topological order.
    #[default]
    Sequential,
    /// Wave by wave, at most `max_parallel_steps` thunks at once.
    Parallel,
    /// Wave by wave, grouped by node type on the rayon pool.
    Batch,
}

impl SpecMode {
    /// The runtime's [`ExecutionMode`], with `max_parallel` for the parallel mode.
    pub fn to_execution_mode(self, max_parallel: usize) -> ExecutionMode {
        match self {
            SpecMode::Sequential => ExecutionMode::Sequential,
            SpecMode::Parallel => ExecutionMode::Parallel { max_parallel },
            SpecMode::Batch => ExecutionMode::Batch,
        }
    }
}

impl From<ExecutionMode> for SpecMode {
    fn from(mode: ExecutionMode) -> Self {
        match mode {
            ExecutionMode::Sequential => SpecMode::Sequential,
            ExecutionMode::Parallel { .. } => SpecMode::Parallel,
            ExecutionMode::Batch => SpecMode::Batch,
        }
    }
}

/// One thunk of a spec: one call of one registered node (ONEX `ModelThunk`).
///
/// # The node's input
///
/// A thunk's *arguments* are its `operation_data` (when not `null`) followed by the outputs
/// of its `dependencies`, in the order listed. One argument is passed to the node as itself;
/// several are passed as a JSON array, which deserializes into a tuple (or a `Vec`). So:
///
/// - no dependencies: the node gets `operation_data`;
/// - one dependency and no `operation_data`: the node gets that thunk's output;
/// - `dependencies: [a, b]`: the node gets `[output of a, output of b]`, e.g. as `(A, B)`;
/// - `operation_data: cfg` and `dependencies: [a]`: the node gets `[cfg, output of a]`.
///
/// The dependency `$input` stands for the run's input
/// ([`DynamicWorkflow::run_on`](crate::DynamicWorkflow::run_on)), so one spec can
/// process many inputs; ids starting with `$` are reserved for such names.
///
/// # Examples
///
/// ```
/// use onex::dynamic::SpecThunk;
/// let t: SpecThunk = serde_json::from_str(r#"{
///     "thunk_id": "clean", "target_node_type": "NodeDataTransformer",
///     "dependencies": ["records"], "retry_count": 2, "timeout_ms": 5000
/// }"#).unwrap();
/// assert_eq!(t.dependencies, ["records"]);
/// assert_eq!(t.timeout().unwrap().as_secs(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecThunk {
    /// Unique id within the spec; dependencies, conditions and the output refer to it. It is
    /// also the step name in the run's graph and report.
    pub thunk_id: String,
    /// The node kind; optional, since the registry knows it. When given, it must agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thunk_type: Option<ThunkType>,
    /// The registered node to call.
    pub target_node_type: String,
    /// The node's input data (see the type's docs for how it combines with dependencies).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub operation_data: Value,
    /// Ids of the thunks whose outputs this one takes, in argument order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Dispatch priority within a wave: lower runs first.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub priority: i32,
    /// The deadline of one attempt, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// How many times a transient failure is retried.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub retry_count: u32,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
}

impl SpecThunk {
    /// A thunk calling `target_node_type`, with no data, dependencies or settings.
    pub fn new(thunk_id: impl Into<String>, target_node_type: impl Into<String>) -> Self {
        SpecThunk {
            thunk_id: thunk_id.into(),
            thunk_type: None,
            target_node_type: target_node_type.into(),
            operation_data: Value::Null,
            dependencies: Vec::new(),
            priority: 0,
            timeout_ms: None,
            retry_count: 0,
            metadata: BTreeMap::new(),
        }
    }

    /// `timeout_ms` as a `Duration`.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }
}

/// One step of a spec: a group of thunks sharing an optional condition (ONEX
/// `ModelWorkflowStep`).
///
/// Steps group and label; the dependencies between thunks decide the order. When the
/// condition is false, every thunk of the step is skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecStep {
    /// Unique id within the spec.
    pub step_id: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub step_name: String,
    /// Runs the step's thunks only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// The step's thunks.
    pub thunks: Vec<SpecThunk>,
}

/// A workflow as data: thunks calling registered nodes, after ONEX's
/// `ModelOrchestratorInput`. Load it with a
/// [`NodeRegistry`](crate::NodeRegistry) to validate it and run it.
///
/// Unknown fields are rejected (a misspelt `dependecies` must not be silently ignored);
/// free-form data goes in `metadata`.
///
/// # Examples
///
/// ```
/// use onex::dynamic::{SpecMode, WorkflowSpec};
/// use onex::{ExecutionMode, FailureStrategy};
///
/// let spec = WorkflowSpec::from_yaml(r#"
/// workflow_id: double
/// execution_mode: parallel
/// failure_strategy: continue_on_error
/// max_parallel_steps: 2
/// steps:
///   - step_id: main
///     step_name: Double a number
///     thunks:
///       - thunk_id: twice
///         target_node_type: Double
///         operation_data: 21
/// output: twice
/// "#).unwrap();
/// assert_eq!(spec.execution_mode, SpecMode::Parallel);
/// let opts = spec.run_options();
/// assert_eq!(opts.get_mode(), ExecutionMode::Parallel { max_parallel: 2 });
/// assert_eq!(opts.get_failure_strategy(), FailureStrategy::ContinueOnError);
/// assert_eq!(WorkflowSpec::from_json(&spec.to_json().unwrap()).unwrap(), spec);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// The workflow's name (the report's `workflow`); when it is a UUID it is also the run's
    /// `workflow_id`.
    pub workflow_id: String,
    /// How thunks are scheduled; `sequential` by default.
    #[serde(default)]
    pub execution_mode: SpecMode,
    /// What happens when a thunk fails; `fail_fast` by default.
    #[serde(default)]
    pub failure_strategy: FailureStrategy,
    /// The most thunks in flight at once in `parallel` mode; 3 by default, at least 1.
    #[serde(default = "default_max_parallel")]
    pub max_parallel_steps: usize,
    /// Free-form annotations, copied into the run's report.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    /// The steps.
    pub steps: Vec<SpecStep>,
    /// The id of the thunk whose result is the run's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

fn default_max_parallel() -> usize {
    3
}

fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

impl WorkflowSpec {
    /// An empty spec: sequential, fail fast, 3 parallel steps, no steps, no output.
    pub fn new(workflow_id: impl Into<String>) -> Self {
        WorkflowSpec {
            workflow_id: workflow_id.into(),
            execution_mode: SpecMode::Sequential,
            failure_strategy: FailureStrategy::FailFast,
            max_parallel_steps: default_max_parallel(),
            metadata: BTreeMap::new(),
            steps: Vec::new(),
            output: None,
        }
    }

    /// The spec as pretty-printed JSON.
    ///
    /// # Errors
    ///
    /// When `metadata` or `operation_data` hold something JSON cannot (never for values that
    /// came from JSON or YAML).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// The spec as YAML.
    ///
    /// # Errors
    ///
    /// As [`to_json`](Self::to_json).
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        serde_yaml::to_string(self)
    }

    /// The run options the spec asks for: its mode (with `max_parallel_steps`), its failure
    /// strategy, its metadata, and its `workflow_id` when that is a UUID.
    ///
    /// Change them with the `RunOptions` builder methods before running, e.g. to run the
    /// same spec in another mode.
    pub fn run_options(&self) -> RunOptions {
        let mut options = RunOptions::new()
            .mode(
                self.execution_mode
                    .to_execution_mode(self.max_parallel_steps.max(1)),
            )
            .failure_strategy(self.failure_strategy);
        if let Ok(id) = uuid::Uuid::parse_str(&self.workflow_id) {
            options = options.workflow_id(id);
        }
        for (key, value) in &self.metadata {
            options = options.metadata(key.clone(), value.clone());
        }
        options
    }

    /// Every thunk with its step, in document order.
    pub fn thunks(&self) -> impl Iterator<Item = (&SpecStep, &SpecThunk)> + '_ {
        self.steps
            .iter()
            .flat_map(|step| step.thunks.iter().map(move |thunk| (step, thunk)))
    }

    /// The thunk with id `thunk_id`.
    pub fn thunk(&self, thunk_id: &str) -> Option<&SpecThunk> {
        self.thunks()
            .map(|(_, t)| t)
            .find(|t| t.thunk_id == thunk_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_carry_their_path() {
        let e = WorkflowSpec::from_json(
            r#"{"workflow_id": "w", "steps": [{"step_id": "s", "thunks": [
                {"thunk_id": "a", "target_node_type": "A", "dependecies": ["b"]}]}]}"#,
        )
        .unwrap_err();
        let first = &e.errors()[0];
        assert_eq!(first.kind, crate::SpecErrorKind::Parse);
        assert_eq!(first.location, "steps[0].thunks[0].dependecies");
        assert!(first.message.contains("unknown field `dependecies`"), "{e}");
    }

    #[test]
    fn trailing_garbage_and_bad_syntax_are_errors() {
        assert!(WorkflowSpec::from_json(r#"{"workflow_id": "w", "steps": []} x"#).is_err());
        assert!(WorkflowSpec::from_json("{").is_err());
        assert!(WorkflowSpec::from_yaml("steps: [").is_err());
        assert!(WorkflowSpec::from_yaml("").is_err());
    }

    #[test]
    fn defaults_and_round_trips() {
        let spec = WorkflowSpec::from_yaml("workflow_id: w\nsteps: []\n").unwrap();
        assert_eq!(spec, WorkflowSpec::new("w"));
        let yaml = spec.to_yaml().unwrap();
        assert_eq!(WorkflowSpec::from_yaml(&yaml).unwrap(), spec);
        let opts = spec.run_options();
        assert_eq!(opts.get_mode(), ExecutionMode::Sequential);
    }

    #[test]
    fn uuid_workflow_ids_become_the_run_id() {
        let id = uuid::Uuid::new_v4();
        let spec = WorkflowSpec::new(id.to_string());
        assert_eq!(spec.run_options().get_workflow_id(), Some(id));
    }
}
