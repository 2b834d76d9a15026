//! The sequential fast paths: plain steps back to back, without the general bookkeeping's
//! per-call round trip.
//!
//! A *plain* step is synchronous, with no retries, timeout or cache. Where the graph has a
//! stretch of them ([`Graph::direct_stretches`](crate::Graph)) and nothing is told or
//! captured per step ([`direct_allowed`](super::direct_allowed)), the stretch runs under one
//! panic guard, each step's call followed only by its state and, with records on, its
//! thunk and record, exactly as the general path writes them. A fresh run of a graph that is
//! one such stretch goes through the program's straight line instead, which with records
//! on reads the clock at each step's end for the records written after it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::call::{Place, attempt_sync_on};
use crate::model::StepState;
use crate::policy::panic::panicked;
use crate::program::Call;
use crate::program::dispatch::LineStamps;
use crate::program::erased::AnySlots;
use crate::run::execution::{CallId, Execution};
use crate::run::outcome::{Attempt, Outcome};
use crate::run::state::RunState;

/// Runs the steps of `order[at..]` back to back for as long as each is plain and
/// synchronous (see [`Graph::direct_stretches`](crate::Graph)) with every input
/// completed, and returns the position of the first step it did not run. `clean` says
/// every step before `at` completed, so no dependency needs checking. The caller
/// guarantees there is nothing to tell or capture per step: no observer, no circuit
/// breaker, no cache-everything option, no input capture, and no subscriber for the
/// per-step `debug` span.
///
/// This is the sequential hot loop: one panic guard around the whole stretch instead of
/// one per call, no `Outcome` round trip, and per step only the call, its state and,
/// when records are on, its thunk and record, exactly as [`begin_step`](RunState::begin_step)
/// and [`end_step`](RunState::end_step) write them. A failing or panicking step fails as it
/// would on the general path and ends the stretch.
pub(crate) fn run_direct(
    state: &mut RunState,
    sh: &Execution,
    slots: &AnySlots,
    order: &[usize],
    mut at: usize,
    clean: bool,
) -> usize {
    debug_assert!(sh.observer().is_none() && !sh.cache_all && !sh.capture);
    let program = &*sh.program;
    let graph = program.graph();
    let end = at + graph.direct_stretches().get(at).map_or(0, |&n| n as usize);
    if at == 0
        && end == order.len()
        && let Some(next) = run_straight(state, sh, slots)
    {
        return next;
    }
    let run = state.run;
    let ctx = &sh.contexts[run];
    let mode = sh.mode;
    let RunState {
        states,
        records,
        clock,
        ..
    } = state;
    let mut failure = None;
    let caught = catch_unwind(AssertUnwindSafe(|| {
        while at < end {
            let step = order[at];
            if !clean
                && graph
                    .step(step)
                    .deps
                    .iter()
                    .any(|&d| states[d] != StepState::Completed)
            {
                return;
            }
            let call = Call {
                ctx,
                step,
                item: 0,
                attempt: 1,
                mode,
                gate: None,
                stamps: None,
            };
            let result = program.call_sync(slots, call);
            at += 1;
            if let Err(error) = result {
                failure = Some((step, error));
                return;
            }
            states[step] = StepState::Completed;
            if let Some(records) = records.as_mut() {
                // A step starts when the one before it ended: one clock read per step.
                let started = *clock;
                *clock = sh.elapsed();
                records.completed_inline(step, started, *clock);
            }
        }
    }));
    if let Err(payload) = caught {
        // `at` still points at the step that panicked: it moves on after the call.
        let step = order[at];
        failure = Some((step, panicked(&graph.step(step).name, payload)));
        at += 1;
    }
    if let Some((step, error)) = failure {
        fail_inline(state, sh, step, error);
    }
    at
}

