//! What the calls of one execution share: the program, every run's slots and context, and
//! the flags that stop work early. Rayon jobs hold it through an `Arc`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::straggler::{Leftovers, Undoable};
use std::collections::HashMap;

use crate::context::Context;
use crate::driver::RunDriver;
use crate::model::ExecutionMode;
use crate::model::{ErrorCode, NodeError, Thunk};
use crate::program::Call;
use crate::program::erased::{AnySlots, Erased};

/// Identifies one call: run (input) index, step, `map` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallId {
    pub(crate) run: usize,
    pub(crate) step: usize,
    pub(crate) item: usize,
}

pub(crate) struct Execution {
    pub(crate) program: std::sync::Arc<Erased>,
    /// One entry per run: a single run has one, `run_batch` has one per input (none when
    /// the batch is fused: its runs' slots are owned by their workers).
    pub(crate) slots: Vec<AnySlots>,
    pub(crate) contexts: Vec<Context>,
    /// Set when a run must not start more calls (fail fast, cancellation).
    pub(crate) abort: Vec<AtomicBool>,
    pub(crate) mode: ExecutionMode,
    pub(crate) cache_all: bool,
    /// Whether plain steps may run back to back (`exec::direct_allowed`).
    pub(crate) direct: bool,
    pub(crate) capture: bool,
    /// Who is told of the run's events.
    pub(crate) observer: Option<std::sync::Arc<dyn crate::RunObserver>>,
    /// Whether records are kept, and so whether clocks are read per step.
    pub(crate) timing: bool,
    /// The instant all record offsets count from, on the clock the run reads them from.
    pub(crate) start: super::clock::Start,
    /// The run's deadline (`RunOptions::timeout`), as an offset from `start`.
    pub(crate) deadline: Option<Duration>,
    /// Per run: what its effects leave to undo, and its stragglers.
    pub(crate) leftovers: Vec<Mutex<Leftovers>>,
    /// Per run, its step driver; empty when the runtime has none.
    pub(crate) drivers: Vec<Box<dyn RunDriver>>,
    /// Per run (with drivers only): the thunks of the calls routed to the driver, by step
    /// and item, the same for every attempt.
    pub(crate) handoffs: Vec<Mutex<HashMap<(usize, usize), Thunk>>>,
}

impl Execution {
    #[inline]
    pub(crate) fn call(&self, c: CallId, attempt: u32) -> Call<'_> {
        Call {
            ctx: &self.contexts[c.run],
            step: c.step,
            item: c.item,
            attempt,
            mode: self.mode,
            gate: None,
            stamps: None,
        }
    }

    /// Makes this the shared part of one run with context `ctx`, keeping its allocations
    /// (a fused batch reuses one per rayon job, input after input).
    pub(crate) fn reuse_for(&mut self, ctx: Context) {
        self.contexts.clear();
        self.contexts.push(ctx);
        self.abort.clear();
        self.abort.push(AtomicBool::new(false));
        self.leftovers.clear();
        self.leftovers.push(Mutex::default());
    }

    /// The thunk of call `c` if the run's driver makes it ([`crate::driver::Route::Driver`]).
    pub(crate) fn handoff(&self, c: CallId) -> Option<Thunk> {
        if self.drivers.is_empty() {
            return None;
        }
        let handoffs = self.handoffs[c.run]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        handoffs.get(&(c.step, c.item)).cloned()
    }

    /// Whether the run's driver makes call `c`: one check of an empty list without a
    /// driver, inlined into every caller.
    #[inline]
    pub(crate) fn by_driver(&self, c: CallId) -> bool {
        !self.drivers.is_empty() && self.handed_off(c)
    }

    /// [`by_driver`](Self::by_driver) with a driver.
    #[inline(never)]
    fn handed_off(&self, c: CallId) -> bool {
        let handoffs = self.handoffs[c.run]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        handoffs.contains_key(&(c.step, c.item))
    }

    /// What `run`'s calls leave for its end, locked.
    pub(crate) fn leftovers(&self, run: usize) -> MutexGuard<'_, Leftovers> {
        self.leftovers[run]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a completed call of a compensated effect step.
    pub(crate) fn effect_completed(&self, c: CallId) {
        self.leftovers(c.run).undo.push(Undoable::Output(c));
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The offset from the run's start when records are kept; zero otherwise, so a run
    /// without records reads no clock per step.
    #[inline]
    pub(crate) fn stamp(&self) -> Duration {
        if self.timing {
            self.start.elapsed()
        } else {
            Duration::ZERO
        }
    }

    /// The observer, if there is one: callers build an event only when it is `Some`.
    #[inline]
    pub(crate) fn observer(&self) -> Option<&dyn crate::RunObserver> {
        self.observer.as_deref()
    }

    /// Why `run` must stop now, if it must: its token was cancelled or its deadline passed.
    /// For executors that hold the thread for a long time and so cannot be interrupted at
    /// an `.await`.
    pub(crate) fn interruption(&self, run: usize) -> Option<crate::NodeError> {
        if self.contexts[run].is_cancelled() {
            return Some(crate::NodeError::cancelled());
        }
        match self.deadline {
            Some(limit) if self.start.elapsed() >= limit => Some(deadline_passed(limit)),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn aborted(&self, run: usize) -> bool {
        self.abort[run].load(Ordering::Relaxed)
    }

    pub(crate) fn abort(&self, run: usize) {
        self.abort[run].store(true, Ordering::Relaxed);
    }
}

/// The error of a run whose `RunOptions::timeout` passed.
pub(crate) fn deadline_passed(limit: Duration) -> NodeError {
    NodeError::new(
        ErrorCode::Timeout,
        format!("the run's deadline of {limit:?} passed"),
    )
}
