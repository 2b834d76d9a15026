//! What the journal holds per run, and the rules on a run's status and lease.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::error::JournalError;
use super::lease::{Lease, LeaseState};
use super::status::RunStatus;
use super::step::{StepEntry, StepKey};

/// The identity of a workflow's graph: a digest to compare, and a description to print a
/// diff from when the digests differ.
///
/// The journal stores both as given; the caller decides what they cover (steps, edges,
/// node types, their types). A description with one line per step makes a line diff read
/// well.
///
/// # Examples
///
/// ```
/// use onex::journal::GraphFingerprint;
///
/// let fp = GraphFingerprint::new("9f2c", "0 parse(line) -> u64\n1 double(parse) -> u64\n");
/// assert_eq!(fp.digest, "9f2c");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GraphFingerprint {
    /// Equal digests mean the same graph.
    pub digest: String,
    /// A readable description of the graph.
    pub description: String,
}

impl GraphFingerprint {
    /// A fingerprint from its digest and description.
    pub fn new(digest: impl Into<String>, description: impl Into<String>) -> Self {
        GraphFingerprint {
            digest: digest.into(),
            description: description.into(),
        }
    }
}

/// A run to start: what [`Journal::start_run`](super::Journal::start_run) records if the id
/// is new.
///
/// # Examples
///
/// ```
/// use onex::journal::{GraphFingerprint, NewRun};
///
/// let run = NewRun::new("order-42", "Orders", br#"{"sku":"A1"}"#.to_vec())
///     .fingerprint(GraphFingerprint::new("9f2c", "0 charge(order)\n"));
/// assert_eq!(run.workflow, "Orders");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// The run id, unique in the journal.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// The serialized input.
    pub input: Vec<u8>,
    /// The workflow graph's fingerprint.
    pub fingerprint: GraphFingerprint,
}

impl NewRun {
    /// A run of `workflow` with id `run_id` and serialized `input`, with an empty fingerprint.
    pub fn new(run_id: impl Into<String>, workflow: impl Into<String>, input: Vec<u8>) -> Self {
        NewRun {
            run_id: run_id.into(),
            workflow: workflow.into(),
            input,
            fingerprint: GraphFingerprint::default(),
        }
    }

    /// Sets the graph fingerprint.
    pub fn fingerprint(mut self, fingerprint: GraphFingerprint) -> Self {
        self.fingerprint = fingerprint;
        self
    }
}

/// A run's head: identity, status, times and lease; what [`Journal::list_runs`] returns.
/// Its methods are the rules on a run's status and lease every backend applies.
///
/// [`Journal::list_runs`]: super::Journal::list_runs
///
/// # Examples
///
/// ```
/// use onex::journal::{RunRecord, RunStatus};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_000);
/// let mut run = RunRecord::new("r1", "Orders", now);
/// let lease = run.acquire("a", now, Duration::from_secs(10)).unwrap();
/// run.set_status(&lease, RunStatus::Completed, now).unwrap();
/// assert!(run.lease.holder.is_none(), "finishing releases the lease");
/// assert!(run.check_write(&lease, now).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run id.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// Where the run stands.
    pub status: RunStatus,
    /// When the run was first started.
    pub created_at: SystemTime,
    /// When the run was last started, attached to, leased or given a status. Step writes
    /// leave it alone (each step entry has its own times): that keeps a step's commit to
    /// the step's own record.
    pub updated_at: SystemTime,
    /// The run's lease.
    pub lease: LeaseState,
}

impl RunRecord {
    /// A new running run, not leased yet.
    pub fn new(run_id: impl Into<String>, workflow: impl Into<String>, now: SystemTime) -> Self {
        RunRecord {
            run_id: run_id.into(),
            workflow: workflow.into(),
            status: RunStatus::Running,
            created_at: now,
            updated_at: now,
            lease: LeaseState::default(),
        }
    }