/// Fails `step`, a plain call made directly (inline, or in a direct wave) that returned
/// `error` or panicked: with records, its thunk and start are written now, as it started
/// (at the clock's last reading), and it ends as on the general path.
pub(super) fn fail_inline(
    state: &mut RunState,
    sh: &Execution,
    step: usize,
    error: crate::NodeError,
) {
    let Some(records) = state.records.as_mut() else {
        state.fail_step(sh, step, error);
        return;
    };
    let first = records.thunk_count();
    records.push_thunk(step, 0, None, state.clock);
    records.start_step(step, first, state.clock, 1);
    state.states[step] = StepState::Running;
    state.remaining[step] = 1;
    let c = CallId {
        run: state.run,
        step,
        item: 0,
    };
    let made = Attempt {
        result: Err(error),
        started: Duration::ZERO,
        finished: sh.stamp(),
    };
    state.apply(sh, Outcome::from_first(c, made));
}

/// Runs a fresh run of an all-plain graph through the program's straight line
/// ([`Program::run_straight`]): the steps' calls back to back with no dispatch between
/// them, under one `catch_unwind`. With records, the line reads the clock at each step's
/// end and the steps' records and thunks are written after it, in one pass. Returns the
/// position in the order after the last step it ran, or `None` when the program has no
/// straight line.
fn run_straight(state: &mut RunState, sh: &Execution, slots: &AnySlots) -> Option<usize> {
    let program = &*sh.program;
    let order = program.graph().order();
    let first = CallId {
        run: state.run,
        step: 0, // set by the line before each call
        item: 0,
    };
    let mut call = sh.call(first, 1);
    let ends: Vec<AtomicU64> = match state.records {
        Some(_) => order.iter().map(|_| AtomicU64::new(0)).collect(),
        None => Vec::new(),
    };
    let now = || sh.start.raw();
    if state.records.is_some() {
        call.stamps = Some(LineStamps {
            ends: &ends,
            now: &now,
        });
    }
    let mut at = 0;
    let caught = catch_unwind(AssertUnwindSafe(|| {
        program.run_straight(slots, call, &mut at)
    }));
    let failure = match caught {
        Ok(None) => return None,
        Ok(Some(Ok(()))) => None,
        Ok(Some(Err(error))) => Some(error),
        Err(payload) => Some(panicked(&program.graph().step(order[at]).name, payload)),
    };
    // Every step before `at` completed; with no failure, every step did.
    let done = if failure.is_some() { at } else { order.len() };
    for &step in &order[..done] {
        state.states[step] = StepState::Completed;
    }
    if let Some(records) = state.records.as_mut() {
        state.clock = records.completed_line(done, ends, sh.start, state.clock);
    }
    Some(match failure {
        Some(error) => {
            fail_inline(state, sh, order[at], error);
            at + 1
        }
        None => done,
    })
}

/// Runs a graph whose steps are all plain and synchronous, start to end, on this
/// thread: stretches back to back ([`run_direct`](run_direct)), and a step whose
/// input failed or was skipped through the general bookkeeping, which skips it or (for
/// an optional input) runs it. Stops early when the run stops, and at a stretch's end when
/// its token is cancelled or its deadline passed.
/// Same preconditions as `run_direct`.
pub(crate) fn run_plain_graph(state: &mut RunState, sh: &Execution, slots: &AnySlots) {
    let order = sh.program.graph().order();
    state.clock = sh.stamp();
    let mut clean = true;
    let mut at = 0;
    while let Some(&step) = order.get(at) {
        if state.stopped {
            break;
        }
        if let Some(why) = sh.interruption(state.run) {
            state.interrupted = Some(why);
            state.stopped = true;
            break;
        }
        let next = run_direct(state, sh, slots, order, at, clean);
        if next > at {
            clean &= state.states[order[next - 1]] == StepState::Completed;
            at = next;
            continue;
        }
        at += 1;
        run_plain_step(state, sh, slots, step);
        clean &= state.states[step] == StepState::Completed;
    }
}

/// Runs one plain synchronous step through the general bookkeeping: begin it (which may
/// skip it), make its calls, apply their outcomes.
fn run_plain_step(state: &mut RunState, sh: &Execution, slots: &AnySlots, step: usize) {
    let width = state.begin_step(sh, step);
    for item in 0..width {
        let c = CallId {
            run: state.run,
            step,
            item,
        };
        let made = attempt_sync_on(sh, slots, c, 1, Place::Inline);
        state.apply(sh, Outcome::from_first(c, made));
        if state.stopped {
            break;
        }
    }
}
