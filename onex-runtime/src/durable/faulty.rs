//! [`FaultyJournal`]: a journal that fails, or stops the process, at a chosen write — how
//! tests crash a durable run at a boundary deterministically.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::journal::{
    Journal, JournalError, JournalFuture, Lease, NewRun, Retention, RunFilter, RunRecord,
    RunSnapshot, Started, Write,
};

/// When a [`FaultyJournal`]'s hook is asked about a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStage {
    /// Before the write reaches the journal: an error fails it with nothing written.
    Before,
    /// After it committed: an error is returned all the same, as when the process dies
    /// before it hears the answer.
    After,
}

/// The hook: the write's number (from 1) and the stage; an error fails the write.
type Hook = dyn Fn(usize, WriteStage) -> Option<JournalError> + Send + Sync;

/// A journal that passes every operation to `inner`, asking `hook` before and after each
/// [`write`](Journal::write) (the one operation a run's boundaries make): the hook may fail
/// the write, or abort the process there (`std::process::abort`), to crash a durable run at
/// a boundary of one's choosing.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use onex::durable::{FaultyJournal, WriteStage};
/// use onex::journal::{Journal, JournalError, MemoryJournal, NewRun, StepKey};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let journal = FaultyJournal::new(Arc::new(MemoryJournal::new()), |n, stage| {
///     (n == 2 && stage == WriteStage::Before)
///         .then(|| JournalError::Closed { store: "test".into() })
/// });
/// let started = journal.start_run(NewRun::new("r", "Wf", vec![]), "a", Duration::from_secs(9)).await.unwrap();
/// let lease = started.lease().unwrap();
/// journal.record_intent(lease, StepKey::new(0, "a"), 1).await.unwrap();
/// assert!(journal.record_intent(lease, StepKey::new(1, "b"), 1).await.is_err());
/// assert_eq!(journal.writes(), 2);
/// # }
/// ```
pub struct FaultyJournal {
    inner: Arc<dyn Journal>,
    writes: AtomicUsize,
    hook: Box<Hook>,
}

impl FaultyJournal {
    /// `inner`, with `hook` asked about each write.
    pub fn new(
        inner: Arc<dyn Journal>,
        hook: impl Fn(usize, WriteStage) -> Option<JournalError> + Send + Sync + 'static,
    ) -> Self {
        FaultyJournal {
            inner,
            writes: AtomicUsize::new(0),
            hook: Box::new(hook),
        }
    }

    /// How many writes were made (or tried).
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for FaultyJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyJournal")
            .field("inner", &self.inner)
            .field("writes", &self.writes())
            .finish_non_exhaustive()
    }
}

impl Journal for FaultyJournal {
    fn start_run<'a>(
        &'a self,
        run: NewRun,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Started> {
        self.inner.start_run(run, holder, ttl)
    }

    fn acquire_lease<'a>(
        &'a self,
        run_id: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease> {
        self.inner.acquire_lease(run_id, holder, ttl)
    }

    fn renew_lease<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
        self.inner.renew_lease(lease, ttl)
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
        self.inner.release_lease(lease)
    }

    fn write<'a>(&'a self, lease: &'a Lease, writes: Vec<Write>) -> JournalFuture<'a, ()> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(error) = (self.hook)(n, WriteStage::Before) {
            return Box::pin(async move { Err(error) });
        }
        Box::pin(async move {
            self.inner.write(lease, writes).await?;
            match (self.hook)(n, WriteStage::After) {
                Some(error) => Err(error),
                None => Ok(()),
            }
        })
    }

    fn load_run<'a>(&'a self, run_id: &'a str) -> JournalFuture<'a, Option<RunSnapshot>> {
        self.inner.load_run(run_id)
    }

    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> JournalFuture<'a, Vec<RunRecord>> {
        self.inner.list_runs(filter)
    }

    fn prune<'a>(&'a self, retention: &'a Retention) -> JournalFuture<'a, usize> {
        self.inner.prune(retention)
    }
}
