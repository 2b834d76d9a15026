//! `run_batch`: many inputs in lock-step.

use std::sync::Arc;

use super::concurrent::{Limit, run_concurrent};
use crate::context::Runtime;
use crate::run::driven;
use crate::run::execution::{CallId, Execution};
use crate::run::state::RunState;

/// Runs many inputs in lock-step, step by step: the calls of one step across every input
/// form one rayon job.
pub(super) async fn run(rt: &Runtime, sh: &Arc<Execution>, states: &mut [RunState]) {
    let graph = sh.program.graph();
    for &step in graph.order() {
        let mut calls = Vec::new();
        let now = sh.stamp();
        for state in states.iter_mut() {
            if state.stopped {
                continue;
            }
            state.set_clock(now);
            let width = state.begin_step(sh, step);
            calls.extend((0..width).map(|item| CallId {
                run: state.run,
                step,
                item,
            }));
        }
        let calls = driven::boundary(sh, states, calls).await;
        for c in &calls {
            states[c.run].load_balanced_operations += 1;
        }
        run_concurrent(rt, sh, states, calls, Limit::GroupByNode).await;
    }
}
