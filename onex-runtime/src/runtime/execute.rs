//! One call of `run` or `run_batch`, start to end: set its runs up, schedule them
//! (`exec`), stop them when cancelled or out of time, settle their stragglers, compensate,
//! and turn each run's state into its result.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::context::{Context, Runtime};
use crate::durable::run_driver::Opened;
use crate::exec;
use crate::model::{FailureStrategy, NodeError, RunOptions, WorkflowError, WorkflowRun};
use crate::program::erased::{AnyInput, AnyOutput, AnySlots, Erased};
use crate::run::execution::deadline_passed;
use crate::run::result::{report, result, take_outputs};
use crate::run::saga::{CompensateOnDrop, compensate};
use crate::run::setup::Setup;
use crate::run::state::RunState;
use crate::run::{clock, driven, straggler};

/// Executes `inputs` through `program`, each input its own run; results in input order.
/// `parent` is the context of the step this is nested in, if it is; `journaled`, one per
/// input, what the journal holds of each durable run.
pub(crate) async fn execute(
    rt: &Runtime,
    program: Arc<Erased>,
    inputs: Vec<AnyInput>,
    options: &RunOptions,
    cancel: CancellationToken,
    parent: Option<&Context>,
    journaled: Option<Vec<Opened>>,
) -> Vec<Result<WorkflowRun<AnyOutput>, WorkflowError>> {
    let n = inputs.len();
    let lockstep = n > 1;
    let setup = Setup {
        rt,
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
    // A nested run is one call of its enclosing run's driver, and has none of its own.
    let driven = (rt.inner.driver.is_some() || journaled.is_some()) && parent.is_none();
    let direct = exec::direct_allowed(rt, options, driven);
    if lockstep && direct && exec::all_plain(setup.program.graph()) {
        // Synchronous, so nothing can interrupt it at an `.await`: each input checks
        // its token and deadline between stretches instead.
        return exec::fused::execute(&setup, inputs, &span);
    }
    let mut contexts: Vec<Context> = (0..n).map(|i| setup.context(i)).collect();
    // A lost lease stops a single run at once; a batch's other runs go on, and the one
    // that lost its lease stops at its next boundary.
    let lease_lost = (n == 1 && journaled.is_some()).then(CancellationToken::new);
    if let Some(journaled) = &journaled {
        for (ctx, opened) in contexts.iter_mut().zip(journaled) {
            ctx.set_run_id(Arc::clone(&opened.run_id));
        }
    }
    let drivers = driven::open(
        &setup,
        &contexts,
        parent.is_some(),
        journaled,
        lease_lost.clone(),
    )
    .await;
    // A plain loop: the slots struct is one typed slot per step (large for a long workflow),
    // and collecting through iterator adapters moved each one twice more.
    let mut slots: Vec<AnySlots> = Vec::with_capacity(n);
    for input in inputs {
        slots.push(setup.program.slots(input));
    }
    let start = clock::Start::now();
    let sh = Arc::new(setup.shared(slots, contexts, direct, start, drivers.unwrap_or_default()));
    let mut on_drop = CompensateOnDrop {
        shared: Some(Arc::clone(&sh)),
        strategy: options.failure_strategy,
    };
    let started_at = std::time::SystemTime::now();
    let mut states: Vec<RunState> = (0..n).map(|run| setup.run_state(run, started_at)).collect();

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
        let work = exec::schedule(rt, &sh, &mut states);
        interruptible(work, &setup.cancel, lease_lost.as_ref(), options.timeout)
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
            driven::flush(&sh, state).await;
            let done = straggler::settle(&sh, state, any_output || saga).await;
            compensate(&sh, state, done, saga).await;
            driven::close(&sh, state, state.final_state(output_step)).await;
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

/// Runs `work` until it ends, the token is cancelled, or the deadline passes.
async fn interruptible(
    work: impl Future<Output = ()>,
    cancel: &CancellationToken,
    lease_lost: Option<&CancellationToken>,
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
        () = lost(lease_lost) => Some(crate::durable::run_driver::lease_lost()),
        limit = deadline => Some(deadline_passed(limit)),
    }
}

/// Until `token` is cancelled; never without one.
async fn lost(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}
