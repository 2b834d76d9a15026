//! A journal in memory: for tests, and the reference the other backends are checked
//! against. It survives nothing but the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;

use super::clock::{Clock, SystemClock};
use super::error::JournalError;
use super::filter::{Retention, RunFilter};
use super::lease::Lease;
use super::run::{GraphFingerprint, NewRun, RunRecord, RunSnapshot, Started};
use super::step::StepEntry;
use super::write::Write;
use super::{Journal, JournalFuture};

/// A [`Journal`] in memory. Clones share the same runs, as two processes share a file.
///
/// # Examples
///
/// ```
/// use onex::journal::{Journal, ManualClock, MemoryJournal, NewRun, RunFilter};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), onex::journal::JournalError> {
/// let clock = ManualClock::new();
/// let journal = MemoryJournal::with_clock(clock.clone());
/// let other = journal.clone();
/// journal.start_run(NewRun::new("r1", "Wf", vec![]), "a", Duration::from_secs(10)).await?;
/// assert_eq!(other.list_runs(&RunFilter::unfinished()).await?.len(), 1);
///
/// clock.advance(Duration::from_secs(10));
/// let lease = other.acquire_lease("r1", "b", Duration::from_secs(10)).await?;
/// assert_eq!(lease.token, 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryJournal {
    runs: Arc<Mutex<HashMap<String, StoredRun>>>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Clone)]
struct StoredRun {
    record: RunRecord,
    input: Vec<u8>,
    fingerprint: GraphFingerprint,
    steps: BTreeMap<(u32, Option<u32>), StepEntry>,
}

impl StoredRun {
    fn snapshot(&self) -> RunSnapshot {
        RunSnapshot {
            record: self.record.clone(),
            input: self.input.clone(),
            fingerprint: self.fingerprint.clone(),
            steps: self.steps.values().cloned().collect(),
        }
    }
}

impl MemoryJournal {
    /// An empty journal on the system clock.
    pub fn new() -> Self {
        MemoryJournal::with_clock(SystemClock)
    }

    /// An empty journal reading time from `clock`.
    pub fn with_clock(clock: impl Clock + 'static) -> Self {
        MemoryJournal {
            runs: Arc::default(),
            clock: Arc::new(clock),
        }
    }

    fn runs(&self) -> MutexGuard<'_, HashMap<String, StoredRun>> {
        // Every change is computed before it is stored, so a panic elsewhere while the
        // lock was held cannot have left a run half-written.
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start(&self, run: NewRun, holder: &str, ttl: Duration) -> Result<Started, JournalError> {
        let now = self.clock.now();
        let mut runs = self.runs();
        if let Some(stored) = runs.get_mut(&run.run_id) {
            let lease = stored.record.attach(&run.workflow, holder, now, ttl)?;
            let run = Box::new(stored.snapshot());
            return Ok(match lease {
                Some(lease) => Started::Attached { lease, run },
                None => Started::Finished(run),
            });
        }
        let mut record = RunRecord::new(run.run_id.clone(), run.workflow, now);
        let lease = record.acquire(holder, now, ttl)?;
        runs.insert(
            run.run_id,
            StoredRun {
                record,
                input: run.input,
                fingerprint: run.fingerprint,
                steps: BTreeMap::new(),
            },
        );
        Ok(Started::Created(lease))
    }

    fn with_run<T>(
        &self,
        run_id: &str,
        change: impl FnOnce(&mut RunRecord) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let mut runs = self.runs();
        let stored = runs
            .get_mut(run_id)
            .ok_or_else(|| JournalError::UnknownRun {
                run_id: run_id.to_owned(),
            })?;
        let mut record = stored.record.clone();
        let answer = change(&mut record)?;
        stored.record = record;
        Ok(answer)
    }

    fn apply(&self, lease: &Lease, writes: Vec<Write>) -> Result<(), JournalError> {
        let now = self.clock.now();
        let mut runs = self.runs();
        let stored = runs
            .get_mut(&*lease.run_id)
            .ok_or_else(|| JournalError::UnknownRun {
                run_id: lease.run_id.to_string(),
            })?;
        let mut record = stored.record.clone();
        let changed = record.apply(lease, writes, now, |step| {
            Ok(stored.steps.get(&(step.index, step.item)).cloned())
        })?;
        stored.record = record;
        for entry in changed {
            stored
                .steps
                .insert((entry.step.index, entry.step.item), entry);
        }
        Ok(())
    }

