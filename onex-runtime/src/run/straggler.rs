//! Stragglers: synchronous attempts abandoned at their timeout while still running, and
//! what becomes of what they return.
//!
//! The rule: every attempt that returned `Ok` is either its step's output or handed to the
//! node's compensation, exactly once, and no attempt's output goes unreported. An abandoned
//! attempt cannot publish (its [gate](crate::program::gate) says so), so its output, if any, is an
//! orphan. While its run is still settling, the attempt's job leaves the orphan in the run's
//! [`Leftovers`] in completion order, and the run compensates it with the rest (whatever the
//! failure strategy: nobody asked for that side effect). A run waits for its stragglers
//! when it needs them: to hand back its output (they still read its slots) or to compensate
//! (a saga undoes everything before it reports). Otherwise it ends without them, reports
//! those still running as *stuck*, and *closes*: a straggler that returns later compensates
//! its own output on a task of its own, and traces what happened.

use std::sync::Arc;

use tokio::sync::oneshot;
use tracing::Instrument;

use super::execution::{CallId, Execution};
use super::outcome::lost_worker;
use super::state::RunState;
use crate::model::NodeError;
use crate::model::NodeKind;
use crate::model::StragglerOutcome;
use crate::policy::panic::contain_async;
use crate::program::gate::Orphan;

/// Per run: what its effects leave behind.
#[derive(Default)]
pub(crate) struct Leftovers {
    /// Outputs to undo, in completion order: completed calls of compensated effect steps,
    /// and the orphans of stragglers.
    pub(crate) undo: Vec<Undoable>,
    /// Attempts their drivers stopped waiting for: stragglers, and attempts that published
    /// just as their driver went away.
    pub(crate) late: Vec<Straggler>,
    /// What stragglers returned, as they return.
    pub(crate) returned: Vec<Returned>,
    /// The run no longer settles stragglers: one returning now handles its own output.
    pub(crate) closed: bool,
}

/// One output to undo.
pub(crate) enum Undoable {
    /// The output of a completed call, in its step's slot.
    Output(CallId),
    /// The output of an abandoned attempt, kept by its gate.
    Orphan {
        call: CallId,
        attempt: u32,
        value: Orphan,
    },
}

/// An attempt whose driver stopped waiting for it before it ended.
pub(crate) struct Straggler {
    pub(crate) call: CallId,
    pub(crate) attempt: u32,
    /// When it started and when it was abandoned, from the start of the run.
    pub(crate) started: std::time::Duration,
    pub(crate) abandoned: std::time::Duration,
    /// Why it was abandoned: its timeout, or its run stopping.
    pub(crate) why: NodeError,
    /// It published its output just as its driver went away (dropped, not timed out): its
    /// output is in the slot, its outcome was never applied. Not a straggler to report.
    pub(crate) published: bool,
    /// Its result, once it returns (a straggler's is also in [`Leftovers::returned`]).
    pub(crate) done: oneshot::Receiver<Result<(), NodeError>>,
}

/// What a straggler returned.
pub(crate) struct Returned {
    call: CallId,
    attempt: u32,
    result: Result<(), NodeError>,
}

