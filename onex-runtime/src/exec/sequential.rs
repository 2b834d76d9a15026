//! `Sequential`: steps one at a time in topological order, on the executor's thread.

use std::sync::Arc;

use super::direct;
use crate::call::{Place, drive, precheck, settle_plain};
use crate::context::Runtime;
use crate::model::StepState;
use crate::run::driven;
use crate::run::execution::{CallId, Execution};
use crate::run::outcome::Outcome;
use crate::run::state::RunState;

/// Runs one run's steps in order.
pub(super) async fn run(rt: &Runtime, sh: &Arc<Execution>, state: &mut RunState) {
    let graph = sh.program.graph();

    let order = graph.order();
    let direct = sh.direct;
    // Every step before `at` completed: the next ones need no dependency check.
    let mut clean = true;
    let mut at = 0;
    while let Some(&step) = order.get(at) {
        if state.stopped {
            break;
        }
        if direct {
            let next = direct::run_direct(state, sh, &sh.slots[state.run], order, at, clean);
            if next > at {
                clean &= state.states[order[next - 1]] == StepState::Completed;
                at = next;
                continue;
            }
        }
        at += 1;
        run_step_inline(rt, sh, state, step).await;
        clean &= state.states[step] == StepState::Completed;
    }
}

/// Runs one step's calls on this thread, one after the other, with their policies.
async fn run_step_inline(rt: &Runtime, sh: &Arc<Execution>, state: &mut RunState, step: usize) {
    let width = state.begin_step(sh, step);
    let calls = (0..width)
        .map(|item| CallId {
            run: state.run,
            step,
            item,
        })
        .collect();
    for c in driven::boundary(sh, std::slice::from_mut(state), calls).await {
        let outcome = match settle_plain(rt, sh, c) {
            Some(settled) => settled,
            None => settle_inline(rt, sh, c).await,
        };
        state.apply(sh, outcome);
        if state.stopped {
            break;
        }
    }
}

/// A call made on this thread with its policies: circuit, cache, retries, timeout.
pub(super) async fn settle_inline(rt: &Runtime, sh: &Arc<Execution>, c: CallId) -> Outcome {
    match precheck(rt, sh, c) {
        Some(settled) => settled,
        None => drive(rt, sh, c, None, Place::Inline).await,
    }
}
