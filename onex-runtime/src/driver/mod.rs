//! The seam between scheduling and invocation: where a step call runs, and where its
//! result is recorded.
//!
//! A [`StepDriver`] on the [`Runtime`](crate::Runtime)
//! ([`RuntimeBuilder::step_driver`](crate::RuntimeBuilder::step_driver)) opens a
//! [`RunDriver`] for each run. The executors then hand the run driver every *boundary* of
//! the run — a point where calls are about to start — in one call,
//! [`checkpoint`](RunDriver::checkpoint), with the calls that ended since the last
//! boundary and the calls about to start; the driver answers, per starting call, how it is
//! made ([`Route`]). A durable journal writes the outcomes and the intents of one boundary
//! in one commit; a remote driver takes calls to run elsewhere; both answer calls whose
//! output they already have.
//!
//! The order a run driver sees, for one run:
//!
//! 1. [`StepDriver::open`], before the run's first step;
//! 2. per boundary, [`RunDriver::checkpoint`]`(ended, starting)`:
//!    - `Sequential`: one boundary per step (the outcome of step *k* with the intent of
//!      step *k + 1*);
//!    - `Parallel` and `Batch`: one per wave (the outcomes of wave *w* with the intents of
//!      wave *w + 1*); `run_batch`, one per step of each input's run;
//!    - no call starts before its checkpoint returned, and a call's consumers start only
//!      after the checkpoint that carried its outcome returned;
//! 3. [`RunDriver::call`], for each call routed to the driver ([`Route::Driver`]), with the
//!    call's thunk (its input in `operation_data`), possibly concurrently with others, once
//!    per attempt;
//! 4. a last `checkpoint(ended, [])` when the run stops scheduling;
//! 5. if the run compensates: per completed effect, newest first, a checkpoint whose
//!    starting call is the compensation ([`Phase::Compensation`]), and its outcome in the
//!    next one (the last alone);
//! 6. [`RunDriver::close`] with the run's final state.
//!
//! Without a driver none of this happens and nothing of it is paid for: the executors'
//! fast paths (the straight line, direct stretches, fused batches) stay on, as they do
//! without an observer. With one they are off, since every call passes a boundary.
//!
//! An error from the driver stops the run: the calls of that boundary fail with it and no
//! other call starts. Nested workflows run without the driver: to their enclosing run's
//! driver the nested run is one call.

use std::fmt;

use futures_util::future::BoxFuture;
use serde_json::Value;
use uuid::Uuid;

use crate::model::Graph;
use crate::model::StepSpec;
use crate::model::{ExecutionMode, NodeError, Thunk, WorkflowState};

/// The future a driver returns: boxed, so drivers are usable as trait objects.
pub type DriverFuture<'a, T> = BoxFuture<'a, Result<T, NodeError>>;

/// Opens a [`RunDriver`] for each run of a [`Runtime`](crate::Runtime).
///
/// # Examples
///
/// A driver that lets every call run here, with nothing recorded:
///
/// ```
/// use onex::driver::{CallEnd, CallStart, DriverFuture, Route, RunDriver, RunInfo, StepDriver};
/// use onex::Runtime;
///
/// #[derive(Debug)]
/// struct Here;
///
/// impl StepDriver for Here {
///     fn open<'a>(&'a self, _: &'a RunInfo<'a>) -> DriverFuture<'a, Box<dyn RunDriver>> {
///         Box::pin(async { Ok(Box::new(Here) as Box<dyn RunDriver>) })
///     }
/// }
///
/// impl RunDriver for Here {
///     fn checkpoint<'a>(
///         &'a self,
///         _: &'a [CallEnd<'a>],
///         starting: &'a [CallStart<'a>],
///     ) -> DriverFuture<'a, Vec<Route>> {
///         let routes = starting.iter().map(|_| Route::Local).collect();
///         Box::pin(async move { Ok(routes) })
///     }
/// }
///
/// let rt = Runtime::builder().step_driver(Here).build();
/// assert!(rt.has_step_driver());
/// ```
pub trait StepDriver: Send + Sync + fmt::Debug + 'static {
    /// The driver of the run `run`, before its first step. An error fails the run before
    /// any call.
    fn open<'a>(&'a self, run: &'a RunInfo<'a>) -> DriverFuture<'a, Box<dyn RunDriver>>;
}

