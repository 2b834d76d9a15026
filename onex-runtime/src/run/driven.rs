//! The executors' side of the [step driver](crate::driver) seam: opening a driver per run,
//! a boundary before calls start, the compensations, the close.
//!
//! Every function here returns at once when the execution has no driver, so an executor
//! calls them unconditionally at its boundaries. What they do with a driver is boxed, so
//! that the executors' futures, which hold theirs, do not grow by it.

use serde_json::Value;

use super::execution::{CallId, Execution};
use super::outcome::Outcome;
use super::setup::Setup;
use super::state::RunState;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::driver::{CallEnd, CallStart, Phase, Route, RunDriver, RunInfo, StepDriver};
use crate::durable::run_driver::{JournalRun, Opened};
use crate::model::{NodeError, Thunk, WorkflowState};
use crate::policy::panic::contain;

/// A call that ended, kept until its run's next boundary.
pub(crate) struct Ended {
    call: CallId,
    phase: Phase,
    attempts: u32,
    result: Result<(), NodeError>,
    output: Option<Result<Value, NodeError>>,
}

impl Ended {
    fn view<'a>(&'a self, sh: &'a Execution) -> CallEnd<'a> {
        CallEnd {
            step: self.call.step,
            item: self.call.item,
            phase: self.phase,
            spec: sh.program.graph().step(self.call.step),
            attempts: self.attempts,
            result: self.result.as_ref().map(|_| ()),
            output: self.output.as_ref().map(Result::as_ref),
        }
    }
}

/// The drivers of the runs `setup` is about to start, one per context; `None` without a
/// driver or journal on the runtime, or for a nested run (its enclosing run's driver sees
/// it as one call). A run whose driver did not open gets one that refuses every call, so
/// that it stops at its first boundary with the error. Durable runs (`journaled`, one per
/// context) get a journal's driver around the runtime's step driver, if any; `lost` is
/// cancelled when a run's lease is lost.
pub(crate) async fn open(
    setup: &Setup<'_>,
    contexts: &[Context],
    nested: bool,
    journaled: Option<Vec<Opened>>,
    lost: Option<CancellationToken>,
) -> Option<Vec<Box<dyn RunDriver>>> {
    if nested {
        return None;
    }
    let inner = setup.rt.inner.driver.as_ref();
    let (Some(journaled), Some(durable)) = (journaled, setup.rt.inner.durable.as_ref()) else {
        return Some(Box::pin(open_each(setup, contexts, inner?.as_ref())).await);
    };
    let mut inner_drivers = match inner {
        Some(inner) => Box::pin(open_each(setup, contexts, inner.as_ref()))
            .await
            .into_iter()
            .map(Some)
            .collect(),
        None => Vec::new(),
    };
    inner_drivers.resize_with(contexts.len(), || None);
    let drivers = journaled
        .into_iter()
        .zip(inner_drivers)
        .map(|(opened, inner)| {
            let lost = lost.clone();
            let on_lost = move || {
                if let Some(lost) = lost {
                    lost.cancel();
                }
            };
            Box::new(JournalRun::new(Arc::clone(durable), opened, inner, on_lost))
                as Box<dyn RunDriver>
        })
        .collect();
    Some(drivers)
}

async fn open_each(
    setup: &Setup<'_>,
    contexts: &[Context],
    driver: &dyn StepDriver,
) -> Vec<Box<dyn RunDriver>> {
    let mut drivers = Vec::with_capacity(contexts.len());
    for ctx in contexts {
        let run = RunInfo {
            workflow_id: ctx.workflow_id(),
            operation_id: ctx.operation_id(),
            graph: setup.program.graph(),
            mode: setup.mode,
            remote: setup.options.remote,
        };
        drivers.push(match driver.open(&run).await {
            Ok(opened) => opened,
            Err(error) => Box::new(Refused(error)) as Box<dyn RunDriver>,
        });
    }
    drivers
}

/// The driver of a run whose driver failed to open.
struct Refused(NodeError);