    /// Takes the run's lease (see [`LeaseState::acquire`]); a finished run is not leased.
    pub fn acquire(
        &mut self,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Lease, JournalError> {
        self.unfinished()?;
        let lease = self.lease.acquire(&self.run_id, holder, now, ttl)?;
        self.updated_at = now;
        Ok(lease)
    }

    /// What starting this (existing) run as `workflow` does: leases it to `holder` if it
    /// is unfinished (`Some`), leaves it alone if it is finished (`None`); refused if the
    /// run is of another workflow, or leased.
    pub fn attach(
        &mut self,
        workflow: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Option<Lease>, JournalError> {
        if self.workflow != workflow {
            return Err(JournalError::WorkflowMismatch {
                run_id: self.run_id.clone(),
                journaled: self.workflow.clone(),
                requested: workflow.to_owned(),
            });
        }
        if self.status.is_finished() {
            return Ok(None);
        }
        self.acquire(holder, now, ttl).map(Some)
    }

    /// Extends `lease` (see [`LeaseState::renew`]); a finished run has no lease to renew.
    pub fn renew(
        &mut self,
        lease: &Lease,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Lease, JournalError> {
        self.unfinished()?;
        self.lease.renew(lease, now, ttl)
    }

    /// Gives `lease` up (see [`LeaseState::release`]).
    pub fn release(&mut self, lease: &Lease) -> Result<(), JournalError> {
        self.unfinished()?;
        self.lease.release(lease)
    }

    /// Whether `lease` may write the run at `now`.
    pub fn check_write(&self, lease: &Lease, now: SystemTime) -> Result<(), JournalError> {
        self.unfinished()?;
        self.lease.check(lease, now)
    }

    /// Sets the status under `lease`. A finished status also releases the lease: nothing
    /// is left to do on the run.
    pub fn set_status(
        &mut self,
        lease: &Lease,
        status: RunStatus,
        now: SystemTime,
    ) -> Result<(), JournalError> {
        self.check_write(lease, now)?;
        self.status = status;
        if status.is_finished() {
            self.lease.holder = None;
        }
        self.updated_at = now;
        Ok(())
    }

    fn unfinished(&self) -> Result<(), JournalError> {
        if self.status.is_finished() {
            return Err(JournalError::RunFinished {
                run_id: self.run_id.clone(),
                status: self.status,
            });
        }
        Ok(())
    }
}

/// Everything journaled about a run: what a resume needs.
///
/// # Examples
///
/// ```
/// use onex::journal::{Journal, MemoryJournal, NewRun, StepKey};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), onex::journal::JournalError> {
/// let journal = MemoryJournal::new();
/// let ttl = Duration::from_secs(30);
/// let lease = journal.start_run(NewRun::new("r1", "Wf", vec![]), "me", ttl).await?.lease().unwrap().clone();
/// journal.record_intent(&lease, StepKey::new(0, "parse"), 1).await?;
/// journal.record_outcome(&lease, StepKey::new(0, "parse"), Ok(b"7".to_vec()), 1).await?;
/// journal.record_intent(&lease, StepKey::new(1, "charge"), 1).await?;
///
/// let run = journal.load_run("r1").await?.unwrap();
/// assert_eq!(run.output(&StepKey::new(0, "parse")), Some(&b"7"[..]));
/// assert_eq!(run.in_doubt().map(|e| e.step.index).collect::<Vec<_>>(), [1]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSnapshot {
    /// The run's head.
    pub record: RunRecord,
    /// The serialized input.
    pub input: Vec<u8>,
    /// The graph fingerprint the run was started with.
    pub fingerprint: GraphFingerprint,
    /// One entry per step call journaled, ordered by step index, then item.
    pub steps: Vec<StepEntry>,
}

impl RunSnapshot {
    /// The entry of `step` (matched by index and item), if anything was journaled for it.
    pub fn step(&self, step: &StepKey) -> Option<&StepEntry> {
        self.steps
            .binary_search_by(|e| (e.step.index, e.step.item).cmp(&(step.index, step.item)))
            .ok()
            .map(|i| &self.steps[i])
    }

    /// The serialized output of `step`, if it completed.
    pub fn output(&self, step: &StepKey) -> Option<&[u8]> {
        self.step(step).and_then(StepEntry::output)
    }

    /// The calls with an intent and no outcome.
    pub fn in_doubt(&self) -> impl Iterator<Item = &StepEntry> {
        self.steps.iter().filter(|e| e.is_in_doubt())
    }

    /// The compensations with an intent and no outcome.
    pub fn compensations_in_doubt(&self) -> impl Iterator<Item = &StepEntry> {
        self.steps.iter().filter(|e| e.is_compensation_in_doubt())
    }
}

/// What [`Journal::start_run`](super::Journal::start_run) found.
///
/// # Examples
///
/// ```
/// use onex::journal::{Journal, MemoryJournal, NewRun, Started};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), onex::journal::JournalError> {
/// let journal = MemoryJournal::new();
/// let ttl = Duration::from_secs(30);
/// let first = journal.start_run(NewRun::new("r1", "Wf", vec![]), "a", ttl).await?;
/// assert!(matches!(first, Started::Created(_)));
/// journal.release_lease(first.lease().unwrap()).await?;
///
/// let again = journal.start_run(NewRun::new("r1", "Wf", vec![]), "b", ttl).await?;
/// assert!(matches!(again, Started::Attached { .. }));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The run id was new: the run is recorded and leased to the caller.
    Created(Lease),
    /// The run exists and is unfinished: leased to the caller, to resume from `run`.
    Attached {
        /// The caller's lease.
        lease: Lease,
        /// Everything journaled so far.
        run: Box<RunSnapshot>,
    },
    /// The run exists and is finished: nothing to lease, its journal is all there is.
    Finished(Box<RunSnapshot>),
}

impl Started {
    /// The caller's lease, unless the run was finished.
    pub fn lease(&self) -> Option<&Lease> {
        match self {
            Started::Created(lease) | Started::Attached { lease, .. } => Some(lease),
            Started::Finished(_) => None,
        }
    }
}
