//! The waves' fast path: waves of plain steps as one rayon job, without the general
//! bookkeeping's per-call round trip.
//!
//! On the general path every call of a wave is begun, prechecked for its circuit and cache,
//! grouped (in `Batch` by node type, a hash per call), attempted, settled and applied one by
//! one, which is several times the cost of a trivial node. Where nothing is told or
//! captured per step ([`direct_allowed`](super::direct_allowed)), every step of the wave is
//! plain (synchronous, no retries, timeout or cache, no `when`, not a `map`) and every
//! input of the wave completed, the wave's calls are made instead straight through
//! [`Program::call_sync`](crate::Program::call_sync) on rayon (in `Parallel
//! { max_parallel }`, at most that many at once; in `Batch` a wave of one too, so that
//! CPU-bound calls stay off the executor's thread), and the waves that follow it, as long
//! as they may go direct, in the same job. Each call is under its own panic guard and,
//! with records on, reads the clock once as it ends. Then, on the executor's thread and in
//! wave order, each step is written as the general path writes it: a success completed
//! with its thunk and record in one write
//! ([`Records::completed_inline`](crate::run::records::Records)), started when its wave
//! began and ended at its call's reading; a failure or panic through
//! [`fail_inline`](super::direct::fail_inline), which applies it as the general path does,
//! so the failure strategy (stop, go on, compensate) is the general path's own.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::prelude::*;
use tokio::sync::oneshot;

use super::direct::fail_inline;
use crate::model::{NodeError, StepState};
use crate::policy::panic::panicked;
use crate::run::execution::{CallId, Execution};
use crate::run::outcome::lost_worker;
use crate::run::state::RunState;

/// What the calls of a wave did: when the wave began and, per call, when it ended, in
/// nanoseconds from the run's start (with records only), and the calls that failed, by
/// position in the wave, in wave order.
struct Made {
    begun: Duration,
    ends: Vec<AtomicU64>,
    failed: Vec<(usize, NodeError)>,
}

/// What a stretch of waves did: each wave's calls, in order, and why the stretch stopped
/// before its last wave if the run was interrupted at a boundary inside it.
struct Stretch {
    waves: Vec<Made>,
    interrupted: Option<NodeError>,
}

/// Runs the waves from `w` on directly if they may (see the module's doc); returns `None`,
/// having done nothing, when wave `w` may not, and otherwise how many waves it ran and
/// whether every step of them completed. `clean` says every step of the waves before
/// completed, so no dependency needs checking. The caller checks
/// [`direct_allowed`](super::direct_allowed) (`sh.direct`) and that the run has not
/// stopped. `max_parallel` is the mode's: `None` for `Batch`, every call of a wave at once;
/// `Some(n)` for `Parallel`, at most `n` at once, where a wave of one or a bound of one
/// stays on the general path (which makes them inline, each call starting its step's
/// clock).
///
/// Consecutive waves that may go direct run in one rayon job, one wave after the other,
/// so that a stretch of them costs one round trip between the executor and the pool
/// rather than one per wave (a chain in `Batch` is a stretch of waves of one). The job
/// stops after a wave with a failure, and at a boundary where the run's token is
/// cancelled or its deadline passed, as the general path checks them at each wave.
pub(super) async fn run(
    sh: &Arc<Execution>,
    state: &mut RunState,
    w: usize,
    clean: bool,
    max_parallel: Option<usize>,
) -> Option<(usize, bool)> {
    let graph = sh.program.graph();
    let limit = max_parallel.map(|n| n.max(1));
    let direct = |w: usize| {
        let wave = graph.wave(w);
        graph.plain_waves()[w].plain && !limit.is_some_and(|n| n == 1 || wave.len() <= 1)
    };
    let ready = |step: usize| {
        (graph.step(step).deps.iter()).all(|&d| state.states[d] == StepState::Completed)
    };
    if !direct(w) || !(clean || graph.wave(w).iter().all(|&step| ready(step))) {
        return None;
    }
    if let Some(why) = sh.interruption(state.run) {
        state.interrupted = Some(why);
        state.stopped = true;
        return Some((1, false));
    }
    let end = (w..graph.wave_count())
        .find(|&v| !direct(v))
        .unwrap_or(graph.wave_count());
    let timing = state.records.is_some();
    let stretch = on_rayon(sh, state.run, w..end, timing, limit.unwrap_or(usize::MAX)).await;
    let ran = stretch.waves.len();
    let mut completed = true;
    for (v, made) in (w..).zip(stretch.waves) {
        let wave = graph.wave(v);
        if limit.is_none() {
            state.load_balanced_operations += wave.len();
        }
        if wave.len() > 1 {
            state.parallel_executions += wave.len();
        }
        completed &= made.failed.is_empty();
        if timing {
            state.clock = made.begun;
        }
        apply(sh, state, wave, made, graph.plain_waves()[v].undoable);
    }
    if let Some(why) = stretch.interrupted {
        state.interrupted = Some(why);
        state.stopped = true;
        completed = false;
    }
    Some((ran.max(1), completed))
}

