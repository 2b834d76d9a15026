//! [`RemoteSteps`]: the step driver that sends chosen calls of a run to the workers.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use async_nats::HeaderMap;
use onex_runtime::driver::{
    CallEnd, CallStart, DriverFuture, Phase, Route, RunDriver, RunInfo, StepDriver,
};
use onex_runtime::{Thunk, WorkflowState};
use serde_json::Value;
use uuid::Uuid;

use crate::dispatcher::Dispatcher;
use crate::trace::{RemoteSpan, traceparent};
use crate::wire::{ATTEMPT_KEY, TRACEPARENT_HEADER, WORKFLOW_KEY};

/// How many finished runs keep their worker spans until [`RemoteSteps::worker_spans`]
/// takes them: older ones are dropped, so a long-lived orchestrator that never asks holds
/// a bounded amount.
const KEPT_RUNS: usize = 1024;

/// A [`StepDriver`] that makes the calls of chosen node types on the workers: each call
/// is published as a thunk through a [`Dispatcher`] and its output comes back from the
/// worker that ran it; every other call runs here, as without a driver.
///
/// Which calls go: those of the node types given to [`node_types`](Self::node_types), and
/// every call of a run started with `RunOptions::remote(true)`. Everything else about a
/// run is as in process, because the runtime keeps doing it around the driver's call:
/// conditions, `map` (one thunk per element), failure strategies, reports, circuit
/// breakers and the cache, and the step's policies:
///
/// - **Retries** are the step's: each attempt is one thunk, sent with a retry budget of 0
///   so that the worker makes one attempt and reports a transient error back; the runtime
///   waits the step's backoff and makes the next attempt, a new thunk whose id is derived
///   from the first one's and the attempt number (so the report shows every attempt, as
///   in process, and an attempt published twice is still deduplicated). A worker that dies
///   mid-thunk is not an attempt: the server redelivers that thunk to another worker.
/// - **Timeouts** are the step's: the thunk carries the step's timeout, which bounds the
///   node on the worker, and the runtime stops waiting for the result at the same limit.
///   Without a step timeout the dispatcher's own limit applies
///   ([`Dispatcher::timeout`]).
/// - **Compensations** run here, in the orchestrator: a compensation is code of the
///   workflow (a closure or a method of the node), not a thunk a worker can be sent, and
///   it runs when the run fails, where the run is.
///
/// A remote call needs its input and output serialized: spec runs (`onex-spec`) always
/// are; a static `workflow!` must be declared `#[durable]`. Workers run the node types
/// their registry holds: `NodeRegistry::linked()` holds every `#[node(.., remote)]` linked
/// into the worker binary. Every thunk carries W3C trace
/// context (`traceparent`: the run's id as the trace id), and each worker writes when it
/// ran the node into the result; [`worker_spans`](Self::worker_spans) gives them back per
/// run, and [`chrome_trace`](crate::chrome_trace) draws them beside the run.
///
/// It is a plain step driver, so it composes with a journal: the journal decides whether a
/// call is made at all, and this driver where.
///
/// # Examples
///
/// ```no_run
/// use onex_nats::{Dispatcher, RemoteSteps};
/// use onex_runtime::Runtime;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
/// let remote = RemoteSteps::new(Dispatcher::new(client).await?).node_types(["Charge", "Render"]);
/// let rt = Runtime::builder().step_driver(remote.clone()).build();
/// // Runs of `rt` now call `Charge` and `Render` on the workers, everything else here;
/// // `RunOptions::new().remote(true)` sends all of a run's calls.
/// # let _ = rt; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteSteps {
    dispatcher: Dispatcher,
    /// The node types sent in every run, each with the dispatcher it goes through.
    node_types: Arc<HashMap<String, Dispatcher>>,
    spans: Arc<Mutex<FinishedRuns>>,
}

/// The worker spans of finished runs, oldest first, by run id.
type FinishedRuns = VecDeque<(Uuid, Vec<RemoteSpan>)>;

impl RemoteSteps {
    /// A driver sending calls through `dispatcher`; none yet, until
    /// [`node_types`](Self::node_types) names some or a run asks for all.
    pub fn new(dispatcher: Dispatcher) -> Self {
        RemoteSteps {
            dispatcher,
            node_types: Arc::default(),
            spans: Arc::default(),
        }
    }

    /// The same driver also sending the calls of these node types (their
    /// `target_node_type`, as workers register them) through its dispatcher.
    pub fn node_types<I, S>(self, node_types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let dispatcher = self.dispatcher.clone();
        self.partition(dispatcher, node_types)
    }

    /// The same driver also sending the calls of these node types through `dispatcher`:
    /// a partition of their own, when its [`Layout`](crate::Layout) has another prefix (its
    /// own stream, consumer and results bucket, served by the workers started on that
    /// layout, placed on other servers of a cluster). Calls of other node types, and every
    /// call of a run with `RunOptions::remote(true)`, go through the driver's own
    /// dispatcher.
    ///
    /// ```no_run
    /// use onex_nats::{Dispatcher, Layout, RemoteSteps};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
    /// let io = Dispatcher::new(client.clone()).await?;
    /// let cpu = Dispatcher::with_layout(client, Layout::new("cpu")).await?;
    /// let remote = RemoteSteps::new(io).node_types(["Charge"]).partition(cpu, ["Render"]);
    /// assert!(remote.is_remote("Render"));
    /// # Ok(()) }
    /// ```
    pub fn partition<I, S>(mut self, dispatcher: Dispatcher, node_types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut all = (*self.node_types).clone();
        all.extend(
            node_types
                .into_iter()
                .map(|node_type| (node_type.into(), dispatcher.clone())),
        );
        self.node_types = Arc::new(all);
        self
    }

