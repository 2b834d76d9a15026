//! `Parallel` and `Batch` of one run: wave by wave, the calls of a wave together.

use std::sync::Arc;

use super::concurrent::{Limit, run_concurrent};
use super::direct_wave;
use super::sequential::settle_inline;
use crate::call::settle_plain;
use crate::context::Runtime;
use crate::model::StepState;
use crate::run::driven;
use crate::run::execution::{CallId, Execution};
use crate::run::state::RunState;

/// Runs one run wave by wave: with `Some(max_parallel)` (`Parallel`) at most that many
/// calls of a wave at once; with `None` (`Batch`) the synchronous calls of a wave grouped
/// by node type, one rayon job a group. A wave of plain steps, when the run may go direct,
/// runs as one job without the per-call bookkeeping ([`direct_wave`]).
pub(super) async fn run(
    rt: &Runtime,
    sh: &Arc<Execution>,
    state: &mut RunState,
    max_parallel: Option<usize>,
) {
    let graph = sh.program.graph();
    let direct = sh.direct;
    // Every step of the waves before completed: the next ones need no dependency check.
    let mut clean = true;
    let mut w = 0;
    while w < graph.wave_count() {
        if state.stopped {
            break;
        }
        if direct
            && let Some((ran, completed)) =
                direct_wave::run(sh, state, w, clean, max_parallel).await
        {
            clean &= completed;
            w += ran;
            continue;
        }
        let wave = graph.wave(w);
        w += 1;
        let calls = begin_wave(sh, state, wave);
        let calls = driven::boundary(sh, std::slice::from_mut(state), calls).await;
        let states = std::slice::from_mut(state);
        match max_parallel.map(|n| n.max(1)) {
            Some(limit) if calls.len() <= 1 || limit == 1 => {
                run_inline(rt, sh, states, calls).await;
            }
            Some(limit) => {
                states[0].parallel_executions += calls.len();
                run_concurrent(rt, sh, states, calls, Limit::Total(limit)).await;
            }
            None => {
                states[0].load_balanced_operations += calls.len();
                if calls.len() > 1 {
                    states[0].parallel_executions += calls.len();
                }
                run_concurrent(rt, sh, states, calls, Limit::GroupByNode).await;
            }
        }
        if direct {
            clean &= wave
                .iter()
                .all(|&s| state.states[s] == StepState::Completed);
        }
    }
}

/// Begins the steps of `wave`; returns their calls.
fn begin_wave(sh: &Execution, state: &mut RunState, wave: &[usize]) -> Vec<CallId> {
    state.tick(sh);
    let mut calls = Vec::new();
    for &step in wave {
        let width = state.begin_step(sh, step);
        calls.extend((0..width).map(|item| CallId {
            run: state.run,
            step,
            item,
        }));
    }
    calls
}

/// Calls one at a time on this thread.
async fn run_inline(
    rt: &Runtime,
    sh: &Arc<Execution>,
    states: &mut [RunState],
    calls: Vec<CallId>,
) {
    for c in calls {
        if states[c.run].stopped {
            // The run stopped in this wave: the call never starts.
            continue;
        }
        states[c.run].call_starts_now(sh, c);
        let outcome = match settle_plain(rt, sh, c) {
            Some(settled) => settled,
            None => settle_inline(rt, sh, c).await,
        };
        states[c.run].apply(sh, outcome);
    }
}
