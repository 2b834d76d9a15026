//! The executors: sequential, parallel waves, and rayon batches.
//!
//! `run` and `run_batch` set a run up (slots, context, records), hand it to
//! [`dispatch`] which decides when and where each call runs, then turn the run's state into
//! a [`WorkflowRun`] or a [`WorkflowError`]. Policies around one call live in [`call`].

mod call;
mod clock;
mod compensate;
mod dispatch;
mod fused;
mod future;
mod off_thread;
mod shared;
mod state;
mod straggler;

pub(crate) use clock::warm_up as warm_up_clock;
pub use future::{BatchFuture, NestedFuture, RunFuture};

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::program::erased::{AnyInput, AnyOutput, Erased};
use self::shared::Shared;
use self::state::RunState;
use crate::context::Context;
use crate::model::{ErrorCode, NodeError, WorkflowError};
use crate::model::{ExecutionMode, FailureStrategy};
use crate::model::RunOptions;
use crate::program::Program;
use crate::model::WorkflowRun;
use crate::runtime::Runtime;
use crate::model::StepState;

impl Runtime {
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
    fn run_batch_any(
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
            let cancel = options.cancel.clone().unwrap_or_default();
            self.execute(program, inputs, &options, cancel, None).await
        })
    }

    async fn execute<P: Program>(
        &self,
        program: Arc<P>,
        inputs: Vec<P::Input>,
        options: &RunOptions,
        cancel: CancellationToken,
        parent: Option<&Context>,
    ) -> Vec<Result<WorkflowRun<P::Output>, WorkflowError>> {
        let n = inputs.len();
        let lockstep = n > 1;
        let setup = Setup {
            rt: self,
            name: program.graph().name_cow(),
            program,
            options,
            mode: parent.map_or(options.mode, Context::mode),
            first_id: options.workflow_id.unwrap_or_else(Uuid::new_v4),
            operation_id: options.operation_id.or(parent.map(Context::operation_id)),
            cancel: Arc::new(cancel),
        };
        let name = &setup.name;
        let span = tracing::info_span!(
            "workflow",
            workflow = %name,
            workflow_id = %setup.first_id,
            runs = n,
        );
        let direct = dispatch::direct_allowed(self, options);
        if lockstep && direct && dispatch::all_plain(setup.program.graph()) {
            // Synchronous, so nothing can interrupt it at an `.await`: each input checks
            // its token and deadline between stretches instead.
            return fused::execute(&setup, inputs, &span);
        }
        let contexts = (0..n).map(|i| setup.context(i)).collect();
        // A plain loop: the slots struct is one typed slot per step (16 KB for 1,000 steps),
        // and collecting through iterator adapters moved each one twice more.
        let mut slots: Vec<P::Slots> = Vec::with_capacity(n);
        for input in inputs {
            slots.push(setup.program.slots(input));
        }
        let sh = Arc::new(setup.shared(slots, contexts, direct, clock::Start::now()));
        let mut on_drop = compensate::CompensateOnDrop {
            shared: Some(Arc::clone(&sh)),
            strategy: options.failure_strategy,
        };
        let started_at = std::time::SystemTime::now();
        let mut states: Vec<RunState> =
            (0..n).map(|run| setup.run_state(run, started_at)).collect();

        if let Some(observer) = sh.observer() {
            for ctx in &sh.contexts {
                observer.on_event(&crate::RunEvent::RunStarted {
                    workflow: name,
                    workflow_id: ctx.workflow_id(),
                    steps: sh.program.graph().steps().len(),
                });
            }
        }
        let interruption = {
            let work = async {
                if lockstep {
                    dispatch::run_lockstep(self, &sh, &mut states).await;
                } else {
                    dispatch::run_all(self, &sh, &mut states[0]).await;
                }
            };
            interruptible(work, &setup.cancel, options.timeout)
                .instrument(span.clone())
                .await
        };
        let _entered = span.enter();
        for state in &mut states {
            if let Some(why) = &interruption {
                state.interrupted = Some(why.clone());
                state.stopped = true;
                sh.abort(state.run);
            }
            let why = state
                .interrupted
                .clone()
                .unwrap_or_else(NodeError::cancelled);
            state.cancel_unfinished(&sh, &why);
        }
        drop(_entered);
        let program = Arc::clone(&sh.program);
        let graph = program.graph();
        let output_step = graph.output();
        let produced: Vec<bool> = states
            .iter()
            .map(|s| s.final_state(output_step).has_output())
            .collect();
        // Stragglers still read the slots: the outputs can be taken only once every one
        // of them has returned.
        let any_output = produced.iter().any(|&p| p);
        for state in &mut states {
            let failed = state.first_failure.is_some() || state.interrupted.is_some();
            let saga = options.failure_strategy == FailureStrategy::Compensate && failed;
            let settled = async {
                let done = straggler::settle(&sh, state, any_output || saga).await;
                compensate::compensate(&sh, state, done, saga).await;
            };
            settled.instrument(span.clone()).await;
        }
        // Dropped before this, the run left what it had not settled to a task of its own.
        on_drop.disarm();

        let processing_time = sh.elapsed();
        let reports: Vec<_> = states
            .iter_mut()
            .map(|state| report(&sh, state, options, processing_time, &span))
            .collect();
        let mut outputs = take_outputs(sh, &produced);
        states
            .into_iter()
            .zip(reports)
            .map(|(state, report)| {
                let output = outputs.get_mut(state.run).and_then(Option::take);
                result(graph, state, report, output)
            })
            .collect()
    }
}