/// Makes the calls of the waves in `waves` of `run` as one rayon job, one wave after the
/// other, at most `workers` calls at once, awaited without holding this thread.
async fn on_rayon(
    sh: &Arc<Execution>,
    run: usize,
    waves: std::ops::Range<usize>,
    timing: bool,
    workers: usize,
) -> Stretch {
    let (tx, rx) = oneshot::channel();
    let job = Arc::clone(sh);
    let first = waves.start;
    rayon::spawn(move || {
        let graph = job.program.graph();
        let mut stretch = Stretch {
            waves: Vec::new(),
            interrupted: None,
        };
        for w in waves {
            if w > first && job.aborted(run) {
                // The run's future was dropped (see `Abandon`): nobody awaits the rest.
                break;
            }
            if w > first
                && let Some(why) = job.interruption(run)
            {
                stretch.interrupted = Some(why);
                break;
            }
            let begun = match timing {
                true => job.elapsed(),
                false => Duration::ZERO,
            };
            let made = call_each(&job, run, graph.wave(w), timing, workers, begun);
            let failed = !made.failed.is_empty();
            stretch.waves.push(made);
            if failed {
                break;
            }
        }
        // Dropped before the executor hears of it, as a group's job does.
        drop(job);
        let _ = tx.send(stretch);
    });
    let mut abandon = Abandon {
        sh,
        run,
        armed: true,
    };
    let made = rx.await;
    abandon.armed = false;
    match made {
        Ok(stretch) => stretch,
        // Every call is under a panic guard, so the job cannot end without sending; were it
        // to, the first wave's calls fail as a lost worker's.
        Err(_) => Stretch {
            waves: vec![Made {
                begun: Duration::ZERO,
                ends: Vec::new(),
                failed: (0..sh.program.graph().wave(first).len())
                    .map(|i| (i, lost_worker()))
                    .collect(),
            }],
            interrupted: None,
        },
    }
}

/// Aborts the run when dropped: held while a stretch's job runs, so that if the run's
/// future is dropped there (its caller gave up on it), the job makes no further calls and
/// starts no further wave, as the general path starts none once its loop is gone.
struct Abandon<'a> {
    sh: &'a Execution,
    run: usize,
    armed: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.sh.abort(self.run);
        }
    }
}