    fn list(&self, filter: &RunFilter) -> Vec<RunRecord> {
        let runs = self.runs();
        let mut records: Vec<RunRecord> = runs
            .values()
            .map(|stored| &stored.record)
            .filter(|r| !filter.unfinished_only || !r.status.is_finished())
            .filter(|r| filter.workflow.as_ref().is_none_or(|w| *w == r.workflow))
            .cloned()
            .collect();
        records.sort_by(|a, b| (a.created_at, &a.run_id).cmp(&(b.created_at, &b.run_id)));
        records.truncate(filter.limit.unwrap_or(usize::MAX));
        records
    }

    fn prune_now(&self, retention: &Retention) -> usize {
        let now = self.clock.now();
        let mut runs = self.runs();
        let mut finished: Vec<(std::time::SystemTime, String)> = runs
            .values()
            .filter(|s| s.record.status.is_finished())
            .map(|s| (s.record.updated_at, s.record.run_id.clone()))
            .collect();
        // Newest first: the ones `keep_last` keeps.
        finished.sort_by(|a, b| b.cmp(a));
        let keep = retention.keep_last.unwrap_or(usize::MAX);
        let cutoff = retention.max_age.and_then(|age| now.checked_sub(age));
        let doomed: Vec<String> = finished
            .into_iter()
            .enumerate()
            .filter(|(rank, (updated, _))| {
                *rank >= keep || cutoff.is_some_and(|cutoff| *updated < cutoff)
            })
            .map(|(_, (_, run_id))| run_id)
            .collect();
        for run_id in &doomed {
            runs.remove(run_id);
        }
        doomed.len()
    }
}

impl Default for MemoryJournal {
    fn default() -> Self {
        MemoryJournal::new()
    }
}

impl Journal for MemoryJournal {
    fn start_run<'a>(
        &'a self,
        run: NewRun,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Started> {
        std::future::ready(self.start(run, holder, ttl)).boxed()
    }

    fn acquire_lease<'a>(
        &'a self,
        run_id: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease> {
        let now = self.clock.now();
        let result = self.with_run(run_id, |record| record.acquire(holder, now, ttl));
        std::future::ready(result).boxed()
    }

    fn renew_lease<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
        let now = self.clock.now();
        let result = self.with_run(&lease.run_id, |record| record.renew(lease, now, ttl));
        std::future::ready(result).boxed()
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
        let result = self.with_run(&lease.run_id, |record| record.release(lease));
        std::future::ready(result).boxed()
    }

    fn write<'a>(&'a self, lease: &'a Lease, writes: Vec<Write>) -> JournalFuture<'a, ()> {
        std::future::ready(self.apply(lease, writes)).boxed()
    }

    fn load_run<'a>(&'a self, run_id: &'a str) -> JournalFuture<'a, Option<RunSnapshot>> {
        let snapshot = self.runs().get(run_id).map(StoredRun::snapshot);
        std::future::ready(Ok(snapshot)).boxed()
    }

    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> JournalFuture<'a, Vec<RunRecord>> {
        std::future::ready(Ok(self.list(filter))).boxed()
    }

    fn prune<'a>(&'a self, retention: &'a Retention) -> JournalFuture<'a, usize> {
        std::future::ready(Ok(self.prune_now(retention))).boxed()
    }
}

#[cfg(all(test, feature = "journal-conformance"))]
mod conformance {
    use super::MemoryJournal;
    use crate::journal::ManualClock;
    use crate::journal::conformance::JournalFactory;

    struct Memory;

    impl JournalFactory for Memory {
        type Journal = MemoryJournal;

        fn create(&self, clock: ManualClock) -> MemoryJournal {
            MemoryJournal::with_clock(clock)
        }

        fn reopen(&self, journal: &MemoryJournal, _clock: ManualClock) -> MemoryJournal {
            journal.clone()
        }
    }

    crate::journal_conformance_tests!(Memory);
}
