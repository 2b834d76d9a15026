//! `run_batch` of a graph whose steps are all plain and synchronous, with nothing observed:
//! each input runs start to end on a rayon worker, from its context to its result.
//!
//! Everything one input needs (context, slots, step states, report) is made, used and
//! dropped by the worker that runs it, so a batch of a million small inputs is set up and
//! finished on every core rather than on the calling thread, holds one input's
//! bookkeeping per worker rather than every input's, and writes each result straight
//! into its place in the returned `Vec`.

use std::time::SystemTime;

use rayon::prelude::*;
use tracing::Span;

use crate::model::StepState;
use crate::model::WorkflowRun;
use crate::model::{NodeError, WorkflowError};
use crate::program::erased::{AnyInput, AnyOutput};
use crate::run::clock;
use crate::run::execution::Execution;
use crate::run::result::{report, result};
use crate::run::setup::Setup;

/// The fewest inputs a rayon job takes, so a job's setup is shared by at least that many
/// (256 amortise it) while every worker still gets several jobs to steal (inputs may
/// differ in cost).
pub(crate) fn min_job_len(inputs: usize, workers: usize) -> usize {
    (inputs / (workers.max(1) * 8)).clamp(1, 256)
}

/// Runs every input of `setup`'s batch; results in input order.
pub(crate) fn execute(
    setup: &Setup<'_>,
    inputs: Vec<AnyInput>,
    span: &Span,
) -> Vec<Result<WorkflowRun<AnyOutput>, WorkflowError>> {
    let min_len = min_job_len(inputs.len(), rayon::current_num_threads());
    // One start for the whole batch: every record's offsets count from it.
    let start = clock::Start::now();
    let started_at = SystemTime::now();
    let mut results = Vec::new();
    inputs
        .into_par_iter()
        .enumerate()
        .with_min_len(min_len)
        .map_init(
            || setup.shared(Vec::new(), Vec::new(), true, start, Vec::new()),
            |sh, (i, input)| run_one(setup, sh, i, input, started_at, span),
        )
        .collect_into_vec(&mut results);
    results
}

/// Runs input `i` with `sh`, a job's shared part made over for this one run.
// Out of line: inlined into rayon's fold, the result (a few hundred bytes) was copied
// once more per layer of it.
#[inline(never)]
fn run_one(
    setup: &Setup<'_>,
    sh: &mut Execution,
    i: usize,
    input: AnyInput,
    started_at: SystemTime,
    span: &Span,
) -> Result<WorkflowRun<AnyOutput>, WorkflowError> {
    sh.reuse_for(setup.context(i));
    let sh: &Execution = sh;
    let program = &*sh.program;
    let graph = program.graph();
    let mut state = setup.run_state(0, started_at);
    let slots = program.slots(input);
    super::direct::run_plain_graph(&mut state, sh, &slots);
    state.load_balanced_operations += state
        .states
        .iter()
        .filter(|s| matches!(s, StepState::Completed | StepState::Failed))
        .count();
    // A cancellation or a deadline seen between stretches leaves the rest unfinished.
    let why = state
        .interrupted
        .clone()
        .unwrap_or_else(NodeError::cancelled);
    state.cancel_unfinished(sh, &why);
    let output = if state.final_state(graph.output()).has_output() {
        program.output(slots)
    } else {
        None
    };
    let report = report(sh, &mut state, setup.options, sh.elapsed(), span);
    result(graph, state, report, output)
}

#[cfg(test)]
mod tests {
    use super::min_job_len;

    #[test]
    fn jobs_give_every_worker_several_and_stay_bounded() {
        assert_eq!(min_job_len(1, 2), 1);
        assert_eq!(min_job_len(64, 2), 4);
        assert_eq!(min_job_len(1_000, 2), 62);
        assert_eq!(min_job_len(1_000_000, 2), 256);
        assert_eq!(min_job_len(10, 0), 1);
    }
}