/// What every run of one `run` or `run_batch` call shares, and how each run's parts are
/// made from it.
struct Setup<'a, P: Program> {
    rt: &'a Runtime,
    program: Arc<P>,
    name: Cow<'static, str>,
    options: &'a RunOptions,
    mode: ExecutionMode,
    /// The id of the first input's run (`RunOptions::workflow_id` if set).
    first_id: Uuid,
    /// The correlation id set by the options or the enclosing run; otherwise one per run.
    operation_id: Option<Uuid>,
    cancel: Arc<CancellationToken>,
}

impl<P: Program> Setup<'_, P> {
    /// The context of input `i`.
    fn context(&self, i: usize) -> Context {
        let workflow_id = if i == 0 {
            self.first_id
        } else {
            Uuid::new_v4()
        };
        Context::new(
            self.rt.clone(),
            self.name.clone(),
            workflow_id,
            self.operation_id.unwrap_or_else(Uuid::new_v4),
            self.cancel.clone(),
            self.mode,
        )
    }

    /// What the calls of the runs with these slots and contexts share.
    fn shared(
        &self,
        slots: Vec<P::Slots>,
        contexts: Vec<Context>,
        direct: bool,
        start: clock::Start,
    ) -> Shared<P> {
        let options = self.options;
        Shared {
            program: Arc::clone(&self.program),
            slots,
            direct,
            abort: (0..contexts.len())
                .map(|_| AtomicBool::new(false))
                .collect(),
            effects: (0..contexts.len()).map(|_| Mutex::default()).collect(),
            contexts,
            mode: self.mode,
            cache_all: options.cache_all,
            capture: options.capture_inputs,
            observer: options.observer.clone(),
            timing: !options.records_off,
            start,
            deadline: options.timeout,
        }
    }

    /// Run `run` (an index into its `Shared`), not started, started at `started_at` (one
    /// clock reading for every input of a batch: they start together).
    fn run_state(&self, run: usize, started_at: std::time::SystemTime) -> RunState {
        RunState::new(
            &*self.program,
            run,
            self.options.failure_strategy,
            !self.options.records_off,
            started_at,
        )
    }
}

/// The report of a finished run, traced and told to the observer.
fn report<P: Program>(
    sh: &Shared<P>,
    state: &mut RunState,
    options: &RunOptions,
    processing_time: Duration,
    span: &tracing::Span,
) -> crate::WorkflowReport {
    let report = state.report(sh, options, processing_time);
    tracing::info!(
        parent: span,
        state = ?report.state,
        completed = report.steps_completed,
        failed = report.steps_failed,
        skipped = report.steps_skipped,
        elapsed_ms = report.processing_time.as_secs_f64() * 1000.0,
        "workflow finished"
    );
    if let Some(observer) = sh.observer() {
        observer.on_event(&crate::RunEvent::RunFinished {
            workflow: sh.program.graph().name(),
            state: report.state,
            elapsed: report.processing_time,
        });
    }
    report
}

/// A run's result: its output with its report, or why there is no output.
fn result<O>(
    graph: &crate::Graph,
    state: RunState,
    report: crate::WorkflowReport,
    output: Option<O>,
) -> Result<WorkflowRun<O>, WorkflowError> {
    let output_step = graph.output();
    if !state.final_state(output_step).has_output() {
        return Err(failure(graph, state, report));
    }
    match output {
        Some(output) => Ok(WorkflowRun { output, report }),
        None => Err(WorkflowError::StepFailed {
            step: graph.step(output_step).name.to_string(),
            error: NodeError::internal("the output step completed but its value is gone"),
            report: Box::new(report),
        }),
    }
}

