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
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::model::sample_mask;
use crate::model::{BatchFailure, ExecutionMode, LatencyHistogram, NodeError, NodeKind};
use crate::policy::panic::panicked;
use crate::program::{Call, Program};
use crate::run::clock::Start;
use crate::store::dense::{DenseInputs, DenseOutputs};

/// What a lean batch gives back: the completed inputs' outputs in input order, failures
/// ordered by input index, and the sampled inputs' run times.
pub(crate) struct Lean<O> {
    pub(crate) outputs: Vec<O>,
    pub(crate) failures: Vec<BatchFailure>,
    pub(crate) latency: LatencyHistogram,
}

/// The batch's sampled timing: which inputs are timed, and the clock's readings at their
/// start and end, one pair of cells per timed input, turned into a histogram after the
/// batch. Each timed input writes its own cells, so timing takes no lock and shares no
/// cache line with another worker's histogram.
struct Sampler {
    mask: usize,
    clock: Start,
    /// Start and end readings of timed input `k * (mask + 1)`; 0 while not timed.
    readings: Vec<[AtomicU64; 2]>,
}

impl Sampler {
    fn new(len: usize) -> Self {
        let mask = sample_mask(len);
        let timed = len.div_ceil(mask + 1);
        Sampler {
            mask,
            clock: Start::now(),
            readings: (0..timed).map(|_| Default::default()).collect(),
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
    /// stays the input's calls.
    #[cold]
    #[inline(never)]
    fn read(&self) -> u64 {
        self.clock.raw()
    }

    /// Counts timed input `i`, which started at `begin` and ended now.
    #[inline(always)]
    fn stop(&self, i: usize, begin: Option<u64>) {
        if let Some(begin) = begin {
            self.count(i, begin);
        }
    }

    #[cold]
    #[inline(never)]
    fn count(&self, i: usize, begin: u64) {
        let end = self.clock.raw();
        if let Some([b, e]) = self.readings.get(i / (self.mask + 1)) {
            b.store(begin, Ordering::Relaxed);
            e.store(end.max(1), Ordering::Relaxed);
        }
    }

    /// The timed inputs' run times.
    fn into_histogram(self) -> LatencyHistogram {
        let mut latency = LatencyHistogram::default();
        for [begin, end] in &self.readings {
            let (begin, end) = (begin.load(Ordering::Relaxed), end.load(Ordering::Relaxed));
            if end != 0 {
                // Saturating: two cores' TSC readings may disagree by a few ticks.
                let took = self
                    .clock
                    .offset(end)
                    .saturating_sub(self.clock.offset(begin));
                latency.record(took);
            }
        }
        latency
    }
}

/// Runs every input through `program`. `context` makes the context the inputs share, or
/// each input's when the graph has an effect step: an effect sees its run's workflow id,
/// which must not be shared by other inputs (compute and reducer nodes see no context).
/// `cancel`, when given, stops the inputs not yet started once it is cancelled.
///
/// The inputs are split into ranges of indices, and rayon runs one plain loop per range
/// (see [`store::dense`](crate::store::dense)): each input is moved out of the batch,
/// run, and its output written to its place, or its failure pushed.
pub(crate) fn execute<P: Program>(
    program: &P,
    inputs: Vec<P::Input>,
    mode: ExecutionMode,
    cancel: Option<&CancellationToken>,
    context: impl Fn() -> Context + Sync,
) -> Lean<P::Output> {
    let inputs = DenseInputs::new(inputs);
    let len = inputs.len();
    let per_range = super::fused::min_job_len(len, rayon::current_num_threads());
    let per_input = program
        .graph()
        .steps()
        .iter()
        .any(|s| s.kind == NodeKind::Effect);
    let sampler = Sampler::new(len);
    let failures = Mutex::new(Vec::new());
    let mut outputs = DenseOutputs::with_len(len);
    let (writer, taker) = (outputs.writer(), inputs.taker());
    let shared = (!per_input).then(&context);
    let (shared, failures_ref, sampler_ref) = (shared.as_ref(), &failures, &sampler);
    let context = &context;
    (0..len.div_ceil(per_range))
        .into_par_iter()
        .for_each(move |range| {
            let (start, end) = (range * per_range, len.min((range + 1) * per_range));
            let cancelled = cancel.is_some_and(CancellationToken::is_cancelled);
            for i in start..end {
                // SAFETY: the ranges split `0..len`, so each index is taken once.
                let input = unsafe { taker.take(i) };
                if cancelled {
                    drop(input);
                    fail(failures_ref, i, None, NodeError::cancelled());
                    continue;
                }
                let own;
                let ctx = match shared {
                    Some(ctx) => ctx,
                    None => {
                        own = context();
                        &own
                    }
                };
                let begin = sampler_ref.start(i);
                // Input `i` either completes, and its output is written to place `i`, or
                // fails and is pushed to `failures`: one or the other, once.
                if let Some(output) = run_one(program, ctx, mode, i, input, failures_ref) {
                    // SAFETY: each index is written at most once (above), below `len`.
                    unsafe { writer.write(i, output) };
                }
                sampler_ref.stop(i, begin);
            }
        });
    let failures = sorted(failures);
    // SAFETY: every input either had its output written once or was pushed to `failures`
    // once (above), and `sorted` orders the failures by index: their indices are the
    // places never written, strictly increasing.
    let outputs = unsafe { outputs.finish(failures.iter().map(|f| f.index)) };
    Lean {
        outputs,
        failures,
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
/// first that fails or panics. Inlined into the range's loop, so that consecutive inputs'
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
    let mut at = 0;
    let ran = catch_unwind(AssertUnwindSafe(|| program.run_lean(input, call, &mut at)));
    match ran {
        Ok(Ok(output)) => Some(output),
        Ok(Err(error)) => {
            fail(failures, i, step_name(program, at), error);
            None
        }
        Err(payload) => {
            let name = step_name(program, at);
            let error = panicked(name.as_deref().unwrap_or("?"), payload);
            fail(failures, i, name, error);
            None
        }
    }
}

/// The name of the step at `position` in the graph's order; the graph is looked at only
/// on a failure.
#[cold]
fn step_name<P: Program>(program: &P, position: usize) -> Option<String> {
    let graph = program.graph();
    let step = graph.order().get(position).copied()?;
    graph.steps().get(step).map(|s| s.name.to_string())
}

#[cold]
fn fail(failures: &Mutex<Vec<BatchFailure>>, index: usize, step: Option<String>, error: NodeError) {
    let failure = BatchFailure { index, step, error };
    failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(failure);
}
