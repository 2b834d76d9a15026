//! The runs a journal handle is writing: one lock per run, so that the handle's own writes
//! to a run queue instead of racing each other's CAS, and under it the run's last known
//! state, so that a write needs no read first.
//!
//! The cached state is a guess, never trusted alone: a commit made from it carries its head
//! revision, and fails if anything was committed since; a refusal computed from it is
//! checked again on a fresh read before it is returned.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use onex_runtime::journal::{RunRecord, StepEntry, StepKey};
use tokio::sync::OwnedMutexGuard;

/// At most this many runs keep their state cached; past it a run's state is read again.
const MAX_CACHED: usize = 4096;

/// A step entry's place in a run: `(index, item)`.
pub(crate) type Slot = (u32, Option<u32>);

/// The place of `step`.
pub(crate) fn slot(step: &StepKey) -> Slot {
    (step.index, step.item)
}

/// A run's state as of head revision `revision`.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) revision: u64,
    pub(crate) record: RunRecord,
    /// The suffix of the run's input key, which the head names.
    pub(crate) input: String,
    /// Entries known to be current at `revision`; those in the head's buffer among them.
    pub(crate) steps: BTreeMap<Slot, StepEntry>,
    /// The entries the head holds (not yet written to their own keys).
    pub(crate) buffered: BTreeSet<Slot>,
    /// Whether `steps` holds every entry of the run (an absent one does not exist).
    pub(crate) complete: bool,
}

type Cell = Arc<tokio::sync::Mutex<Option<Held>>>;

/// The lock and cached state of each run the handle is working on.
#[derive(Debug, Default)]
pub(crate) struct HeldRuns {
    runs: Mutex<HashMap<String, Cell>>,
}

/// A run locked for the handle's exclusive use, with its cached state (if any).
pub(crate) struct Locked<'a> {
    runs: &'a HeldRuns,
    run_id: &'a str,
    guard: Option<OwnedMutexGuard<Option<Held>>>,
}

impl HeldRuns {
    /// Waits for the handle's other operations on `run_id` to finish, and locks it.
    pub(crate) async fn lock<'a>(&'a self, run_id: &'a str) -> Locked<'a> {
        let cell: Cell = {
            let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
            runs.entry(run_id.to_owned()).or_default().clone()
        };
        Locked {
            runs: self,
            run_id,
            guard: Some(cell.lock_owned().await),
        }
    }
}

impl Locked<'_> {
    /// The cached state, if any.
    pub(crate) fn cached(&self) -> Option<&Held> {
        self.guard.as_ref().and_then(|g| g.as_ref())
    }

    /// The cached state, to update in place after a commit made from it.
    pub(crate) fn cached_mut(&mut self) -> Option<&mut Held> {
        self.guard.as_mut().and_then(|g| g.as_mut())
    }

    /// Drops the cached state once the run is released or finished: nothing more to
    /// write.
    fn forget_if_done(&mut self) {
        if let Some(guard) = self.guard.as_mut()
            && guard
                .as_ref()
                .is_some_and(|h| h.record.lease.holder.is_none() || h.record.status.is_finished())
        {
            **guard = None;
        }
    }

    /// Replaces the cached state (kept after the operation while the run is leased).
    pub(crate) fn set(&mut self, held: Option<Held>) {
        if let Some(guard) = self.guard.as_mut() {
            **guard = held;
        }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.forget_if_done();
        let Some(guard) = self.guard.take() else {
            return;
        };
        let cached = guard.is_some();
        drop(guard);
        let mut runs = self
            .runs
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let cached_runs = runs.len();
        if let Some(cell) = runs.get(self.run_id) {
            // Only the map holds it: nobody waits for the run. Forget it unless its state
            // is worth keeping.
            let idle = Arc::strong_count(cell) == 1;
            if idle && (!cached || cached_runs > MAX_CACHED) {
                runs.remove(self.run_id);
            }
        }
    }
}
