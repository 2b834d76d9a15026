//! What can go wrong with a journal, each saying what and where.

use std::time::{Duration, SystemTime};

use super::clock::utc;
use super::status::RunStatus;
use super::step::{StepConflict, StepKey};

/// A journal refused or failed an operation. Nothing of a failed operation is written.
///
/// # Examples
///
/// ```
/// use onex::journal::JournalError;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let err = JournalError::RunLeased {
///     run_id: "order-42".into(),
///     holder: "host-a:4711".into(),
///     until: UNIX_EPOCH + Duration::from_secs(1_704_067_230),
/// };
/// assert_eq!(
///     err.to_string(),
///     "run `order-42` is leased by `host-a:4711` until 2024-01-01T00:00:30.000Z"
/// );
/// assert!(!err.is_transient());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Another holder's lease on the run has not expired.
    #[error("run `{run_id}` is leased by `{holder}` until {}", utc(.until))]
    RunLeased {
        /// The run.
        run_id: String,
        /// Who holds it.
        holder: String,
        /// When that lease expires unless renewed.
        until: SystemTime,
    },
    /// The lease is stale: another holder acquired the run since, or it was released.
    #[error(
        "lease token {token} on run `{run_id}` is stale (current token {current}, {}): \
         this process no longer owns the run and must stop working on it",
        match .holder { Some(h) => format!("held by `{h}`"), None => "released".to_owned() }
    )]
    Fenced {
        /// The run.
        run_id: String,
        /// The stale token presented.
        token: u64,
        /// The run's current token.
        current: u64,
        /// The current holder, if any.
        holder: Option<String>,
    },
    /// The lease expired; renew it (possible while nobody else took the run) before writing.
    #[error("the lease of `{holder}` on run `{run_id}` expired at {}; renew it before writing", utc(.expired_at))]
    LeaseExpired {
        /// The run.
        run_id: String,
        /// Whose lease.
        holder: String,
        /// When it expired.
        expired_at: SystemTime,
    },
    /// The run is finished; it takes no more writes or leases.
    #[error("run `{run_id}` is finished ({status}); it takes no more writes or leases")]
    RunFinished {
        /// The run.
        run_id: String,
        /// How it finished.
        status: RunStatus,
    },
    /// No such run in the journal.
    #[error("no run `{run_id}` in the journal")]
    UnknownRun {
        /// The run id asked for.
        run_id: String,
    },
    /// The run id is taken by a run of another workflow.
    #[error("run id `{run_id}` belongs to a run of workflow `{journaled}`, not `{requested}`")]
    WorkflowMismatch {
        /// The run.
        run_id: String,
        /// The workflow journaled for it.
        journaled: String,
        /// The workflow asked for.
        requested: String,
    },
    /// A step change does not fit what is journaled for the step.
    #[error("run `{run_id}`, {step}: {change} refused: the call {conflict}")]
    Step {
        /// The run.
        run_id: String,
        /// The step call.
        step: StepKey,
        /// What was being written (`intent`, `outcome`, ...).
        change: &'static str,
        /// Why it does not fit.
        conflict: StepConflict,
    },
    /// The store is damaged, or is not a database at all.
    #[error("journal `{store}` is corrupt or not a journal file: {detail}")]
    Corrupt {
        /// Which store (a file path, a bucket).
        store: String,
        /// What the backend reported.
        detail: String,
    },
    /// The store is a database, but of something else than an onex journal.
    #[error("`{store}` is not an onex journal: {detail}")]
    NotAJournal {
        /// Which store.
        store: String,
        /// What was found instead.
        detail: String,
    },
    /// The store was written by a newer version of onex.
    #[error(
        "journal `{store}` has schema version {found}, newer than version {supported} \
         that this onex reads; upgrade onex to open it"
    )]
    SchemaTooNew {
        /// Which store.
        store: String,
        /// The version found.
        found: i64,
        /// The newest version this build reads.
        supported: i64,
    },
    /// No space left: the disk, or the store's size limit, is full.
    #[error("journal `{store}` is full (disk or size limit): {detail}; nothing was written")]
    Full {
        /// Which store.
        store: String,
        /// What the backend reported.
        detail: String,
    },
    /// Another connection kept the store locked for longer than the busy timeout.
    #[error("journal `{store}` is locked by another connection; gave up after waiting {waited:?}")]
    Busy {
        /// Which store.
        store: String,
        /// How long the journal waited.
        waited: Duration,
    },
    /// Any other failure of the store (I/O error, permissions, ...).
    #[error("journal `{store}`: {detail}")]
    Storage {
        /// Which store.
        store: String,
        /// What the backend reported.
        detail: String,
    },
    /// The journal was shut down, or its worker died.
    #[error("journal `{store}` is closed")]
    Closed {
        /// Which store.
        store: String,
    },
}

impl JournalError {
    /// Whether trying again later may succeed without anyone intervening (a busy store).
    pub fn is_transient(&self) -> bool {
        matches!(self, JournalError::Busy { .. })
    }

    /// Whether the error means this process lost (or never had) the run's lease.
    pub fn is_lease_lost(&self) -> bool {
        matches!(
            self,
            JournalError::RunLeased { .. }
                | JournalError::Fenced { .. }
                | JournalError::LeaseExpired { .. }
        )
    }
}
