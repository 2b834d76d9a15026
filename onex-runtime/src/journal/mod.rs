//! Durable runs: the [`Journal`] a run's step calls are recorded in, so that a crash loses
//! nothing.
//!
//! A journal stores, per run, the workflow, the serialized input, the graph fingerprint,
//! the status and a lease; per step call an intent (written before the call), an outcome
//! (the serialized output or the error, after), and for completed effects a compensation
//! intent and outcome. It is dumb storage with a few rules: it does not know what a step
//! does, but it refuses writes from a process that no longer owns the run, and changes
//! that contradict what is journaled (an outcome without an intent, a second outcome, a
//! second compensation). Those rules live in [`RunRecord::apply`], [`StepEntry::apply`] and
//! [`LeaseState`], shared by every backend.
//!
//! Backends: [`MemoryJournal`] here (tests, and the reference the others are checked
//! against), `onex_sqlite::SqliteJournal` (the embedded default). Every backend passes
//! the same checks, [`conformance`] (feature `journal-conformance`).
//!
//! # How an executor uses it
//!
//! 1. **Start or attach.** [`Journal::start_run`] with the run id, holder id (unique per
//!    process) and lease length: a new id is recorded and leased
//!    ([`Started::Created`]); an unfinished run is leased to the caller with everything
//!    journaled ([`Started::Attached`]: compare its fingerprint, then resume); a finished
//!    one is returned as is ([`Started::Finished`]). Another live holder gets
//!    [`JournalError::RunLeased`]. `Wf::resume` / `recover` use
//!    [`Journal::acquire_lease`] + [`Journal::load_run`] ([`Journal::list_runs`] with
//!    [`RunFilter::unfinished`] finds the runs).
//! 2. **Heartbeat.** While it works on the run, the holder calls [`Journal::renew_lease`]
//!    every third of the lease or so; a [`JournalError::is_lease_lost`] error means
//!    another process owns the run now: cancel the run's in-flight steps and stop.
//! 3. **Per step call**, each write carrying the lease:
//!    - *await* [`Journal::record_intent`] (attempt 1, or the next attempt of a retry or
//!      of an idempotent in-doubt call) — the call starts only once this returns `Ok`,
//!      i.e. once the intent is durable; an `Err` fails the run without making the call;
//!    - make the call;
//!    - [`Journal::record_outcome`] with the serialized output or the error and the
//!      number of attempts; its consumers start only once it returns `Ok`.
//!
//!    A sequential chain fuses the outcome of step k with the intent of step k + 1 in one
//!    [`Journal::record_outcome_and_intent`]; a wave-parallel executor puts the outcomes
//!    of what finished and the intents of what became ready in one [`Journal::write`].
//!    Either halves the commits. Concurrent runs' writes are group-committed by backends
//!    that can.
//! 4. **Compensation**: [`Journal::set_status`] `Compensating`, then per completed effect
//!    (reverse completion order) [`Journal::record_compensation_intent`], the undo call,
//!    [`Journal::record_compensation_outcome`].
//! 5. **Finish**: [`Journal::set_status`] with the final status, which also releases the
//!    lease. Stopping early (shutdown, in-doubt call) is [`Journal::set_status`]
//!    `InDoubt` if needed, then [`Journal::release_lease`].
//!
//! On resume, an entry with an output feeds its consumers without a call; an entry in
//! doubt ([`StepEntry::is_in_doubt`]) is re-run (a compute step, or an idempotent effect,
//! with the same [`StepKey::idempotency_key`]) or stops the run `InDoubt` until an
//! operator calls [`Journal::resolve`].
//!
//! # Examples
//!
//! ```
//! use onex::journal::{Journal, MemoryJournal, NewRun, RunStatus, StepKey};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), onex::journal::JournalError> {
//! let journal: Arc<dyn Journal> = Arc::new(MemoryJournal::new());
//! let ttl = Duration::from_secs(30);
//! let started = journal.start_run(NewRun::new("r1", "Doubler", b"21".to_vec()), "host-a:1", ttl).await?;
//! let lease = started.lease().unwrap();
//!
//! let (parse, double) = (StepKey::new(0, "parse"), StepKey::new(1, "double"));
//! journal.record_intent(lease, parse.clone(), 1).await?;
//! // ... call `parse` ...
//! journal.record_outcome_and_intent(lease, parse, Ok(b"21".to_vec()), 1, double.clone(), 1).await?;
//! // ... call `double` ...
//! journal.record_outcome(lease, double.clone(), Ok(b"42".to_vec()), 1).await?;
//! journal.set_status(lease, RunStatus::Completed).await?;
//!
//! let run = journal.load_run("r1").await?.unwrap();
//! assert_eq!(run.record.status, RunStatus::Completed);
//! assert_eq!(run.output(&double), Some(&b"42"[..]));
//! # Ok(()) }
//! ```

mod clock;
mod error;
mod filter;
mod lease;
mod memory;
mod run;
mod status;
mod step;
mod write;

#[cfg(feature = "journal-conformance")]
pub mod conformance;

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;

pub use clock::{Clock, ManualClock, SystemClock, from_unix_millis, unix_millis};
pub use error::JournalError;
pub use filter::{Retention, RunFilter};
pub use lease::{Lease, LeaseState};
pub use memory::MemoryJournal;
pub use run::{GraphFingerprint, NewRun, RunRecord, RunSnapshot, Started};
pub use status::{RunStatus, UnknownStatus};
pub use step::{
    CallState, Intent, Outcome, Resolution, StepChange, StepConflict, StepEntry, StepKey,
};
pub use write::Write;

