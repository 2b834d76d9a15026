//! [`Runtime`]: where a program is run. Every method of the handle is here (it is declared
//! in `context/`, beside the `Context` that carries it): its builder, what it reports about
//! its shared services, and `run` / `run_batch`, which erase the program, admit the run
//! and hand it to [`execute`](execute::execute).

mod builder;
mod durable;
mod execute;
mod future;
mod nested;
mod serve;

pub use builder::RuntimeBuilder;
pub(crate) use execute::execute;
pub use future::{BatchFuture, NestedFuture, RunFuture};
pub use nested::run_nested;
pub use serve::{DEFAULT_IN_FLIGHT, Event, Served};

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::future::BoxFuture;

pub use crate::context::Runtime;
use crate::model::{RunOptions, WorkflowError, WorkflowRun};
use crate::policy::CircuitState;
use crate::policy::circuit::Circuit;
use crate::program::Program;
use crate::program::erased::{AnyInput, AnyOutput, Erased};

impl Runtime {
    /// A builder for a runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The bound on concurrent runs, if any.
    pub fn max_concurrent_workflows(&self) -> Option<usize> {
        self.inner.max_concurrent
    }

    /// How many runs are executing now (not counting runs waiting for a slot).
    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::Relaxed)
    }

    /// The most runs that have executed at once on this runtime.
    pub fn peak_running(&self) -> usize {
        self.inner.peak_running.load(Ordering::Relaxed)
    }

    /// The state of the circuit breaker of `node_type`, if one is configured.
    ///
    /// ```
    /// use std::time::Duration;
    /// use onex::{policy::{CircuitBreaker, CircuitState}, Runtime};
    /// let rt = Runtime::builder().circuit_breaker("Flaky", CircuitBreaker::new(3, Duration::from_secs(1))).build();
    /// assert_eq!(rt.circuit_state("Flaky"), Some(CircuitState::Closed { failures: 0 }));
    /// assert_eq!(rt.circuit_state("Other"), None);
    /// ```
    pub fn circuit_state(&self, node_type: &str) -> Option<CircuitState> {
        self.inner.breakers.get(node_type).map(Circuit::state)
    }

    /// The most threads the blocking pool runs (see
    /// [`RuntimeBuilder::blocking_threads`]).
    pub fn blocking_threads(&self) -> usize {
        self.inner.blocking.size()
    }

    /// Whether a [step driver](crate::driver) runs this runtime's step calls
    /// ([`RuntimeBuilder::step_driver`]).
    ///
    /// ```
    /// assert!(!onex::Runtime::default().has_step_driver());
    /// ```
    pub fn has_step_driver(&self) -> bool {
        self.inner.driver.is_some()
    }

    /// The journal durable runs are recorded in ([`RuntimeBuilder::journal`]), if any.
    ///
    /// ```
    /// assert!(onex::Runtime::default().journal().is_none());
    /// ```
    pub fn journal(&self) -> Option<&Arc<dyn crate::journal::Journal>> {
        self.inner.durable.as_ref().map(|d| &d.journal)
    }

    /// How many outputs the cache holds.
    pub fn cached_outputs(&self) -> usize {
        self.inner.cache.len()
    }

    /// The estimated bytes of the cache's entries (inputs and outputs), as
    /// [`CacheWeight`](crate::CacheWeight) counts them.
    ///
    /// ```
    /// use onex::Runtime;
    /// assert_eq!(Runtime::default().cached_bytes(), 0);
    /// ```
    pub fn cached_bytes(&self) -> usize {
        self.inner.cache.bytes()
    }

    /// The resource of type `T` registered with [`RuntimeBuilder::resource`], if any: how
    /// code outside a node (set-up, a test, the end of `main`) reads what the nodes share.
    /// Inside an effect node, [`Context::resource`](crate::Context::resource) does the same
    /// and turns a missing resource into a [`NodeError`](crate::NodeError).
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use onex::Runtime;
    ///
    /// #[derive(Default)]
    /// struct Ledger(Mutex<Vec<u64>>);
    ///
    /// let rt = Runtime::builder().resource(Ledger::default()).build();
    /// // ... runs whose effect nodes push to `ctx.resource::<Ledger>()?` ...
    /// let ledger = rt.resource::<Ledger>().expect("registered above");
    /// assert!(ledger.0.lock().unwrap().is_empty());
    /// assert!(rt.resource::<String>().is_none());
    /// ```
    pub fn resource<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.inner.resource::<T>()
    }

    /// Runs `program` on `input`.
    ///
    /// Waits for a slot when `max_concurrent_workflows` runs are already executing.
    /// Dropping the returned future cancels the run's in-flight steps.
    ///
    /// # Errors
    ///
    /// A [`WorkflowError`] carrying the report when the output was not produced: a step
    /// failed (under `FailFast` or `Compensate`, any step; under `ContinueOnError`, the
    /// output step or one it needs), the output step was skipped, or the run was cancelled.
    pub fn run<P: Program>(
        &self,
        program: Arc<P>,
        input: P::Input,
        options: RunOptions,
    ) -> RunFuture<'_, P::Output> {
        RunFuture::new(self.run_one_any(Erased::new(program), Box::new(input), options))
    }

    /// Runs `program` once per input. Each input is its own run with its own report;
    /// results come in input order. The batch takes one run slot of the runtime.
    ///
    /// When every step is plain and synchronous (and nothing observes the runs), each
    /// input runs start to end on a rayon worker; otherwise the inputs advance step by step
    /// together, and the synchronous calls of one step across every input are one rayon
    /// job.
    pub fn run_batch<P: Program>(
        &self,
        program: Arc<P>,
        inputs: Vec<P::Input>,
        options: RunOptions,
    ) -> BatchFuture<'_, P::Output> {
        let inputs = inputs
            .into_iter()
            .map(|i| Box::new(i) as AnyInput)
            .collect();
        BatchFuture::new(self.run_batch_any(Erased::new(program), inputs, options))
    }

    /// Runs `program` once per input and returns the completed inputs' outputs in input
    /// order with ONE [`BatchReport`](crate::BatchReport) for the batch: counts, each
    /// failure with its input's index, step and error, and a latency histogram of a sample
    /// of the inputs. No input gets a report of its own; for those, use
    /// [`run_batch`](Self::run_batch).
    ///
    /// When every step is plain and synchronous (no retries, timeout or cache), the run
    /// is `FailFast` with no run timeout, and nothing observes it (no observer, circuit
    /// breaker, cache-everything, input capture, step driver or `debug` tracing), each
    /// input runs typed, start to end, on a rayon worker; when no step is an effect, the
    /// inputs share one [`Context`](crate::Context) (no compute or reducer
    /// node sees it), and otherwise each input has its own; for a `workflow!` in an optimized
    /// build, an input's steps are direct calls with their outputs in locals. Otherwise the batch
    /// runs through [`run_batch`](Self::run_batch) and its results are summed up into the
    /// same [`BatchOutcome`](crate::BatchOutcome). The batch takes one run slot.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use onex::prelude::*;
    ///
    /// #[node(compute)]
    /// fn halve(n: &u32) -> Result<u32, NodeError> {
    ///     if n % 2 == 0 { Ok(n / 2) } else { Err(NodeError::permanent("odd")) }
    /// }
    ///
    /// workflow! {
    ///     workflow Halve(n: u32) -> u32 {
    ///         half = halve(n);
    ///         return half;
    ///     }
    /// }
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let rt = Runtime::default();
    /// let out = rt.run_batch_lean(Arc::new(Halve), vec![4, 3, 8], RunOptions::new()).await;
    /// assert_eq!(out.outputs, vec![2, 4]); // the completed inputs' outputs
    /// assert_eq!(out.output(2), Some(&4));
    /// assert_eq!(out.report.completed, 2);
    /// assert_eq!(out.report.failures[0].index, 1);
    /// assert_eq!(out.report.failures[0].step.as_deref(), Some("half"));
    /// # });
    /// ```
    pub fn run_batch_lean<P: Program>(
        &self,
        program: Arc<P>,
        inputs: Vec<P::Input>,
        options: RunOptions,
    ) -> BoxFuture<'_, crate::BatchOutcome<P::Output>> {
        Box::pin(async move {
            let workflow = program.graph().name().to_string();
            let start = std::time::Instant::now();
            if !self.lean_allowed(program.graph(), &options) {
                let runs = self.run_batch(program, inputs, options).await;
                let mut outcome = crate::BatchOutcome::from_runs(workflow, runs);
                outcome.report.elapsed = start.elapsed();
                return outcome;
            }
            let _slot = self.admit().await;
            let name = program.graph().name_cow();
            let operation_id = options.operation_id.unwrap_or_else(uuid::Uuid::new_v4);
            let cancel = Arc::new(options.cancel.clone().unwrap_or_default());
            let context = || {
                crate::Context::new(
                    self.clone(),
                    name.clone(),
                    uuid::Uuid::new_v4(),
                    operation_id,
                    Arc::clone(&cancel),
                    options.mode,
                )
            };
            let lean = crate::exec::lean::execute(
                &*program,
                inputs,
                options.mode,
                options.cancel.as_ref(),
                context,
            );
            crate::BatchOutcome {
                report: crate::BatchReport {
                    workflow,
                    completed: lean.outputs.len(),
                    failures: lean.failures,
                    elapsed: start.elapsed(),
                    latency: lean.latency,
                },
                outputs: lean.outputs,
            }
        })
    }

    /// Whether [`run_batch_lean`](Self::run_batch_lean) may run `graph` on its lean path.
    fn lean_allowed(&self, graph: &crate::Graph, options: &RunOptions) -> bool {
        let driven = self.inner.driver.is_some();
        crate::exec::direct_allowed(self, options, driven)
            && crate::exec::all_plain(graph)
            && options.failure_strategy == crate::FailureStrategy::FailFast
            && options.timeout.is_none()
    }

    /// One input through the batch entry point, which admits the run and executes it. Not
    /// generic, so the one-element `Vec` is built here rather than in every caller's crate.
    fn run_one_any(
        &self,
        program: Arc<Erased>,
        input: AnyInput,
        options: RunOptions,
    ) -> BoxFuture<'_, Vec<Result<WorkflowRun<AnyOutput>, WorkflowError>>> {
        self.run_batch_any(program, vec![input], options)
    }

    /// [`run`](Self::run) and [`run_batch`](Self::run_batch) of an erased program. Neither
    /// generic nor `async`: its future is boxed, so the executors are compiled once, here,
    /// rather than in every crate that polls them (and the typed futures wrapped around it
    /// are plain structs, see [`RunFuture`]).
    pub(crate) fn run_batch_any(
        &self,
        program: Arc<Erased>,
        inputs: Vec<AnyInput>,
        options: RunOptions,
    ) -> BoxFuture<'_, Vec<Result<WorkflowRun<AnyOutput>, WorkflowError>>> {
        Box::pin(async move {
            if inputs.is_empty() {
                return Vec::new();
            }
            let _slot = self.admit().await;
            let inputs = match &self.inner.durable {
                Some(journaled) => {
                    match durable::run(self, journaled, program.clone(), inputs, &options).await {
                        Ok(results) => return results,
                        Err(inputs) => inputs,
                    }
                }
                None => inputs,
            };
            let cancel = options.cancel.clone().unwrap_or_default();
            execute(self, program, inputs, &options, cancel, None, None).await
        })
    }

    /// Waits for a run slot; the returned guard frees it when dropped.
    pub(crate) async fn admit(&self) -> Admission<'_> {
        let permit = match &self.inner.permits {
            // The semaphore is never closed, so `acquire` cannot fail.
            Some(semaphore) => semaphore.acquire().await.ok(),
            None => None,
        };
        let now = self.inner.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.inner.peak_running.fetch_max(now, Ordering::Relaxed);
        Admission {
            runtime: self,
            _permit: permit,
        }
    }
}

/// A run's claim on the runtime; dropping it lets the next run in.
pub(crate) struct Admission<'a> {
    runtime: &'a Runtime,
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.runtime.inner.running.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Runtime {
    /// A runtime with no bound on concurrent runs, no resources or circuit breakers, and
    /// the default cache bounds ([`CachePolicy::DEFAULT`](crate::CachePolicy::DEFAULT)).
    fn default() -> Self {
        Runtime::builder().build()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("max_concurrent_workflows", &self.inner.max_concurrent)
            .field("resources", &self.inner.resources.len())
            .field("running", &self.running())
            .finish_non_exhaustive()
    }
}