impl RunDriver for Refused {
    fn checkpoint<'a>(
        &'a self,
        _: &'a [CallEnd<'a>],
        _: &'a [CallStart<'a>],
    ) -> crate::driver::DriverFuture<'a, Vec<Route>> {
        let error = self.0.clone();
        Box::pin(async move { Err(error) })
    }
}

/// Notes how a call ended, for its run's next boundary (with a driver only: without one
/// this is a check of an empty list, inlined into `RunState::apply`).
#[inline]
pub(crate) fn note(sh: &Execution, ended: &mut Vec<Ended>, outcome: &Outcome) {
    if !sh.drivers.is_empty() && !outcome.recorded {
        note_ended(sh, ended, outcome);
    }
}

#[inline(never)]
fn note_ended(sh: &Execution, ended: &mut Vec<Ended>, outcome: &Outcome) {
    let c = outcome.call;
    let output = match outcome.result {
        Ok(()) => sh
            .program
            .serialize_output(&sh.slots[c.run], sh.call(c, outcome.attempts.max(1))),
        Err(_) => None,
    };
    ended.push(Ended {
        call: c,
        phase: Phase::Call,
        attempts: outcome.attempts,
        result: outcome.result.clone(),
        output,
    });
}

/// A boundary: the calls that ended since the last one and `calls`, about to start, go to
/// their runs' drivers. Returns the calls to make, here or by the driver; the others are
/// settled (a known output loaded, a refused call failed) and applied to their run.
pub(crate) async fn boundary(
    sh: &Execution,
    states: &mut [RunState],
    calls: Vec<CallId>,
) -> Vec<CallId> {
    if sh.drivers.is_empty() || calls.is_empty() {
        return calls;
    }
    Box::pin(checkpoint_runs(sh, states, calls)).await
}

/// [`boundary`] with drivers: one checkpoint per run with calls.
async fn checkpoint_runs(
    sh: &Execution,
    states: &mut [RunState],
    calls: Vec<CallId>,
) -> Vec<CallId> {
    let mut make = Vec::with_capacity(calls.len());
    let mut at = 0;
    while at < calls.len() {
        // The calls of one run are consecutive: the executors begin a run's steps together.
        let run = calls[at].run;
        let end = at + calls[at..].iter().take_while(|c| c.run == run).count();
        let state = &mut states[if states.len() == 1 { 0 } else { run }];
        make.extend(checkpoint(sh, state, &calls[at..end], Phase::Call).await);
        at = end;
    }
    make
}

/// One run's boundary: its ended calls and `starting`; returns the calls to make.
async fn checkpoint(
    sh: &Execution,
    state: &mut RunState,
    starting: &[CallId],
    phase: Phase,
) -> Vec<CallId> {
    let graph = sh.program.graph();
    let ended = std::mem::take(&mut state.ended);
    let ends: Vec<CallEnd<'_>> = ended.iter().map(|e| e.view(sh)).collect();
    let starts: Vec<CallStart<'_>> = starting
        .iter()
        .map(|c| CallStart {
            step: c.step,
            item: c.item,
            phase,
            spec: graph.step(c.step),
        })
        .collect();
    let routes = sh.drivers[state.run].checkpoint(&ends, &starts).await;
    let routes = match routes {
        Ok(routes) if routes.len() == starting.len() => routes,
        Ok(routes) => {
            let why = NodeError::internal(format!(
                "a step driver answered {} routes for {} calls",
                routes.len(),
                starting.len()
            ));
            refuse(sh, state, starting, phase, &why);
            return Vec::new();
        }
        Err(why) => {
            refuse(sh, state, starting, phase, &why);
            return Vec::new();
        }
    };
    if phase == Phase::Compensation {
        return starting
            .iter()
            .zip(routes)
            .filter(|(_, route)| !matches!(route, Route::Done(_) | Route::Fail(_)))
            .map(|(c, _)| *c)
            .collect();
    }
    let mut make = Vec::with_capacity(starting.len());
    for (&c, route) in starting.iter().zip(routes) {
        match route {
            Route::Local => make.push(c),
            Route::Driver => {
                let thunk = thunk_for(sh, state, c);
                let mut handoffs = sh.handoffs[c.run].lock().unwrap_or_else(|e| e.into_inner());
                handoffs.insert((c.step, c.item), thunk);
                make.push(c);
            }
            Route::Done(value) => {
                let name = &graph.step(c.step).name;
                let result = contain(name, || {
                    sh.program
                        .load_output(&sh.slots[c.run], sh.call(c, 1), value)
                });
                state.apply(sh, settled(c, result));
            }
            Route::Fail(error) => state.apply(sh, settled(c, Err(error))),
        }
    }
    make
}

