//! Waiters: the calls waiting for results, and the one watch of the results bucket that
//! hands each new result to the calls waiting for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation, Watch};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The calls waiting for results, by thunk id. More than one call may wait for one thunk
/// (a thunk published twice).
#[derive(Default)]
pub(crate) struct Waiters {
    by_thunk: Mutex<HashMap<Uuid, Vec<oneshot::Sender<Bytes>>>>,
}

impl Waiters {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Vec<oneshot::Sender<Bytes>>>> {
        // A panic while holding the lock leaves the map consistent (pushes and removes).
        self.by_thunk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a wait for `thunk_id`'s result; dropping the [`Waiting`] forgets it.
    pub(crate) fn wait(self: &Arc<Self>, thunk_id: Uuid) -> Waiting {
        let (tx, rx) = oneshot::channel();
        self.lock().entry(thunk_id).or_default().push(tx);
        Waiting {
            waiters: Arc::clone(self),
            thunk_id,
            rx,
        }
    }

    /// Hands a stored result to the calls waiting for it.
    fn deliver(&self, thunk_id: Uuid, value: &Bytes) {
        let Some(waiting) = self.lock().remove(&thunk_id) else {
            return;
        };
        for tx in waiting {
            let _ = tx.send(value.clone());
        }
    }

    fn pending(&self) -> Vec<Uuid> {
        self.lock().keys().copied().collect()
    }
}

/// One registered wait.
pub(crate) struct Waiting {
    waiters: Arc<Waiters>,
    thunk_id: Uuid,
    pub(crate) rx: oneshot::Receiver<Bytes>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.rx.close();
        let mut map = self.waiters.lock();
        if let Some(waiting) = map.get_mut(&self.thunk_id) {
            waiting.retain(|tx| !tx.is_closed());
            if waiting.is_empty() {
                map.remove(&self.thunk_id);
            }
        }
    }
}

/// Follows the results bucket from `watch` (made before any thunk was published, since a
/// watch sees only later writes) and hands results to their waiters. When the watch ends
/// it is made again from the last revision seen, and the results of every waiting call
/// are looked up once, so that none written in between is missed.
pub(crate) async fn follow(kv: kv::Store, mut watch: Watch, waiters: Arc<Waiters>) {
    let mut last_revision = None;
    loop {
        while let Some(entry) = watch.next().await {
            match entry {
                Ok(entry) => {
                    last_revision = Some(entry.revision);
                    if entry.operation != Operation::Put {
                        continue;
                    }
                    if let Ok(thunk_id) = entry.key.parse() {
                        waiters.deliver(thunk_id, &entry.value);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "watching results"),
            }
        }
        watch = loop {
            let made = match last_revision {
                Some(revision) => kv.watch_all_from_revision(revision + 1).await,
                None => kv.watch_all().await,
            };
            match made {
                Ok(watch) => break watch,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch results; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        for thunk_id in waiters.pending() {
            if let Ok(Some(value)) = kv.get(thunk_id.to_string()).await {
                waiters.deliver(thunk_id, &value);
            }
        }
    }
}
