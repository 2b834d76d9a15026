//! `run_batch_lean` of a graph whose steps are all plain and synchronous: each input runs
//! start to end on a rayon worker, typed, with nothing kept per input but its values.
//!
//! Unlike the fused `run_batch` ([`fused`](super::fused)), an input here has no run of its
//! own: no boxed input, run state, records or report. It goes through the program's
//! [`run_lean`](Program::run_lean) (for a `workflow!`, its steps' calls with their outputs in
//! locals), a failure is pushed to the batch's list, and about one input in a thousand is
//! timed for the batch's [`LatencyHistogram`]. So an input that completes costs its steps'
//! calls and its output.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use rayon::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::model::sample_mask;
use crate::model::{BatchFailure, ExecutionMode, LatencyHistogram, NodeError, NodeKind};
use crate::policy::panic::panicked;
use crate::program::{Call, Program};
use crate::run::clock::Start;

/// How often (in inputs) a job looks at the cancellation token: reading it takes a lock.
const CANCEL_EVERY: u32 = 64;

/// What one rayon job's inputs share.
struct Job {
    ctx: Context,
    seen: u32,
    cancelled: bool,
}

/// What a lean batch gives back: outputs in input order (`None` for a failed input),
/// failures ordered by input index, and the sampled inputs' run times.
pub(crate) struct Lean<O> {
    pub(crate) outputs: Vec<Option<O>>,
    pub(crate) failures: Vec<BatchFailure>,
    pub(crate) latency: LatencyHistogram,
}

/// The batch's sampled timing: which inputs are timed, and their times.
struct Sampler {
    mask: usize,
    clock: Start,
    latency: Mutex<LatencyHistogram>,
}

impl Sampler {
    fn new(len: usize) -> Self {
        Sampler {
            mask: sample_mask(len),
            clock: Start::now(),
            latency: Mutex::new(LatencyHistogram::default()),
        }
    }

    /// The clock's reading when input `i` starts, if it is timed.
    #[inline(always)]
    fn start(&self, i: usize) -> Option<u64> {
        match i & self.mask {
            0 => Some(self.read()),
            _ => None,
        }
    }

    /// A reading of the clock. Out of line, and the counting below too: the loop's body
    /// stays the input's calls (which must stay inlined into rayon's loop).
    #[cold]
    #[inline(never)]
    fn read(&self) -> u64 {
        self.clock.raw()
    }

    /// Counts a timed input that started at `begin` and ended now.
    #[inline(always)]
    fn stop(&self, begin: Option<u64>) {
        if let Some(begin) = begin {
            self.count(begin);
        }
    }

    #[cold]
    #[inline(never)]
    fn count(&self, begin: u64) {
        let end = self.clock.raw();
        // Saturating: two cores' TSC readings may disagree by a few ticks.
        let took = self
            .clock
            .offset(end)
            .saturating_sub(self.clock.offset(begin));
        // `record` does not panic, so the lock cannot be poisoned; recover it all the same.
        self.latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .record(took);
    }

    fn into_histogram(self) -> LatencyHistogram {
        self.latency
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs every input through `program`. `context` makes the context the inputs share, or
/// each input's when the graph has an effect step: an effect sees its run's workflow id,
/// which must not be shared by other inputs (compute and reducer nodes see no context).
/// `cancel`, when given, stops the inputs not yet started once it is cancelled.
pub(crate) fn execute<P: Program>(
    program: &P,
    inputs: Vec<P::Input>,
    mode: ExecutionMode,
    cancel: Option<&CancellationToken>,
    context: impl Fn() -> Context + Sync,
) -> Lean<P::Output> {
    let min_len = super::fused::min_job_len(inputs.len(), rayon::current_num_threads());
    let per_input = program
        .graph()
        .steps()
        .iter()
        .any(|s| s.kind == NodeKind::Effect);
    let sampler = Sampler::new(inputs.len());
    let failures = Mutex::new(Vec::new());
    let mut outputs = Vec::new();
    if !per_input && cancel.is_none() {
        // The common case gets a loop of its own: one context for every input, nothing
        // checked per input, so the rayon loop's body is the input's calls.
        let ctx = context();
        let run = |i, input| run_one(program, &ctx, mode, i, input, &failures);
        inputs
            .into_par_iter()
            .enumerate()
            .with_min_len(min_len)
            .map(|(i, input)| {
                let begin = sampler.start(i);
                let out = run(i, input);
                sampler.stop(begin);
                out
            })
            .collect_into_vec(&mut outputs);
        return Lean {
            outputs,
            failures: sorted(failures),
            latency: sampler.into_histogram(),
        };
    }
    inputs
        .into_par_iter()
        .enumerate()
        .with_min_len(min_len)
        .map_init(
            || Job {
                ctx: context(),
                seen: 0,
                cancelled: false,
            },
            |job, (i, input)| {
                if let Some(token) = cancel {
                    if job.seen % CANCEL_EVERY == 0 {
                        job.cancelled = token.is_cancelled();
                    }
                    job.seen = job.seen.wrapping_add(1);
                    if job.cancelled {
                        fail(&failures, i, None, NodeError::cancelled());
                        return None;
                    }
                }
                let begin = sampler.start(i);
                let out = match per_input {
                    true => run_one(program, &context(), mode, i, input, &failures),
                    false => run_one(program, &job.ctx, mode, i, input, &failures),
                };
                sampler.stop(begin);
                out
            },
        )
        .collect_into_vec(&mut outputs);
    Lean {
        outputs,
        failures: sorted(failures),
        latency: sampler.into_histogram(),
    }
}

/// The failures, ordered by input index.
fn sorted(failures: Mutex<Vec<BatchFailure>>) -> Vec<BatchFailure> {
    // A panic inside `fail` cannot poison the lock; recover the list all the same.
    let mut failures = failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failures.sort_unstable_by_key(|f| f.index);
    failures
}

/// Runs input `i`: its steps in graph order ([`Program::run_lean`]), stopping at the
/// first that fails or panics. Inlined into the rayon loop, so that consecutive inputs'
/// calls are one loop body.
#[inline(always)]
fn run_one<P: Program>(
    program: &P,
    ctx: &Context,
    mode: ExecutionMode,
    i: usize,
    input: P::Input,
    failures: &Mutex<Vec<BatchFailure>>,
) -> Option<P::Output> {
    let call = Call {
        ctx,
        step: 0,
        item: 0,
        attempt: 1,
        mode,
        gate: None,
        stamps: None,
    };
    let mut step = 0;
    let ran = catch_unwind(AssertUnwindSafe(|| {
        program.run_lean(input, call, &mut step)
    }));
    match ran {
        Ok(Ok(output)) => Some(output),
        Ok(Err(error)) => {
            fail(failures, i, step_name(program, step), error);
            None
        }
        Err(payload) => {
            let name = step_name(program, step);
            let error = panicked(name.as_deref().unwrap_or("?"), payload);
            fail(failures, i, name, error);
            None
        }
    }
}

/// The name of step `step`; the graph is looked at only on a failure.
#[cold]
fn step_name<P: Program>(program: &P, step: usize) -> Option<String> {
    program
        .graph()
        .steps()
        .get(step)
        .map(|s| s.name.to_string())
}

#[cold]
fn fail(failures: &Mutex<Vec<BatchFailure>>, index: usize, step: Option<String>, error: NodeError) {
    let failure = BatchFailure { index, step, error };
    failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(failure);
}
