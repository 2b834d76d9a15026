//! The futures [`Runtime::run`], [`Runtime::run_batch`] and [`run_nested`] return: the
//! erased run's boxed future, its output turned back into the program's type when it is
//! ready.
//!
//! Named types rather than `async fn`s: the body of a generic `async fn` is a state machine
//! the compiler builds, checks and compiles in every crate that polls it, once per
//! workflow, and so is every `async fn` wrapped around it there. These are one `poll` each,
//! generic only in the output type.
//!
//! [`Runtime::run`]: crate::Runtime::run
//! [`Runtime::run_batch`]: crate::Runtime::run_batch
//! [`run_nested`]: crate::__private::run_nested

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;

use crate::model::WorkflowRun;
use crate::model::{NodeError, WorkflowError};
use crate::program::erased::{AnyOutput, unerase};

/// The erased runs of a batch, in input order.
type Runs<'a> = BoxFuture<'a, Vec<Result<WorkflowRun<AnyOutput>, WorkflowError>>>;

/// The future of [`Runtime::run`](crate::Runtime::run): one run's output or its error.
///
/// Dropping it cancels the run's in-flight steps.
///
/// # Examples
///
/// ```
/// use onex::dynamic::NodeRegistry;
/// use onex::{RunFuture, RunOptions, Runtime};
/// use serde_json::{Value, json};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut registry = NodeRegistry::new();
/// registry.compute_infallible("Double", |x: &u64| x * 2);
/// let wf = registry
///     .load_yaml("workflow_id: d\nsteps:\n  - step_id: s\n    thunks:\n      - { thunk_id: d, target_node_type: Double, dependencies: [$input] }\noutput: d\n")
///     .unwrap();
/// let rt = Runtime::default();
/// let run: RunFuture<'_, Value> = rt.run(wf.program(), json!(21), RunOptions::new());
/// assert_eq!(run.await.unwrap().output, json!(42));
/// # });
/// ```
#[must_use = "a run does nothing until awaited"]
pub struct RunFuture<'a, O> {
    runs: Runs<'a>,
    output: PhantomData<fn() -> O>,
}

impl<'a, O> RunFuture<'a, O> {
    pub(crate) fn new(runs: Runs<'a>) -> Self {
        RunFuture {
            runs,
            output: PhantomData,
        }
    }
}

impl<O: 'static> Future for RunFuture<'_, O> {
    type Output = Result<WorkflowRun<O>, WorkflowError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match poll_one(&mut self.get_mut().runs, cx) {
            Poll::Ready(run) => Poll::Ready(unerase(run)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The one run of a [`RunFuture`], once ready. Not generic, so this is compiled here
/// rather than in every crate that polls a run, and the generic `poll`s spell their
/// control flow out in `match`es: a closure or a combinator of the standard library would
/// be one more generic function compiled there, in a codegen unit of its own.
fn poll_one(
    runs: &mut Runs<'_>,
    cx: &mut Context<'_>,
) -> Poll<Result<WorkflowRun<AnyOutput>, WorkflowError>> {
    match runs.as_mut().poll(cx) {
        Poll::Ready(mut runs) => Poll::Ready(
            runs.pop()
                .unwrap_or_else(|| Err(internal_failure("a run produced no result"))),
        ),
        Poll::Pending => Poll::Pending,
    }
}

/// The future of [`Runtime::run_batch`](crate::Runtime::run_batch): one result per input,
/// in input order.
///
/// # Examples
///
/// ```
/// use onex::dynamic::NodeRegistry;
/// use onex::{BatchFuture, RunOptions, Runtime};
/// use serde_json::{Value, json};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut registry = NodeRegistry::new();
/// registry.compute_infallible("Double", |x: &u64| x * 2);
/// let wf = registry
///     .load_yaml("workflow_id: d\nsteps:\n  - step_id: s\n    thunks:\n      - { thunk_id: d, target_node_type: Double, dependencies: [$input] }\noutput: d\n")
///     .unwrap();
/// let rt = Runtime::default();
/// let batch: BatchFuture<'_, Value> = rt.run_batch(wf.program(), vec![json!(1), json!(2)], RunOptions::new());
/// let outputs: Vec<Value> = batch.await.into_iter().map(|r| r.unwrap().output).collect();
/// assert_eq!(outputs, [json!(2), json!(4)]);
/// # });
/// ```
#[must_use = "a batch does nothing until awaited"]
pub struct BatchFuture<'a, O> {
    runs: Runs<'a>,
    output: PhantomData<fn() -> O>,
}

impl<'a, O> BatchFuture<'a, O> {
    pub(crate) fn new(runs: Runs<'a>) -> Self {
        BatchFuture {
            runs,
            output: PhantomData,
        }
    }
}

impl<O: 'static> Future for BatchFuture<'_, O> {
    type Output = Vec<Result<WorkflowRun<O>, WorkflowError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut().runs.as_mut().poll(cx) {
            Poll::Ready(runs) => Poll::Ready(runs.into_iter().map(unerase).collect()),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The future of a workflow run as a step of another ([`run_nested`]): its output, or the
/// step's error.
///
/// [`run_nested`]: crate::__private::run_nested
#[must_use = "a nested run does nothing until awaited"]
pub struct NestedFuture<'a, O> {
    run: Result<BoxFuture<'a, Result<AnyOutput, NodeError>>, Option<NodeError>>,
    output: PhantomData<fn() -> O>,
}

impl<'a, O> NestedFuture<'a, O> {
    pub(super) fn new(run: Result<BoxFuture<'a, Result<AnyOutput, NodeError>>, NodeError>) -> Self {
        NestedFuture {
            run: run.map_err(Some),
            output: PhantomData,
        }
    }
}

impl<O: 'static> Future for NestedFuture<'_, O> {
    type Output = Result<O, NodeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match poll_nested(&mut self.get_mut().run, cx) {
            Poll::Ready(Ok(output)) => Poll::Ready(match output.downcast::<O>() {
                Ok(output) => Ok(*output),
                Err(_) => Err(NodeError::internal(
                    "a nested run's output has another type than its program's",
                )),
            }),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The erased output of a [`NestedFuture`], once ready. Not generic (see [`poll_one`]).
fn poll_nested(
    run: &mut Result<BoxFuture<'_, Result<AnyOutput, NodeError>>, Option<NodeError>>,
    cx: &mut Context<'_>,
) -> Poll<Result<AnyOutput, NodeError>> {
    match run {
        Ok(run) => run.as_mut().poll(cx),
        // The input was missing: the step fails without a run.
        Err(e) => Poll::Ready(Err(e.take().unwrap_or_else(|| {
            NodeError::internal("a nested run polled after it failed")
        }))),
    }
}

fn internal_failure(message: &'static str) -> WorkflowError {
    WorkflowError::StepFailed {
        step: String::new(),
        error: NodeError::internal(message),
        report: Box::new(crate::WorkflowReport::empty("")),
    }
}
