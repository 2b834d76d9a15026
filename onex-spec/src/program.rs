//! [`SpecProgram`] and [`DynamicWorkflow`]: a validated spec as a [`Program`], run by the
//! same executors, modes and failure strategies as a static workflow.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::registry::Invoke;
use crate::spec::WorkflowSpec;
use crate::validate::{Resolved, ResolvedThunk, Source};
use onex_runtime::Graph;
use onex_runtime::NodeKind;
use onex_runtime::RunOptions;
use onex_runtime::Runtime;
use onex_runtime::Thunk;
use onex_runtime::WorkflowRun;
use onex_runtime::{CacheEntry, CacheWeight, KeyHasher};
use onex_runtime::{Call, Program, StepFuture};
use onex_runtime::{NodeError, WorkflowError};

/// A validated spec as a [`Program`]: one graph step per thunk (named by its `thunk_id`,
/// in document order), values passed between steps as `serde_json::Value`s.
///
/// Made by [`NodeRegistry::load`](crate::NodeRegistry::load); most code uses it
/// through [`DynamicWorkflow`]. Its input is a JSON value that thunks take by listing
/// `$input` among their dependencies (`null` when a spec carries all its data in
/// `operation_data`); its output is the output thunk's JSON value.
///
/// # Examples
///
/// ```
/// # use onex::dynamic::NodeRegistry;
/// # use onex::Program;
/// let mut registry = NodeRegistry::new();
/// registry.compute_infallible("Double", |n: &i64| n * 2);
/// let wf = registry.load_json(r#"{"workflow_id": "w", "output": "a",
///   "steps": [{"step_id": "s", "thunks": [{"thunk_id": "a", "target_node_type": "Double", "operation_data": 2}]}]}"#).unwrap();
/// let program = wf.program();
/// assert_eq!(program.graph().step(0).name, "a");
/// ```
pub struct SpecProgram {
    spec: WorkflowSpec,
    graph: Graph,
    thunks: Vec<ResolvedThunk>,
}

impl SpecProgram {
    /// The spec it was built from.
    pub fn spec(&self) -> &WorkflowSpec {
        &self.spec
    }

    /// The arguments of a thunk's call: `operation_data` (when not null) followed by the
    /// outputs of its dependencies (or the run's input for `$input`); one argument as
    /// itself, several as an array.
    fn input(&self, slots: &SpecSlots, step: usize) -> Result<Value, NodeError> {
        let thunk = self.thunk(step)?;
        let mut args = Vec::with_capacity(thunk.args.len() + 1);
        if !thunk.operation_data.is_null() {
            args.push(thunk.operation_data.clone());
        }
        for &source in &thunk.args {
            args.push(self.value_of(slots, source)?.clone());
        }
        Ok(match args.len() {
            0 => Value::Null,
            1 => args.pop().unwrap_or(Value::Null),
            _ => Value::Array(args),
        })
    }

    fn value_of<'s>(&self, slots: &'s SpecSlots, source: Source) -> Result<&'s Value, NodeError> {
        match source {
            Source::Input => Ok(&slots.input),
            Source::Thunk(step) => self.output_of(&slots.outputs, step),
        }
    }

    fn thunk(&self, step: usize) -> Result<&ResolvedThunk, NodeError> {
        self.thunks
            .get(step)
            .ok_or_else(|| NodeError::internal(format!("no step #{step} in a spec program")))
    }

    fn output_of<'s>(
        &self,
        slots: &'s [OnceLock<Value>],
        step: usize,
    ) -> Result<&'s Value, NodeError> {
        slots.get(step).and_then(OnceLock::get).ok_or_else(|| {
            let name = self
                .graph
                .steps()
                .get(step)
                .map_or("?", |s| s.name.as_ref());
            NodeError::internal(format!(
                "the output of thunk `{name}` was read before it was stored"
            ))
        })
    }

    /// Stores a call's output, unless its attempt was abandoned at its timeout (see
    /// [`Program::call_async`]): synchronous nodes of a registry have no compensation, so
    /// that output is dropped.
    fn store(&self, slots: &SpecSlots, call: Call<'_>, value: Value) -> Result<(), NodeError> {
        let step = call.step;
        let slot = slots
            .outputs
            .get(step)
            .ok_or_else(|| NodeError::internal(format!("no slot #{step} in a spec program")))?;
        if call.claim_output() {
            // A second value for the slot can only come from a late attempt of a pure
            // step: the first one stays.
            let _ = slot.set(value);
        }
        Ok(())
    }
}

/// The per-run storage of a [`SpecProgram`]: the run's input and one JSON slot per thunk.
///
/// Made by [`Program::slots`]; opaque otherwise.
pub struct SpecSlots {
    input: Value,
    outputs: Vec<OnceLock<Value>>,
}

