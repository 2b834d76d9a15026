//! [`Program`]: the executable form of a workflow, shared by the static and dynamic paths.
//!
//! The `workflow!` macro generates one `Program` per workflow, with a slots struct holding
//! one typed [`Slot`](crate::store::Slot) per step, so values pass between steps with their
//! real types. Data-defined workflows implement it over `serde_json::Value`s. The executors
//! only ever see this trait: they decide *when* a step runs; the program decides *what* a
//! call does.
//!
//! Its items are public because the runtime's signatures name them, and hidden from the
//! docs: a workflow's author never writes them.

pub(crate) mod capture;
pub(crate) mod compensation;
pub(crate) mod dispatch;
pub(crate) mod erased;
pub(crate) mod feed;
pub(crate) mod fold;
pub(crate) mod gate;
pub(crate) mod invoke;
pub(crate) mod journaled;
pub(crate) mod known_nodes;
pub(crate) mod node;
pub(crate) mod op;
mod plan;
pub(crate) mod remote_nodes;
pub(crate) mod static_graph;

pub use plan::plan;

use std::future::Future;
use std::pin::Pin;

use crate::context::Context;
use crate::model::NodeError;
use crate::model::{ExecutionMode, Graph};
use crate::policy::{CacheEntry, KeyHasher};

/// The future of one asynchronous call.
#[doc(hidden)]
pub type StepFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NodeError>> + Send + 'a>>;

/// One call of a step: which step, which element of a `map`, which attempt, in which run.
///
/// # Examples
///
/// ```
/// # use onex::{Call, Context, ExecutionMode};
/// fn describe(call: Call<'_>) -> String {
///     format!("step {} item {} attempt {}", call.step, call.item, call.attempt)
/// }
/// ```
#[derive(Clone, Copy)]
#[doc(hidden)]
pub struct Call<'a> {
    /// The run's context: resources, ids, cancellation.
    pub ctx: &'a Context,
    /// The step's index in the graph.
    pub step: usize,
    /// The element of a `map` step (0 for other steps).
    pub item: usize,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// The run's execution mode (a reducer with `merge` folds in parallel in `Batch`).
    pub mode: ExecutionMode,
    /// Set on a synchronous attempt that runs under a timeout off the executor's thread:
    /// its output is stored only while the executor has not abandoned it, and otherwise
    /// handed to the gate for the step's compensation. Honoured by
    /// [`Program::call_async`], which is how the executors make such an attempt.
    pub(crate) gate: Option<&'a crate::program::gate::Gate>,
    /// Set on a straight-line run whose steps are recorded: where the line writes the
    /// clock at each step's end (see [`straight_line`](crate::__private::straight_line)).
    pub(crate) stamps: Option<crate::program::dispatch::LineStamps<'a>>,
}

impl<'a> Call<'a> {
    /// A call outside any run: the first attempt of step 0, with `ctx`. How a worker calls
    /// a `#[node(.., remote)]` it was sent by name.
    #[doc(hidden)]
    pub fn detached(ctx: &'a Context) -> Self {
        Call {
            ctx,
            step: 0,
            item: 0,
            attempt: 1,
            mode: ExecutionMode::Sequential,
            gate: None,
            stamps: None,
        }
    }

    /// Whether this attempt may store its output: `false` once the executor abandoned it at
    /// its timeout (see [`Program::call_async`]), when the output belongs to a later
    /// attempt or to nobody; the caller then drops it.
    ///
    /// For programs made outside this crate (specs); `workflow!`'s hand an abandoned
    /// attempt's output to the node's compensation instead.
    #[doc(hidden)]
    pub fn claim_output(&self) -> bool {
        match self.gate {
            Some(gate) => gate.claim(),
            None => true,
        }
    }
}

