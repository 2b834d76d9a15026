//! Sagas: undoing completed effects, newest first, when a run under
//! `FailureStrategy::Compensate` fails or is cancelled — even when its future is dropped.

use std::sync::Arc;

use super::shared::{CallRef, Shared};
use super::state::RunState;
use crate::policy::panic::contain_async;
use crate::program::Program;
use crate::report::CompensationRecord;
use crate::state::StepState;

/// Runs the compensation of every completed call of a compensated effect step of `state`'s
/// run, in reverse completion order, and records them. Each runs at most once (the list is
/// taken); one that fails is recorded and the others still run.
pub(crate) async fn compensate<P: Program>(sh: &Shared<P>, state: &mut RunState) {
    let calls = sh.take_completed_effects(state.run);
    for (c, record) in undo(sh, calls).await {
        state.compensations_run += 1;
        let Some(records) = &mut state.records else {
            continue;
        };
        let step = &mut records.steps[c.step];
        // A `map` step compensates each item; its record keeps the first failure.
        match &mut step.compensation {
            Some(kept) if kept.state == StepState::Failed => {}
            Some(kept) => {
                kept.finished = record.finished;
                kept.state = record.state;
                kept.error = record.error;
            }
            None => step.compensation = Some(record),
        }
    }
}

/// Runs the compensations of `calls`, last first.
async fn undo<P: Program>(
    sh: &Shared<P>,
    calls: Vec<CallRef>,
) -> Vec<(CallRef, CompensationRecord)> {
    let mut done = Vec::with_capacity(calls.len());
    for c in calls.into_iter().rev() {
        let Some(undo) = sh.program.compensate(&sh.slots[c.run], sh.call(c, 1)) else {
            continue;
        };
        let spec = sh.program.graph().step(c.step);
        let started = sh.elapsed();
        let result = contain_async(&spec.name, undo).await;
        match &result {
            Ok(()) => tracing::info!(step = %spec.name, "compensated"),
            Err(e) => tracing::error!(step = %spec.name, error = %e, "compensation failed"),
        }
        let error = result.err();
        done.push((
            c,
            CompensationRecord {
                state: if error.is_some() {
                    StepState::Failed
                } else {
                    StepState::Completed
                },
                started,
                finished: sh.elapsed(),
                error,
            },
        ));
    }
    done
}

/// Compensates the completed effects of a run whose future is dropped before it ends, on a
/// task of its own: a saga's promise holds even when the caller walks away.
pub(crate) struct CompensateOnDrop<P: Program> {
    pub(crate) shared: Option<Arc<Shared<P>>>,
}

impl<P: Program> CompensateOnDrop<P> {
    /// The run ended normally: nothing to do on drop.
    pub(crate) fn disarm(&mut self) {
        self.shared = None;
    }
}

impl<P: Program> Drop for CompensateOnDrop<P> {
    fn drop(&mut self) {
        let Some(sh) = self.shared.take() else { return };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                "a compensating run was dropped outside a tokio runtime; its compensations did not run"
            );
            return;
        };
        handle.spawn(async move {
            for run in 0..sh.contexts.len() {
                let calls = sh.take_completed_effects(run);
                undo(&sh, calls).await;
            }
        });
    }
}