impl std::fmt::Debug for SpecSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpecSlots")
            .field("input", &self.input)
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl Program for SpecProgram {
    type Input = Value;
    type Output = Value;
    type Slots = SpecSlots;

    fn graph(&self) -> &Graph {
        &self.graph
    }

    fn slots(&self, input: Value) -> Self::Slots {
        SpecSlots {
            input,
            outputs: self.thunks.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    fn output(&self, slots: Self::Slots) -> Option<Value> {
        slots
            .outputs
            .into_iter()
            .nth(self.graph.output())?
            .into_inner()
    }

    fn condition(&self, slots: &Self::Slots, step: usize) -> Result<bool, NodeError> {
        match &self.thunk(step)?.condition {
            None => Ok(true),
            Some((condition, tested)) => condition.evaluate(self.value_of(slots, *tested)?),
        }
    }

    fn call_sync(&self, slots: &Self::Slots, call: Call<'_>) -> Result<(), NodeError> {
        let thunk = self.thunk(call.step)?;
        match &thunk.node.invoke {
            Invoke::Sync(node) => {
                let output = node(self.input(slots, call.step)?)?;
                self.store(slots, call, output)
            }
            Invoke::Async(_) => Err(NodeError::internal(format!(
                "effect thunk `{}` was called synchronously",
                self.graph.step(call.step).name
            ))),
        }
    }

    fn call_async<'a>(&'a self, slots: &'a Self::Slots, call: Call<'a>) -> StepFuture<'a> {
        let node = match self.thunk(call.step) {
            Ok(thunk) => &thunk.node,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        match &node.invoke {
            Invoke::Sync(_) => Box::pin(std::future::ready(self.call_sync(slots, call))),
            Invoke::Async(node) => Box::pin(async move {
                let input = self.input(slots, call.step)?;
                let output = node(call.ctx.clone(), input).await?;
                self.store(slots, call, output)
            }),
        }
    }

    fn compensate<'a>(&'a self, slots: &'a Self::Slots, call: Call<'a>) -> Option<StepFuture<'a>> {
        let undo = self.thunks.get(call.step)?.node.compensate.as_ref()?;
        Some(Box::pin(async move {
            let output = self.output_of(&slots.outputs, call.step)?.clone();
            undo(call.ctx.clone(), output).await
        }))
    }

    fn input_hash(
        &self,
        slots: &Self::Slots,
        call: Call<'_>,
        hasher: KeyHasher<'_>,
    ) -> Option<u64> {
        // Only compute nodes are pure, so only they may be answered from a cache.
        if self.thunks.get(call.step)?.node.kind != NodeKind::Compute {
            return None;
        }
        let input = self.input(slots, call.step).ok()?;
        Some(hasher.hash_one(&input))
    }

    // An entry is the call's input and output, as JSON: a hit needs the inputs equal.
    fn cache_store(&self, slots: &Self::Slots, call: Call<'_>) -> Option<CacheEntry> {
        let input = self.input(slots, call.step).ok()?;
        let output = slots.outputs.get(call.step)?.get()?.clone();
        let weight = input.cache_weight() + output.cache_weight();
        Some(CacheEntry::new(input, output, weight))
    }

    fn cache_load(&self, slots: &Self::Slots, call: Call<'_>, entry: &CacheEntry) -> bool {
        let (Some(kept), Some(output), Some(slot)) = (
            entry.inputs::<Value>(),
            entry.output::<Value>(),
            slots.outputs.get(call.step),
        ) else {
            return false;
        };
        match self.input(slots, call.step) {
            Ok(input) if input == *kept => {
                let _ = slot.set(output.clone());
                true
            }
            _ => false,
        }
    }

    // Outputs are JSON already: a step driver records them and hands them back as they are.
    fn serialize_output(
        &self,
        slots: &Self::Slots,
        call: Call<'_>,
    ) -> Option<Result<Value, NodeError>> {
        Some(self.output_of(&slots.outputs, call.step).cloned())
    }

    fn load_output(
        &self,
        slots: &Self::Slots,
        call: Call<'_>,
        value: Value,
    ) -> Result<(), NodeError> {
        self.store(slots, call, value)
    }

    // The input is JSON already: a durable run journals it as it is.
    fn serialize_input(&self, input: &Value) -> Option<Result<Value, NodeError>> {
        Some(Ok(input.clone()))
    }

    fn load_input(&self, value: Value) -> Result<Value, NodeError> {
        Ok(value)
    }

    fn operation_data(&self, slots: &Self::Slots, call: Call<'_>) -> Value {
        self.input(slots, call.step).unwrap_or(Value::Null)
    }
}