/// Settles the late attempts of `state`'s run at its end, and closes it: waits for each
/// when `wait` (otherwise records those still running as stuck) and records what each
/// returned. Returns the outputs to undo, in completion order, for
/// [`compensate`](super::compensate::compensate).
pub(crate) async fn settle(sh: &Execution, state: &mut RunState, wait: bool) -> Vec<Undoable> {
    let mut waited = Vec::new();
    if wait {
        let late = std::mem::take(&mut sh.leftovers(state.run).late);
        for mut straggler in late {
            let result = (&mut straggler.done)
                .await
                .unwrap_or_else(|_| Err(lost_worker()));
            waited.push((straggler, Some(result)));
        }
    }
    // Closed and read under one lock: a straggler reports under it too (see
    // `returned_late`), so each has either returned, its orphan in `done`, or is still
    // running and will handle its own output.
    let (late, returned, mut done) = {
        let mut leftovers = sh.leftovers(state.run);
        leftovers.closed = true;
        (
            std::mem::take(&mut leftovers.late),
            std::mem::take(&mut leftovers.returned),
            std::mem::take(&mut leftovers.undo),
        )
    };
    waited.extend(late.into_iter().map(|straggler| (straggler, None)));
    for (straggler, received) in waited {
        let c = straggler.call;
        let spec = sh.program.graph().step(c.step);
        if straggler.published {
            // Only a saga, which waits, has use for it: its output is then undone as the
            // step's.
            if matches!(received, Some(Ok(()))) && spec.is_undoable() {
                done.push(Undoable::Output(c));
            }
            continue;
        }
        let reported = returned
            .iter()
            .find(|r| r.call == c && r.attempt == straggler.attempt)
            .map(|r| r.result.clone());
        let outcome = match reported.or(received) {
            None => {
                tracing::warn!(
                    step = %spec.name,
                    node_type = %spec.node_type,
                    item = c.item,
                    attempt = straggler.attempt,
                    "a synchronous call is still running after its timeout, at the end of its run: \
                     it holds a thread of the blocking pool until it returns"
                );
                state.stuck_calls += 1;
                StragglerOutcome::Running
            }
            // Provisional: the compensation of its orphan, if it has one, says more.
            Some(Ok(())) => StragglerOutcome::Discarded,
            Some(Err(error)) => StragglerOutcome::Failed { error },
        };
        state.record_straggler(&straggler, outcome);
    }
    done
}

/// Called by the job of an abandoned attempt once it returned, with what it returned and
/// the orphan its gate kept. While the run settles, leaves both with the run and reports;
/// otherwise compensates the orphan on a task of its own (on `handle`'s runtime). Lets go
/// of the run's shared part before it reports, so whoever waits can take the slots back.
pub(crate) fn returned_late(
    sh: Arc<Execution>,
    c: CallId,
    attempt: u32,
    result: Result<(), NodeError>,
    orphan: Option<Orphan>,
    handle: Option<tokio::runtime::Handle>,
    report: oneshot::Sender<Result<(), NodeError>>,
) {
    let spec = sh.program.graph().step(c.step);
    if orphan.is_none() && result.is_ok() && spec.kind == NodeKind::Effect {
        tracing::warn!(
            step = %spec.name,
            node_type = %spec.node_type,
            item = c.item,
            attempt,
            "an effect returned after its timeout, and its node has no compensation: \
             its output is dropped and its side effect stays"
        );
    }
    let mut leftovers = sh.leftovers(c.run);
    if !leftovers.closed {
        if let Some(value) = orphan {
            leftovers.undo.push(Undoable::Orphan {
                call: c,
                attempt,
                value,
            });
        }
        leftovers.returned.push(Returned {
            call: c,
            attempt,
            result: result.clone(),
        });
        drop(leftovers);
        drop(sh);
        let _ = report.send(result);
        return;
    }
    drop(leftovers);
    let _ = report.send(result);
    let Some(value) = orphan else { return };
    let Some(handle) = handle else {
        tracing::error!(
            step = %spec.name,
            attempt,
            "an effect returned after its run ended, outside a tokio runtime: its compensation did not run"
        );
        return;
    };
    let span = tracing::info_span!("late compensation", step = %spec.name, attempt);
    handle.spawn(
        async move {
            let _ = undo_orphan(&sh, c, attempt, &value).await;
        }
        .instrument(span),
    );
}

/// Runs the compensation of the orphan of attempt `attempt` of call `c`, traced.
/// `None` when the node has none.
pub(crate) async fn undo_orphan(
    sh: &Execution,
    c: CallId,
    attempt: u32,
    value: &Orphan,
) -> Option<Result<(), NodeError>> {
    let spec = sh.program.graph().step(c.step);
    let undo = value.compensate(sh.call(c, attempt))?;
    let result = contain_async(&spec.name, undo).await;
    match &result {
        Ok(()) => tracing::info!(step = %spec.name, attempt, "compensated a late attempt"),
        Err(e) => tracing::error!(
            step = %spec.name,
            attempt,
            error = %e,
            "the compensation of a late attempt failed"
        ),
    }
    Some(result)
}