/// Why a run produced no output, as a [`WorkflowError`].
fn failure(graph: &crate::Graph, state: RunState, report: crate::WorkflowReport) -> WorkflowError {
    let report = Box::new(report);
    if let Some(error) = state.interrupted {
        return WorkflowError::Cancelled { error, report };
    }
    // Named from the graph: with records off the report has no step records.
    let step_name = |i: usize| graph.step(i).name.to_string();
    if let Some((step, error)) = state.first_failure {
        return WorkflowError::StepFailed {
            step: step_name(step),
            error,
            report,
        };
    }
    let output_step = graph.output();
    match state.states[output_step] {
        StepState::Skipped => WorkflowError::OutputSkipped {
            step: step_name(output_step),
            report,
        },
        _ => WorkflowError::StepFailed {
            step: step_name(output_step),
            error: NodeError::internal("the run ended without its output and without a failure"),
            report,
        },
    }
}

/// Takes the runs' outputs out of the shared slots. Every straggler has returned (the runs
/// wait for theirs when one produced its output), so nothing else holds them.
fn take_outputs<P: Program>(sh: Arc<Shared<P>>, produced: &[bool]) -> Vec<Option<P::Output>> {
    if !produced.iter().any(|&p| p) {
        return Vec::new();
    }
    let Ok(shared) = Arc::try_unwrap(sh) else {
        return Vec::new();
    };
    let program = shared.program;
    shared
        .slots
        .into_iter()
        .zip(produced)
        .map(|(slots, &p)| if p { program.output(slots) } else { None })
        .collect()
}

/// Runs `work` until it ends, the token is cancelled, or the deadline passes.
async fn interruptible(
    work: impl Future<Output = ()>,
    cancel: &CancellationToken,
    timeout: Option<Duration>,
) -> Option<NodeError> {
    let deadline = async {
        match timeout {
            Some(limit) => {
                tokio::time::sleep(limit).await;
                limit
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        () = work => None,
        () = cancel.cancelled() => Some(NodeError::cancelled()),
        limit = deadline => Some(deadline_passed(limit)),
    }
}

/// The error of a run whose `RunOptions::timeout` passed.
fn deadline_passed(limit: Duration) -> NodeError {
    NodeError::new(
        ErrorCode::Timeout,
        format!("the run's deadline of {limit:?} passed"),
    )
}

fn internal_failure(message: &'static str) -> WorkflowError {
    WorkflowError::StepFailed {
        step: String::new(),
        error: NodeError::internal(message),
        report: Box::new(crate::WorkflowReport::empty("")),
    }
}

/// Runs a nested workflow as one step of an enclosing run: same runtime, no extra run slot
/// (the enclosing run holds one), the enclosing run's mode and correlation id, cancelled
/// with the enclosing run. Used by the code `workflow!` generates for a workflow used as a
/// node, with its input cloned from the step's arguments ([`nested_input`]); a missing
/// argument fails the step without a run.
///
/// # Errors
///
/// The future's: the missing argument, or the nested run's failure as a [`NodeError`]
/// naming the nested workflow.
#[doc(hidden)]
pub fn run_nested<P: Program>(
    ctx: &Context,
    program: Arc<P>,
    input: Result<P::Input, NodeError>,
) -> NestedFuture<'_, P::Output> {
    NestedFuture::new(input.map(|input| run_nested_any(ctx, Erased::new(program), Box::new(input))))
}

/// [`run_nested`] of an erased program, compiled once, here (see
/// `Runtime::run_batch_any`).
fn run_nested_any(
    ctx: &Context,
    program: Arc<Erased>,
    input: AnyInput,
) -> BoxFuture<'_, Result<AnyOutput, NodeError>> {
    Box::pin(run_nested_erased(ctx, program, input))
}

/// The body of [`run_nested_any`], kept apart so the boxing reads at a glance.
async fn run_nested_erased(
    ctx: &Context,
    program: Arc<Erased>,
    input: AnyInput,
) -> Result<AnyOutput, NodeError> {
    let options = RunOptions::new().records(true);
    let cancel = ctx.cancellation_token().child_token();
    let name = program.graph().name().to_string();
    let result = ctx
        .runtime()
        .execute(program, vec![input], &options, cancel, Some(ctx))
        .await
        .pop();
    match result {
        Some(Ok(run)) => Ok(run.output),
        Some(Err(e)) => {
            let code = e.code();
            let transient = e.node_error().is_some_and(NodeError::is_transient);
            let message = format!("nested workflow `{name}` failed: {e}");
            Err(if transient {
                NodeError::transient(message).with_code(code)
            } else {
                NodeError::permanent(message).with_code(code)
            })
        }
        None => Err(NodeError::internal("a nested run produced no result")),
    }
}
