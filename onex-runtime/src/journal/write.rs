//! One write of a batch, and how a batch applies to a run.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::error::JournalError;
use super::lease::Lease;
use super::run::RunRecord;
use super::status::RunStatus;
use super::step::{Resolution, StepChange, StepEntry, StepKey};
use crate::model::NodeError;

/// One change of a [`Journal::write`](super::Journal::write) batch.
///
/// # Examples
///
/// ```
/// use onex::journal::{StepKey, Write};
///
/// // A sequential chain's steady state: the outcome of step k and the intent of k + 1.
/// let batch = vec![
///     Write::outcome(StepKey::new(3, "clean"), Ok(b"[1,2]".to_vec()), 1),
///     Write::intent(StepKey::new(4, "save"), 1),
/// ];
/// assert_eq!(batch[1].step().map(|s| s.index), Some(4));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// A change to one step call's entry.
    Step {
        /// Which call.
        step: StepKey,
        /// The change.
        change: StepChange,
    },
    /// A new run status; a finished one releases the lease.
    Status(RunStatus),
}

impl Write {
    /// Attempt `attempt` of `step` is about to start.
    pub fn intent(step: StepKey, attempt: u32) -> Self {
        Write::Step {
            step,
            change: StepChange::Intent { attempt },
        }
    }

    /// `step` ended after `attempts` attempts.
    pub fn outcome(step: StepKey, result: Result<Vec<u8>, NodeError>, attempts: u32) -> Self {
        Write::Step {
            step,
            change: StepChange::Outcome { result, attempts },
        }
    }

    /// Attempt `attempt` of the compensation of `step` is about to start.
    pub fn compensation_intent(step: StepKey, attempt: u32) -> Self {
        Write::Step {
            step,
            change: StepChange::CompensationIntent { attempt },
        }
    }

    /// The compensation of `step` ended after `attempts` attempts.
    pub fn compensation_outcome(
        step: StepKey,
        result: Result<(), NodeError>,
        attempts: u32,
    ) -> Self {
        Write::Step {
            step,
            change: StepChange::CompensationOutcome { result, attempts },
        }
    }

    /// An operator's decision about the in-doubt call of `step`.
    pub fn resolve(step: StepKey, resolution: Resolution) -> Self {
        Write::Step {
            step,
            change: StepChange::Resolve(resolution),
        }
    }

    /// Forgets `step`'s outcome and compensation, so that it runs again: a step that
    /// changed in a run resumed with a changed graph.
    pub fn forget(step: StepKey) -> Self {
        Write::Step {
            step,
            change: StepChange::Forget,
        }
    }

    /// The step the write is about, if any.
    pub fn step(&self) -> Option<&StepKey> {
        match self {
            Write::Step { step, .. } => Some(step),
            Write::Status(_) => None,
        }
    }
}

impl RunRecord {
    /// Applies a batch of writes made under `lease` at `now`, in order, all or nothing.
    ///
    /// `load` fetches a step's journaled entry (`None` if nothing is journaled yet); each
    /// entry is loaded once. Its error type is the backend's, which the journal's own
    /// refusals convert into. `self` changes only with a [`Write::Status`]: a step write
    /// leaves the run's head alone, so a backend need not rewrite it. Returns the entries that changed, for the caller to store
    /// along with `self`. On an error the caller stores nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::journal::{RunRecord, StepKey, Write};
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let now = UNIX_EPOCH + Duration::from_secs(1_000);
    /// let mut run = RunRecord::new("r1", "Wf", now);
    /// let lease = run.acquire("me", now, Duration::from_secs(10)).unwrap();
    /// let changed = run
    ///     .apply(&lease, vec![Write::intent(StepKey::new(0, "a"), 1)], now, |_| {
    ///         Ok::<_, onex::journal::JournalError>(None)
    ///     })
    ///     .unwrap();
    /// assert!(changed[0].is_in_doubt());
    /// ```
    pub fn apply<E: From<JournalError>>(
        &mut self,
        lease: &Lease,
        writes: Vec<Write>,
        now: SystemTime,
        mut load: impl FnMut(&StepKey) -> Result<Option<StepEntry>, E>,
    ) -> Result<Vec<StepEntry>, E> {
        self.check_write(lease, now)?;
        let mut touched: BTreeMap<(u32, Option<u32>), StepEntry> = BTreeMap::new();
        for write in writes {
            match write {
                Write::Status(status) => self.set_status(lease, status, now)?,
                Write::Step { step, change } => {
                    // A finished status earlier in the batch ends the run's writes too.
                    self.check_write(lease, now)?;
                    let key = (step.index, step.item);
                    let entry = match touched.entry(key) {
                        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::btree_map::Entry::Vacant(v) => {
                            let entry =
                                load(&step)?.unwrap_or_else(|| StepEntry::new(step.clone()));
                            v.insert(entry)
                        }
                    };
                    let kind = change.kind();
                    entry
                        .apply_by(change, now, Some(&lease.holder))
                        .map_err(|conflict| JournalError::Step {
                            run_id: self.run_id.clone(),
                            step,
                            change: kind,
                            conflict,
                        })?;
                }
            }
        }
        Ok(touched.into_values().collect())
    }
}