/// The executable form of a workflow.
///
/// Executors guarantee the order of calls for one run: `condition` and `width` only after
/// every dependency of the step completed (or, for optional dependencies, was skipped);
/// `call_*` only after `width`; `finish` once, after every item of the step completed;
/// `output` once, after the output step finished.
///
/// Implementations must not panic on user data: return a [`NodeError`] instead. A panic in a
/// node is contained by the executor all the same.
#[doc(hidden)]
pub trait Program: Send + Sync + 'static {
    /// The run's input (a tuple when the workflow has several).
    type Input: Send + 'static;
    /// The output step's value.
    type Output: Send + 'static;
    /// Per-run storage for step outputs.
    type Slots: Send + Sync + 'static;

    /// The graph: steps, dependencies, order, waves.
    fn graph(&self) -> &Graph;

    /// Fresh slots for a run on `input`.
    fn slots(&self, input: Self::Input) -> Self::Slots;

    /// Moves the output out of the slots; `None` when the output step did not complete.
    fn output(&self, slots: Self::Slots) -> Option<Self::Output>;

    /// Evaluates the step's `when` condition. Steps without one return `true`.
    fn condition(&self, slots: &Self::Slots, step: usize) -> Result<bool, NodeError> {
        let _ = (slots, step);
        Ok(true)
    }

    /// How many calls the step makes: the length of its `map` list, or 1.
    fn width(&self, slots: &Self::Slots, step: usize) -> Result<usize, NodeError> {
        let _ = (slots, step);
        Ok(1)
    }

    /// Makes one call of a synchronous step and stores its output.
    fn call_sync(&self, slots: &Self::Slots, call: Call<'_>) -> Result<(), NodeError>;

    /// Calls every step once, in [`Graph::order`], on this thread, storing each output, and
    /// stops at the first that fails; `None` when the program has no such body (the
    /// default), and then nothing was called.
    ///
    /// `call` carries the run's context and mode; before each call its `step` is set and
    /// `at` is set to the step's position in the order, so on an error or a panic the
    /// executor knows which step it was and that every step before it completed. Executors
    /// use it only for a fresh run of a graph whose steps are all plain and synchronous,
    /// with nothing observed per step (a run's records are written after it, from the
    /// clock readings the line takes when `call` asks for them): it is the same calls as
    /// [`call_sync`](Self::call_sync) step by step, with no bookkeeping between them.
    ///
    /// # Errors
    ///
    /// The failing step's error; its position is in `at`.
    fn run_straight(
        &self,
        slots: &Self::Slots,
        call: Call<'_>,
        at: &mut usize,
    ) -> Option<Result<(), NodeError>> {
        let _ = (slots, call, at);
        None
    }

    /// Runs a fresh run of `input` through every step on this thread and returns its
    /// output: the calls of [`run_straight`](Self::run_straight) with no run around them.
    /// As there, before each call `at` is set to the step's position in
    /// [`Graph::order`] (and `call.step` to the step), so on an error or a panic the
    /// caller knows which step it was.
    ///
    /// The default keeps the values in the program's slots
    /// ([`lean_by_slots`](crate::__private::lean_by_slots)); in an optimized build,
    /// `workflow!` gives a graph of plain steps a body of its own that keeps them in
    /// locals and calls the nodes directly. Used only for a graph whose
    /// steps are all plain and synchronous, with nothing observed per step
    /// (`run_batch_lean`).
    ///
    /// # Errors
    ///
    /// The failing step's error; its position is in `at`.
    fn run_lean(
        &self,
        input: Self::Input,
        call: Call<'_>,
        at: &mut usize,
    ) -> Result<Self::Output, NodeError>
    where
        Self: Sized,
    {
        crate::program::dispatch::lean_by_slots(self, input, call, at)
    }

    /// Makes one call of an asynchronous step (or a nested workflow) and stores its output.
    ///
    /// The executors also make a synchronous attempt that runs under a timeout through
    /// this method (its future is ready at once), with a gate on the call that decides
    /// whether the output may be stored: an attempt abandoned at its timeout must not
    /// overwrite a later attempt's output. Programs made by `workflow!` and by a
    /// spec `NodeRegistry` honour it; this default, which calls
    /// [`call_sync`](Self::call_sync), does not.
    fn call_async<'a>(&'a self, slots: &'a Self::Slots, call: Call<'a>) -> StepFuture<'a> {
        let result = self.call_sync(slots, call);
        Box::pin(std::future::ready(result))
    }

    /// Completes a step once all its calls completed (collects a `map` step's items).
    fn finish(&self, slots: &Self::Slots, step: usize) -> Result<(), NodeError> {
        let _ = (slots, step);
        Ok(())
    }

    /// The compensation of one completed call of an effect step, if its node declares one.
    fn compensate<'a>(&'a self, slots: &'a Self::Slots, call: Call<'a>) -> Option<StepFuture<'a>> {
        let _ = (slots, call);
        None
    }

    /// A hash of the call's inputs made with `hasher`, to find its cache entry by; `None`
    /// when the step cannot be cached.
    ///
    /// The hash only finds a candidate: [`cache_load`](Self::cache_load) decides whether it
    /// answers the call, so inputs equal for `cache_load` must hash alike, as for any
    /// `HashMap` key.
    fn input_hash(
        &self,
        slots: &Self::Slots,
        call: Call<'_>,
        hasher: KeyHasher<'_>,
    ) -> Option<u64> {
        let _ = (slots, call, hasher);
        None
    }

    /// A cache entry for the completed call: a copy of its inputs and of its output.
    fn cache_store(&self, slots: &Self::Slots, call: Call<'_>) -> Option<CacheEntry> {
        let _ = (slots, call);
        None
    }

    /// Stores the entry's output as the call's output if the entry was made for inputs
    /// equal to the call's; `false` (and nothing stored) otherwise.
    fn cache_load(&self, slots: &Self::Slots, call: Call<'_>, entry: &CacheEntry) -> bool {
        let _ = (slots, call, entry);
        false
    }

    /// The stored output of the completed call, serialized, for a
    /// [step driver](crate::driver) to record; `None` when the program does not serialize
    /// its outputs (the default).
    ///
    /// # Errors
    ///
    /// Inside the `Some`: the output did not serialize.
    fn serialize_output(
        &self,
        slots: &Self::Slots,
        call: Call<'_>,
    ) -> Option<Result<serde_json::Value, NodeError>> {
        let _ = (slots, call);
        None
    }

    /// Stores `value`, a serialized output of the call's step, as the call's output: what
    /// a [step driver](crate::driver) hands back instead of the call (an output journaled
    /// by an earlier process, or made by a remote worker).
    ///
    /// # Errors
    ///
    /// The value does not deserialize into the step's output type, or the program does
    /// not deserialize outputs at all (the default).
    fn load_output(
        &self,
        slots: &Self::Slots,
        call: Call<'_>,
        value: serde_json::Value,
    ) -> Result<(), NodeError> {
        let _ = (slots, value);
        Err(NodeError::permanent(format!(
            "step #{} cannot take a serialized output: its workflow does not deserialize step outputs",
            call.step
        ))
        .with_code(crate::model::ErrorCode::InvalidInput))
    }

    /// The run's input, serialized, for a durable run's journal; `None` when the program
    /// does not serialize its input (the default: a workflow not declared `#[durable]`).
    ///
    /// # Errors
    ///
    /// Inside the `Some`: the input did not serialize.
    fn serialize_input(&self, input: &Self::Input) -> Option<Result<serde_json::Value, NodeError>> {
        let _ = input;
        None
    }

    /// The run's input from its serialized form, for resuming a journaled run in a new
    /// process.
    ///
    /// # Errors
    ///
    /// The value does not deserialize into the input type, or the program does not
    /// deserialize inputs at all (the default).
    fn load_input(&self, value: serde_json::Value) -> Result<Self::Input, NodeError> {
        let _ = value;
        Err(NodeError::permanent(
            "this workflow cannot take a serialized input: it is not declared `#[durable]`",
        )
        .with_code(crate::model::ErrorCode::InvalidInput))
    }

    /// The call's input, serialized, for the thunk's `operation_data` when capture is on.
    fn operation_data(&self, slots: &Self::Slots, call: Call<'_>) -> serde_json::Value {
        let _ = (slots, call);
        serde_json::Value::Null
    }
}