    /// Whether calls of `node_type` go to the workers in every run.
    pub fn is_remote(&self, node_type: &str) -> bool {
        self.node_types.contains_key(node_type)
    }

    /// The dispatcher the calls of `node_type` go through.
    fn dispatcher_of(&self, node_type: &str) -> &Dispatcher {
        self.node_types.get(node_type).unwrap_or(&self.dispatcher)
    }

    /// The dispatcher it sends calls through.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Takes the worker spans of the finished run `workflow_id` (its report's
    /// `workflow_id`): one per remote attempt that a worker ran, in the order they
    /// settled. Empty for a run with no remote calls, or one whose spans were taken or
    /// dropped (the last 1,024 runs are kept).
    pub fn worker_spans(&self, workflow_id: Uuid) -> Vec<RemoteSpan> {
        let mut runs = lock(&self.spans);
        match runs.iter().position(|(id, _)| *id == workflow_id) {
            Some(at) => runs.remove(at).map(|(_, spans)| spans).unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

impl fmt::Debug for RemoteSteps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut node_types: Vec<&String> = self.node_types.keys().collect();
        node_types.sort();
        f.debug_struct("RemoteSteps")
            .field("stream", &self.dispatcher.layout().stream_name())
            .field("node_types", &node_types)
            .finish_non_exhaustive()
    }
}

impl StepDriver for RemoteSteps {
    fn open<'a>(&'a self, run: &'a RunInfo<'a>) -> DriverFuture<'a, Box<dyn RunDriver>> {
        let opened = RemoteRun {
            steps: self.clone(),
            workflow_id: run.workflow_id,
            workflow: run.graph.name().to_string(),
            all: run.remote,
            attempts: Mutex::default(),
            spans: Mutex::default(),
        };
        Box::pin(async move { Ok(Box::new(opened) as Box<dyn RunDriver>) })
    }
}

/// The driver of one run.
struct RemoteRun {
    steps: RemoteSteps,
    workflow_id: Uuid,
    workflow: String,
    /// Every call goes (`RunOptions::remote`).
    all: bool,
    /// Attempts made so far, by the id of the call's first thunk.
    attempts: Mutex<HashMap<Uuid, u32>>,
    spans: Mutex<Vec<RemoteSpan>>,
}

impl RemoteRun {
    fn next_attempt(&self, thunk_id: Uuid) -> u32 {
        let mut attempts = lock(&self.attempts);
        let n = attempts.entry(thunk_id).or_insert(0);
        *n += 1;
        *n
    }
}

impl RunDriver for RemoteRun {
    fn checkpoint<'a>(
        &'a self,
        _: &'a [CallEnd<'a>],
        starting: &'a [CallStart<'a>],
    ) -> DriverFuture<'a, Vec<Route>> {
        let routes = starting
            .iter()
            .map(|call| {
                let remote = call.phase == Phase::Call
                    && (self.all || self.steps.is_remote(&call.spec.node_type));
                if remote { Route::Driver } else { Route::Local }
            })
            .collect();
        Box::pin(async move { Ok(routes) })
    }

    fn call<'a>(&'a self, call: &'a CallStart<'a>, mut thunk: Thunk) -> DriverFuture<'a, Value> {
        Box::pin(async move {
            let attempt = self.next_attempt(thunk.thunk_id);
            if attempt > 1 {
                thunk.thunk_id = attempt_id(thunk.thunk_id, attempt);
            }
            // The runtime retries, with the step's backoff: one attempt per thunk.
            thunk.retry_count = 0;
            thunk
                .metadata
                .insert(WORKFLOW_KEY.into(), Value::from(self.workflow.as_str()));
            thunk
                .metadata
                .insert(ATTEMPT_KEY.into(), Value::from(attempt));
            let mut headers = HeaderMap::new();
            headers.insert(
                TRACEPARENT_HEADER,
                traceparent(self.workflow_id, thunk.thunk_id).as_str(),
            );
            let dispatcher = self.steps.dispatcher_of(&thunk.target_node_type);
            let result = dispatcher.dispatch(thunk, &headers).await?;
            if let Some(span) = &result.span {
                lock(&self.spans).push(RemoteSpan {
                    step: call.spec.name.to_string(),
                    item: call.item,
                    attempt,
                    node_type: result.node_type.clone(),
                    thunk_id: result.thunk_id,
                    worker: result.worker.clone(),
                    delivery: result.attempt,
                    started_at: span.started_at,
                    duration: span.duration,
                    traceparent: span.traceparent.clone(),
                });
            }
            result.outcome
        })
    }

    fn close<'a>(&'a self, _: WorkflowState) -> DriverFuture<'a, ()> {
        let spans = std::mem::take(&mut *lock(&self.spans));
        if !spans.is_empty() {
            let mut runs = lock(&self.steps.spans);
            if runs.len() == KEPT_RUNS {
                runs.pop_front();
            }
            runs.push_back((self.workflow_id, spans));
        }
        Box::pin(async { Ok(()) })
    }
}

/// The thunk id of attempt `attempt` (> 1) of the call whose first thunk is `first`:
/// derived, not drawn, so whoever derives it again from the same first thunk publishes the
/// same id, which the server deduplicates and the results bucket answers.
fn attempt_id(first: Uuid, attempt: u32) -> Uuid {
    Uuid::new_v5(&first, &attempt.to_be_bytes())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent (pushes, removes).
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_ids_are_distinct_and_stable() {
        let first = Uuid::new_v4();
        assert_ne!(attempt_id(first, 2), first);
        assert_ne!(attempt_id(first, 2), attempt_id(first, 3));
        assert_eq!(attempt_id(first, 2), attempt_id(first, 2));
    }
}
