//! Sagas: undoing completed effects, newest first, when a run under
//! `FailureStrategy::Compensate` fails or is cancelled — even when its future is dropped —
//! and, under every strategy, the outputs of [stragglers](super::straggler).

use std::sync::Arc;
use std::time::SystemTime;

use super::driven;
use super::execution::{CallId, Execution};
use super::state::RunState;
use super::straggler::{Undoable, settle, undo_orphan};
use crate::model::CompensationRecord;
use crate::model::FailureStrategy;
use crate::model::NodeError;
use crate::model::StepState;
use crate::policy::panic::contain_async;

/// Runs the compensations of `done` (from [`settle`]), newest
/// first, and records them: the orphan of every straggler, and when `saga` the completed
/// calls of compensated effect steps. Each runs at most once (the list is consumed); one
/// that fails is recorded and the others still run.
pub(crate) async fn compensate(
    sh: &Execution,
    state: &mut RunState,
    done: Vec<Undoable>,
    saga: bool,
) {
    for entry in done.into_iter().rev() {
        match entry {
            Undoable::Output(c) if saga => {
                // The run's driver may know it ran already (in an earlier process).
                if !driven::compensation_starts(sh, state, c).await {
                    continue;
                }
                if let Some(record) = undo_output(sh, c).await {
                    let result = match &record.error {
                        Some(error) => Err(error.clone()),
                        None => Ok(()),
                    };
                    driven::compensation_ended(sh, state, c, &result);
                    state.compensations_run += 1;
                    state.record_compensation(c, record);
                }
            }
            Undoable::Output(_) => {}
            Undoable::Orphan {
                call,
                attempt,
                value,
            } => {
                if let Some(result) = undo_orphan(sh, call, attempt, &value).await {
                    state.compensations_run += 1;
                    state.record_orphan_undone(call, attempt, result);
                }
            }
        }
    }
}

/// Runs the compensation of completed call `c`, if its node declares one.
async fn undo_output(sh: &Execution, c: CallId) -> Option<CompensationRecord> {
    let undo = sh.program.compensate(&sh.slots[c.run], sh.call(c, 1))?;
    let spec = sh.program.graph().step(c.step);
    let started = sh.elapsed();
    let undo = contain_async(&spec.name, undo);
    let result =
        crate::context::call_key::scope(&sh.contexts[c.run], c.step, c.item, spec, undo).await;
    match &result {
        Ok(()) => tracing::info!(step = %spec.name, "compensated"),
        Err(e) => tracing::error!(step = %spec.name, error = %e, "compensation failed"),
    }
    let error: Option<NodeError> = result.err();
    Some(CompensationRecord {
        state: if error.is_some() {
            StepState::Failed
        } else {
            StepState::Completed
        },
        started,
        finished: sh.elapsed(),
        error,
    })
}

/// Settles a run whose future is dropped before it ends, on a task of its own: a saga's
/// promise holds even when the caller walks away, and a straggler's output is compensated
/// under every strategy. Stragglers still running then compensate their own output.
pub(crate) struct CompensateOnDrop {
    pub(crate) shared: Option<Arc<Execution>>,
    /// Whether the run compensates its completed effects (`FailureStrategy::Compensate`).
    pub(crate) strategy: FailureStrategy,
}

impl CompensateOnDrop {
    /// The run ended normally: nothing to do on drop.
    pub(crate) fn disarm(&mut self) {
        self.shared = None;
    }
}

impl Drop for CompensateOnDrop {
    fn drop(&mut self) {
        let Some(sh) = self.shared.take() else { return };
        let strategy = self.strategy;
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                "a run was dropped outside a tokio runtime; its compensations did not run"
            );
            for run in 0..sh.contexts.len() {
                sh.leftovers(run).closed = true;
            }
            return;
        };
        handle.spawn(async move {
            for run in 0..sh.contexts.len() {
                // Bookkeeping only: a dropped run has no report to write.
                let mut state = RunState::new(&sh.program, run, strategy, false, SystemTime::now());
                let done = settle(&sh, &mut state, false).await;
                let saga = strategy == FailureStrategy::Compensate;
                compensate(&sh, &mut state, done, saga).await;
            }
        });
    }
}
