//! The gate between a synchronous attempt running off the executor's thread and its step's
//! slot: who may publish the attempt's output.
//!
//! A synchronous call cannot be stopped when its timeout fires. The executor *abandons* the
//! attempt instead, and from then on the attempt may not store into the step's slot: that
//! belongs to a later attempt, or to nobody when the step fails. The attempt's output, if it
//! returns one anyway, is handed to the gate as an [`Orphan`] by the generic glue, which
//! still knows the node's type, so the executor can give it to the node's compensation.
//! One compare-and-swap decides each race: an attempt publishes, or it was abandoned first.

use std::any::Any;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::program::{Call, StepFuture};

/// The output of an abandoned attempt, kept for its node's compensation.
pub(crate) struct Orphan {
    value: Box<dyn Any + Send + Sync>,
    undo: Undo,
}

/// A node's compensation over an output of its type, erased: it gives `None` for a value of
/// another type.
pub(crate) type Undo = for<'a> fn(Call<'a>, &'a (dyn Any + Send + Sync)) -> Option<StepFuture<'a>>;

impl Orphan {
    /// `value`, to be undone by `undo`.
    pub(crate) fn new(value: Box<dyn Any + Send + Sync>, undo: Undo) -> Self {
        Orphan { value, undo }
    }

    /// The node's compensation of this output.
    pub(crate) fn compensate<'a>(&'a self, call: Call<'a>) -> Option<StepFuture<'a>> {
        (self.undo)(call, &*self.value)
    }
}

/// Queued: not started yet.
const QUEUED: u8 = 0;
/// Running, free to publish.
const RUNNING: u8 = 1;
/// Its output is (being) stored in the step's slot.
const PUBLISHED: u8 = 2;
/// Abandoned while running: it may not publish.
const ABANDONED: u8 = 3;
/// Abandoned before it started: it never runs.
const DROPPED: u8 = 4;

/// What abandoning an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abandon {
    /// It had not started, and now never will.
    BeforeStart,
    /// It is running and may no longer publish: a straggler.
    WhileRunning,
    /// It already published its output: it succeeded, just in time.
    TooLate,
}

/// Decides whether one attempt may publish its output. See the module docs.
pub(crate) struct Gate {
    state: AtomicU8,
    orphan: Mutex<Option<Orphan>>,
}

impl Gate {
    /// A gate for an attempt that has not started.
    pub(crate) fn new() -> Self {
        Gate {
            state: AtomicU8::new(QUEUED),
            orphan: Mutex::new(None),
        }
    }

    /// Marks the attempt started; `false` when it was abandoned before, and must not run.
    pub(crate) fn start(&self) -> bool {
        self.state
            .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Claims the step's slot for the attempt's output; `false` when the attempt was
    /// abandoned, and its output must go to [`orphan`](Self::orphan) instead.
    pub(crate) fn claim(&self) -> bool {
        self.state
            .compare_exchange(RUNNING, PUBLISHED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Keeps the output of an abandoned attempt; `None` for a node without compensation,
    /// whose output is dropped.
    pub(crate) fn orphan(&self, value: Option<Orphan>) {
        *self.orphan.lock().unwrap_or_else(|e| e.into_inner()) = value;
    }

    /// Abandons the attempt (its timeout fired, or its driver went away).
    pub(crate) fn abandon(&self) -> Abandon {
        let swap = |from, to| {
            self.state
                .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
        };
        match swap(QUEUED, DROPPED) {
            Ok(_) => Abandon::BeforeStart,
            Err(RUNNING) => match swap(RUNNING, ABANDONED) {
                Ok(_) => Abandon::WhileRunning,
                Err(_) => Abandon::TooLate,
            },
            Err(PUBLISHED) => Abandon::TooLate,
            // Abandoned already: nothing changes.
            Err(DROPPED) => Abandon::BeforeStart,
            Err(_) => Abandon::WhileRunning,
        }
    }

    /// Whether the attempt was abandoned while it ran.
    pub(crate) fn abandoned(&self) -> bool {
        self.state.load(Ordering::Acquire) == ABANDONED
    }

    /// The kept output of an abandoned attempt, once.
    pub(crate) fn take_orphan(&self) -> Option<Orphan> {
        self.orphan.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("state", &self.state.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_publishes_or_is_abandoned_never_both() {
        let gate = Gate::new();
        assert!(gate.start());
        assert!(gate.claim());
        assert_eq!(gate.abandon(), Abandon::TooLate);
        assert!(!gate.abandoned());

        let gate = Gate::new();
        assert!(gate.start());
        assert_eq!(gate.abandon(), Abandon::WhileRunning);
        assert!(!gate.claim(), "an abandoned attempt cannot publish");
        assert!(gate.abandoned());

        let gate = Gate::new();
        assert_eq!(gate.abandon(), Abandon::BeforeStart);
        assert!(
            !gate.start(),
            "an attempt abandoned in the queue never runs"
        );
        assert_eq!(gate.abandon(), Abandon::BeforeStart);
    }

    #[test]
    fn racing_claim_and_abandon_agree() {
        for _ in 0..1_000 {
            let gate = std::sync::Arc::new(Gate::new());
            assert!(gate.start());
            let g = gate.clone();
            let claimer = std::thread::spawn(move || g.claim());
            let abandoned = gate.abandon();
            let claimed = claimer.join().unwrap_or(false);
            assert_eq!(claimed, abandoned == Abandon::TooLate);
        }
    }
}