/// The driver of one run: sees its boundaries, makes the calls it takes, and hears how the
/// run ended. See the [module documentation](self) for the order of calls.
pub trait RunDriver: Send + Sync {
    /// One boundary of the run: the calls that ended since the last one (their outcomes)
    /// and the calls about to start. Returns one [`Route`] per starting call, in order.
    fn checkpoint<'a>(
        &'a self,
        ended: &'a [CallEnd<'a>],
        starting: &'a [CallStart<'a>],
    ) -> DriverFuture<'a, Vec<Route>>;

    /// Makes `call`, which [`checkpoint`](Self::checkpoint) routed to the driver, and
    /// returns its output, serialized; the executor stores it in the step's slot. `thunk`
    /// is the call's thunk, its input in `operation_data`; its id is the same across the
    /// call's attempts.
    ///
    /// The default fails: a driver that never answers [`Route::Driver`] need not make calls.
    fn call<'a>(&'a self, call: &'a CallStart<'a>, thunk: Thunk) -> DriverFuture<'a, Value> {
        let _ = thunk;
        let step = call.spec.name.to_string();
        Box::pin(async move {
            Err(NodeError::internal(format!(
                "step `{step}` was routed to a driver that makes no calls"
            )))
        })
    }

    /// The run ended in `state`, after its compensations. The default does nothing.
    fn close<'a>(&'a self, state: WorkflowState) -> DriverFuture<'a, ()> {
        let _ = state;
        Box::pin(async { Ok(()) })
    }
}

/// Which run a [`StepDriver`] opens a driver for.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RunInfo<'a> {
    /// The run's id (`WorkflowReport::workflow_id`).
    pub workflow_id: Uuid,
    /// Its correlation id.
    pub operation_id: Uuid,
    /// The workflow's graph: its name, steps and order.
    pub graph: &'a Graph,
    /// How the run schedules its steps.
    pub mode: ExecutionMode,
    /// Whether the run asks for all its calls to be made elsewhere
    /// ([`RunOptions::remote`](crate::RunOptions::remote)); a driver that makes calls
    /// remotely routes every call to itself when it is set.
    pub remote: bool,
}

/// What a call is for: the step's node, or the compensation of its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// A call of the step's node.
    Call,
    /// The compensation of a completed call of an effect step.
    Compensation,
}

/// A call about to start.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallStart<'a> {
    /// The step's index in the graph.
    pub step: usize,
    /// The element of a `map` step (0 for other steps).
    pub item: usize,
    /// The call's node, or the compensation of its output.
    pub phase: Phase,
    /// The step: its name, node type, kind and policy.
    pub spec: &'a StepSpec,
}

impl<'a> CallStart<'a> {
    pub(crate) fn new(step: usize, item: usize, phase: Phase, spec: &'a StepSpec) -> Self {
        CallStart {
            step,
            item,
            phase,
            spec,
        }
    }
}

/// A call that ended, with its outcome.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CallEnd<'a> {
    /// The step's index in the graph.
    pub step: usize,
    /// The element of a `map` step (0 for other steps).
    pub item: usize,
    /// The call's node, or the compensation of its output.
    pub phase: Phase,
    /// The step: its name, node type, kind and policy.
    pub spec: &'a StepSpec,
    /// How many attempts it took (0 when it was settled without calling: a cache hit, an
    /// open circuit).
    pub attempts: u32,
    /// How it ended.
    pub result: Result<(), &'a NodeError>,
    /// Its output, serialized: `Some` for a completed call of a program that serializes
    /// its outputs (an `Err` if that failed), `None` otherwise.
    pub output: Option<Result<&'a Value, &'a NodeError>>,
}

/// How a starting call is made, as the driver decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Here, with the step's policies.
    Local,
    /// Not at all: its output is known (journaled by an earlier process, say) and goes
    /// into the step's slot as if the call had returned it. For a compensation: it ran
    /// already.
    Done(Value),
    /// By the driver ([`RunDriver::call`]), with the step's policies around it.
    Driver,
    /// Not at all: the call fails with this error (an effect in doubt, say).
    Fail(NodeError),
}