/// Calls every step of `wave` (of `run`) on the current rayon pool, at most `workers` at
/// once; the wave `begun` then. With `timing`, each call reads the clock as it ends (the
/// reading turned into an offset there, so that the conversions run in parallel too). A
/// run already aborted (fail fast elsewhere, or interrupted) makes no more calls: each
/// fails as cancelled, as on the general path.
fn call_each(
    sh: &Execution,
    run: usize,
    wave: &[usize],
    timing: bool,
    workers: usize,
    begun: Duration,
) -> Made {
    let program = &*sh.program;
    let graph = program.graph();
    let slots = &sh.slots[run];
    let failed = Mutex::new(Vec::new());
    let call = |i: usize, step: usize| {
        let result = if sh.aborted(run) {
            Err(NodeError::cancelled())
        } else {
            let call = sh.call(CallId { run, step, item: 0 }, 1);
            // A bare guard: the step's name is looked up only when it panicked.
            catch_unwind(AssertUnwindSafe(|| program.call_sync(slots, call)))
                .unwrap_or_else(|payload| Err(panicked(&graph.step(step).name, payload)))
        };
        if let Err(error) = result {
            failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((i, error));
        }
    };
    let ends: Vec<AtomicU64> = match timing {
        true => wave.iter().map(|_| AtomicU64::new(0)).collect(),
        false => Vec::new(),
    };
    let call_and_time = |i: usize, step: usize| {
        call(i, step);
        if let Some(end) = ends.get(i) {
            end.store(sh.start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
    };
    match workers {
        // The pool's threads are the bound: one job, split as rayon splits it.
        workers if workers >= wave.len().min(rayon::current_num_threads()) => wave
            .par_iter()
            .enumerate()
            .for_each(|(i, &s)| call_and_time(i, s)),
        // Fewer than the pool's threads: as many workers, each taking the next call.
        workers => {
            let next = AtomicUsize::new(0);
            rayon::scope(|scope| {
                for _ in 0..workers {
                    scope.spawn(|_| {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&step) = wave.get(i) else { break };
                            call_and_time(i, step);
                        }
                    });
                }
            });
        }
    }
    let mut failed = failed.into_inner().unwrap_or_else(|e| e.into_inner());
    failed.sort_unstable_by_key(|&(i, _)| i);
    Made {
        begun,
        ends,
        failed,
    }
}

/// Writes what the wave's calls did into the run's state, in wave order: a success
/// completes its step (and, for a compensated effect, leaves its output to undo); a failure
/// fails its step as the general path does.
fn apply(sh: &Execution, state: &mut RunState, wave: &[usize], made: Made, undoable: bool) {
    let begun = state.clock;
    if let Some(records) = state.records.as_mut() {
        records.reserve_thunks(wave.len());
    }
    // The successes between failures in one pass each, so that thunks stay in wave order.
    let mut from = 0;
    for (at, error) in made.failed {
        let ends = made.ends.get(from..at);
        complete(sh, state, &wave[from..at], ends, begun, undoable);
        // The failed call started with its wave, as its thunk was emitted.
        state.clock = begun;
        fail_inline(state, sh, wave[at], error);
        from = at + 1;
    }
    complete(
        sh,
        state,
        &wave[from..],
        made.ends.get(from..),
        begun,
        undoable,
    );
}

/// Completes `steps`, whose calls succeeded; with records, each started at `begun` and
/// ended at its entry of `ends`. `undoable` says some may be compensated effects.
fn complete(
    sh: &Execution,
    state: &mut RunState,
    steps: &[usize],
    ends: Option<&[AtomicU64]>,
    begun: Duration,
    undoable: bool,
) {
    for &step in steps {
        state.states[step] = StepState::Completed;
    }
    if let (Some(records), Some(ends)) = (state.records.as_mut(), ends) {
        for (&step, ended) in steps.iter().zip(ends) {
            let ended = Duration::from_nanos(ended.load(Ordering::Relaxed));
            records.completed_inline(step, begun, ended);
        }
    }
    if !undoable {
        return;
    }
    let graph = sh.program.graph();
    for &step in steps {
        let spec = graph.step(step);
        if spec.is_undoable() {
            sh.effect_completed(CallId {
                run: state.run,
                step,
                item: 0,
            });
        }
    }
}