/// Fails `calls` with the driver's error, and stops their run: nothing may run
/// unrecorded.
fn refuse(sh: &Execution, state: &mut RunState, calls: &[CallId], phase: Phase, why: &NodeError) {
    tracing::error!(error = %why, "the step driver failed: the run stops");
    if phase == Phase::Call {
        for &c in calls {
            state.apply(sh, settled(c, Err(why.clone())));
        }
    }
    if state.first_failure.is_none() && state.interrupted.is_none() {
        state.interrupted = Some(why.clone());
    }
    state.stopped = true;
    sh.abort(state.run);
}

/// A call the driver settled without it being made.
fn settled(call: CallId, result: Result<(), NodeError>) -> Outcome {
    Outcome {
        call,
        result,
        attempts: 0,
        failed: Vec::new(),
        cache_hit: false,
        recorded: true,
    }
}

/// The thunk a driver makes call `c` from: the one the run's records emitted, else a new
/// one; with the call's input in `operation_data`.
fn thunk_for(sh: &Execution, state: &RunState, c: CallId) -> Thunk {
    let spec = sh.program.graph().step(c.step);
    let mut thunk = state
        .records
        .as_ref()
        .and_then(|r| r.thunk_of(c.step, c.item))
        .unwrap_or_else(|| {
            let mut thunk = Thunk::new(spec.thunk_type(), spec.node_type.clone());
            thunk.priority = spec.policy.priority;
            thunk.timeout = spec.policy.timeout;
            thunk.retry_count = spec.policy.retries;
            thunk
                .metadata
                .insert("step".into(), Value::from(spec.name.as_ref()));
            thunk
        });
    if thunk.operation_data.is_null() {
        thunk.operation_data = sh.program.operation_data(&sh.slots[c.run], sh.call(c, 1));
    }
    thunk
}

/// Whether the compensation of completed call `c` is to run: its boundary (with the
/// run's ended calls) goes to the driver, which may answer that it ran already.
pub(crate) async fn compensation_starts(sh: &Execution, state: &mut RunState, c: CallId) -> bool {
    if sh.drivers.is_empty() {
        return true;
    }
    !Box::pin(checkpoint(sh, state, &[c], Phase::Compensation))
        .await
        .is_empty()
}

/// Notes how the compensation of `c` ended, for the next boundary.
pub(crate) fn compensation_ended(
    sh: &Execution,
    state: &mut RunState,
    c: CallId,
    result: &Result<(), NodeError>,
) {
    if sh.drivers.is_empty() {
        return;
    }
    state.ended.push(Ended {
        call: c,
        phase: Phase::Compensation,
        attempts: 1,
        result: result.clone(),
        output: None,
    });
}

/// The run stops scheduling: its ended calls go to the driver.
pub(crate) async fn flush(sh: &Execution, state: &mut RunState) {
    if sh.drivers.is_empty() || state.ended.is_empty() {
        return;
    }
    Box::pin(checkpoint(sh, state, &[], Phase::Call)).await;
}

/// The run ended in `final_state`: what is left goes to the driver, then the close.
pub(crate) async fn close(sh: &Execution, state: &mut RunState, final_state: WorkflowState) {
    if sh.drivers.is_empty() {
        return;
    }
    Box::pin(flush(sh, state)).await;
    if let Err(error) = sh.drivers[state.run].close(final_state).await {
        tracing::error!(error = %error, "the step driver failed to close the run");
    }
}