/// A loaded spec, ready to run: a cheap handle on a validated [`SpecProgram`].
///
/// # Examples
///
/// ```
/// use onex::dynamic::NodeRegistry;
/// use onex::{ExecutionMode, Runtime};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), onex::WorkflowError> {
/// let mut registry = NodeRegistry::new();
/// registry
///     .compute_infallible("Double", |n: &i64| n * 2)
///     .compute_infallible("Add", |(a, b): &(i64, i64)| a + b);
/// let wf = registry.load_yaml(r#"
/// workflow_id: sums
/// steps:
///   - step_id: main
///     thunks:
///       - { thunk_id: a, target_node_type: Double, operation_data: 10 }
///       - { thunk_id: b, target_node_type: Double, operation_data: 11 }
///       - { thunk_id: sum, target_node_type: Add, dependencies: [a, b] }
/// output: sum
/// "#).unwrap();
/// assert_eq!(wf.graph().wave_count(), 2);
/// assert_eq!(wf.plan().len(), 3);
///
/// let rt = Runtime::default();
/// let run = wf.run(&rt, wf.run_options().mode(ExecutionMode::Batch)).await?;
/// assert_eq!(run.output, serde_json::json!(42));
/// assert_eq!(run.report.steps_completed, 3);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DynamicWorkflow {
    program: Arc<SpecProgram>,
}

impl DynamicWorkflow {
    pub(crate) fn from_resolved(spec: WorkflowSpec, resolved: Resolved) -> Self {
        DynamicWorkflow {
            program: Arc::new(SpecProgram {
                spec,
                graph: resolved.graph,
                thunks: resolved.thunks,
            }),
        }
    }

    /// The spec.
    pub fn spec(&self) -> &WorkflowSpec {
        &self.program.spec
    }

    /// The graph: one step per thunk, in document order.
    pub fn graph(&self) -> &Graph {
        &self.program.graph
    }

    /// The program, for [`Runtime::run`] and [`Runtime::run_batch`].
    pub fn program(&self) -> Arc<SpecProgram> {
        self.program.clone()
    }

    /// The options the spec asks for (see [`WorkflowSpec::run_options`]).
    pub fn run_options(&self) -> RunOptions {
        self.program.spec.run_options()
    }

    /// Runs the workflow on `runtime` with `options` and a `null` input; pass
    /// [`run_options`](Self::run_options) for the spec's own mode and failure strategy.
    ///
    /// # Errors
    ///
    /// A [`WorkflowError`] carrying the report when the output thunk did not complete.
    pub async fn run(
        &self,
        runtime: &Runtime,
        options: RunOptions,
    ) -> Result<WorkflowRun<Value>, WorkflowError> {
        self.run_on(runtime, Value::Null, options).await
    }

    /// Runs the workflow on `input`: thunks that list `$input` among their dependencies
    /// receive it as that argument, and conditions may test it (`thunk: $input`).
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub async fn run_on(
        &self,
        runtime: &Runtime,
        input: Value,
        options: RunOptions,
    ) -> Result<WorkflowRun<Value>, WorkflowError> {
        runtime.run(self.program.clone(), input, options).await
    }

    /// Resumes the durable run `run_id` of this workflow from the runtime's journal (see
    /// `Runtime::resume`): its journaled steps are not called again.
    ///
    /// # Errors
    ///
    /// As `Runtime::resume`: no journal, an unknown or leased run, a changed graph; or
    /// the run's own result.
    pub async fn resume(
        &self,
        runtime: &Runtime,
        run_id: impl Into<String>,
        options: RunOptions,
    ) -> Result<WorkflowRun<Value>, WorkflowError> {
        runtime.resume(self.program.clone(), run_id, options).await
    }

    /// Runs the workflow once per input, all runs advancing together so that the calls of
    /// one node type across inputs are one rayon job; results in input order.
    pub async fn run_batch(
        &self,
        runtime: &Runtime,
        inputs: Vec<Value>,
        options: RunOptions,
    ) -> Vec<Result<WorkflowRun<Value>, WorkflowError>> {
        runtime
            .run_batch(self.program.clone(), inputs, options)
            .await
    }

    /// The thunks a run would emit, nothing executed: one per spec thunk, dependencies
    /// first, each carrying its own `operation_data` (downstream thunks refer to their
    /// inputs through their dependencies) and `"step": thunk_id` in its metadata.
    pub fn plan(&self) -> Vec<Thunk> {
        onex_runtime::plan(&self.program.graph, |step| {
            self.program
                .thunks
                .get(step)
                .map_or(Value::Null, |t| t.operation_data.clone())
        })
    }
}

impl std::fmt::Debug for DynamicWorkflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicWorkflow")
            .field("workflow_id", &self.program.spec.workflow_id)
            .field("thunks", &self.program.thunks.len())
            .finish_non_exhaustive()
    }
}
