//! The lease a durable run is executed under, and the task that keeps it alive.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::journal::{Journal, JournalError, Lease};

/// A run's lease, renewed by its [`Heartbeat`] and read by every write.
pub(crate) struct LeaseCell {
    lease: Mutex<Lease>,
    /// Set once the journal said another holder owns the run now.
    lost: Mutex<Option<JournalError>>,
}

impl LeaseCell {
    pub(crate) fn new(lease: Lease) -> Arc<Self> {
        Arc::new(LeaseCell {
            lease: Mutex::new(lease),
            lost: Mutex::new(None),
        })
    }

    /// The current lease (its token never changes; its expiry does).
    pub(crate) fn get(&self) -> Lease {
        lock(&self.lease).clone()
    }

    /// Why the run's lease is lost, if it is.
    pub(crate) fn lost(&self) -> Option<JournalError> {
        lock(&self.lost).clone()
    }

    /// Notes that the lease is lost, if `error` says so.
    pub(crate) fn note(&self, error: &JournalError) {
        if error.is_lease_lost() {
            lock(&self.lost).get_or_insert_with(|| error.clone());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Renews a run's lease every third of its length until dropped; when the journal says the
/// run belongs to someone else now, notes it on the lease (the run's next write fails with
/// it) and calls `on_lost`.
pub(crate) struct Heartbeat(JoinHandle<()>);

impl Heartbeat {
    pub(crate) fn start(
        journal: Arc<dyn Journal>,
        cell: Arc<LeaseCell>,
        ttl: Duration,
        on_lost: impl FnOnce() + Send + 'static,
    ) -> Self {
        let period = (ttl / 3).max(Duration::from_millis(1));
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let lease = cell.get();
                match journal.renew_lease(&lease, ttl).await {
                    Ok(renewed) => *lock(&cell.lease) = renewed,
                    Err(error) if error.is_lease_lost() => {
                        tracing::error!(run_id = %lease.run_id, error = %error, "lease lost: the run stops");
                        cell.note(&error);
                        on_lost();
                        return;
                    }
                    // A busy or failing store: the next beat tries again, and the run's own
                    // writes fail safe meanwhile.
                    Err(error) => {
                        tracing::warn!(run_id = %lease.run_id, error = %error, "lease renewal failed");
                    }
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