use crate::model::NodeError;

/// The future a [`Journal`] operation returns: boxed, so the trait is usable as
/// `Arc<dyn Journal>`.
pub type JournalFuture<'a, T> = BoxFuture<'a, Result<T, JournalError>>;

/// Where durable runs are recorded. See the [module documentation](self) for the order
/// of calls an executor makes.
///
/// Every operation is atomic: it is durable (as the backend defines it) when its future
/// returns `Ok`, and an `Err` means nothing of it was written. Writes carry the run's
/// [`Lease`] and are refused when it is stale or expired.
///
/// # Examples
///
/// ```
/// use onex::journal::{Journal, JournalError, MemoryJournal, NewRun};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let journal = MemoryJournal::new();
/// let ttl = Duration::from_secs(30);
/// journal.start_run(NewRun::new("r1", "Wf", vec![]), "host-a", ttl).await.unwrap();
/// let err = journal.start_run(NewRun::new("r1", "Wf", vec![]), "host-b", ttl).await.unwrap_err();
/// assert!(matches!(err, JournalError::RunLeased { ref holder, .. } if holder == "host-a"));
/// # }
/// ```
pub trait Journal: Send + Sync + fmt::Debug {
    /// Records a new run leased to `holder` for `ttl`, or attaches to the run with that id:
    /// leases an unfinished one to `holder` and returns it with everything journaled;
    /// returns a finished one as is. Refused if the id belongs to another workflow, or
    /// another holder's lease is live.
    fn start_run<'a>(
        &'a self,
        run: NewRun,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Started>;

    /// Leases an unfinished run to `holder` for `ttl`, with a new fencing token.
    fn acquire_lease<'a>(
        &'a self,
        run_id: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease>;

    /// Extends `lease` to `ttl` from now (the heartbeat); refused if it is stale.
    fn renew_lease<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease>;

    /// Gives the run up, so another holder may take it at once.
    fn release_lease<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()>;

    /// Applies `writes` in order, atomically: all of them or none. See
    /// [`RunRecord::apply`] for the rules.
    fn write<'a>(&'a self, lease: &'a Lease, writes: Vec<Write>) -> JournalFuture<'a, ()>;

    /// Everything journaled about a run, or `None` if the id is unknown.
    fn load_run<'a>(&'a self, run_id: &'a str) -> JournalFuture<'a, Option<RunSnapshot>>;

    /// The heads of the runs `filter` selects, oldest first (then by id).
    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> JournalFuture<'a, Vec<RunRecord>>;

    /// Deletes the finished runs `retention` selects; returns how many.
    fn prune<'a>(&'a self, retention: &'a Retention) -> JournalFuture<'a, usize>;

    /// Journals that attempt `attempt` of `step` is about to start. Await it before the
    /// call.
    fn record_intent<'a>(
        &'a self,
        lease: &'a Lease,
        step: StepKey,
        attempt: u32,
    ) -> JournalFuture<'a, ()> {
        self.write(lease, vec![Write::intent(step, attempt)])
    }

    /// Journals how `step` ended, after `attempts` attempts.
    fn record_outcome<'a>(
        &'a self,
        lease: &'a Lease,
        step: StepKey,
        result: Result<Vec<u8>, NodeError>,
        attempts: u32,
    ) -> JournalFuture<'a, ()> {
        self.write(lease, vec![Write::outcome(step, result, attempts)])
    }

    /// Journals how `step` ended and that attempt `next_attempt` of `next` is about to
    /// start, in one commit.
    fn record_outcome_and_intent<'a>(
        &'a self,
        lease: &'a Lease,
        step: StepKey,
        result: Result<Vec<u8>, NodeError>,
        attempts: u32,
        next: StepKey,
        next_attempt: u32,
    ) -> JournalFuture<'a, ()> {
        self.write(
            lease,
            vec![
                Write::outcome(step, result, attempts),
                Write::intent(next, next_attempt),
            ],
        )
    }

    /// Journals that attempt `attempt` of the compensation of `step` is about to start.
    fn record_compensation_intent<'a>(
        &'a self,
        lease: &'a Lease,
        step: StepKey,
        attempt: u32,
    ) -> JournalFuture<'a, ()> {
        self.write(lease, vec![Write::compensation_intent(step, attempt)])
    }

    /// Journals how the compensation of `step` ended.
    fn record_compensation_outcome<'a>(
        &'a self,
        lease: &'a Lease,
        step: StepKey,
        result: Result<(), NodeError>,
        attempts: u32,
    ) -> JournalFuture<'a, ()> {
        self.write(
            lease,
            vec![Write::compensation_outcome(step, result, attempts)],
        )
    }

    /// Sets the run's status; a finished status also releases the lease.
    fn set_status<'a>(&'a self, lease: &'a Lease, status: RunStatus) -> JournalFuture<'a, ()> {
        self.write(lease, vec![Write::Status(status)])
    }

    /// Settles the in-doubt call of `step` (an operator's decision). The operator's tool
    /// takes the run's lease first, like any writer, so it cannot race a live executor.
    fn resolve<'a>(
        &'a self,
        lease: &'a Lease,
        step: StepKey,
        resolution: Resolution,
    ) -> JournalFuture<'a, ()> {
        self.write(lease, vec![Write::resolve(step, resolution)])
    }
}
