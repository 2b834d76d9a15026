//! Sagas: undoing completed effects, newest first, when a run under
//! `FailureStrategy::Compensate` fails or is cancelled.

use super::shared::Shared;
use super::state::RunState;
use crate::policy::panic::contain_async;
use crate::program::Program;
use crate::report::CompensationRecord;
use crate::state::StepState;

/// Runs the compensation of every completed call of a compensated effect step, in reverse
/// completion order. Each runs at most once; one that fails is recorded and the others
/// still run.
pub(crate) async fn compensate<P: Program>(sh: &Shared<P>, state: &mut RunState) {
    let completed = std::mem::take(&mut state.completed_effects);
    for c in completed.into_iter().rev() {
        let Some(undo) = sh.program.compensate(&sh.slots[c.run], sh.call(c, 1)) else {
            continue;
        };
        let spec = sh.program.graph().step(c.step);
        let started = sh.elapsed();
        let result = contain_async(&spec.name, undo).await;
        let finished = sh.elapsed();
        state.compensations_run += 1;
        match &result {
            Ok(()) => tracing::info!(step = %spec.name, "compensated"),
            Err(e) => tracing::error!(step = %spec.name, error = %e, "compensation failed"),
        }
        if let Some(records) = &mut state.records {
            let record = &mut records.steps[c.step];
            let failed_before =
                matches!(&record.compensation, Some(r) if r.state == StepState::Failed);
            let error = result.err();
            // A `map` step compensates each item; its record keeps the first failure.
            if !failed_before {
                record.compensation = Some(CompensationRecord {
                    state: if error.is_some() {
                        StepState::Failed
                    } else {
                        StepState::Completed
                    },
                    started: record.compensation.as_ref().map_or(started, |r| r.started),
                    finished,
                    error,
                });
            }
        }
    }
}
