//! Background WAL checkpoints, so that commits never do one.
//!
//! In WAL mode a commit appends to the log; a checkpoint copies the log back into the
//! database so the log can be reused. SQLite does that inside whichever commit crosses
//! its threshold, which puts the whole copy on that commit's latency. The writer turns
//! that off; this thread checkpoints from its own connection instead, in `PASSIVE` mode
//! (it never blocks the writer or readers), whenever commits happened since its last
//! pass.
//!
//! A passive pass copies the log but cannot restart it while readers or the writer keep
//! using it, so under sustained load the log file only grows. Once it holds more than
//! [`TRUNCATE_AFTER_FRAMES`], the pass is followed by a `TRUNCATE` checkpoint, which waits
//! (briefly, holding new commits back) for the log to be free and cuts the file to zero:
//! the journal's files stay bounded however long the load lasts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use onex_runtime::journal::JournalError;
use rusqlite::Connection;

use crate::fault::Store;

/// The checkpointing thread; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Checkpoints `conn`'s database every `interval` in which `commits` moved.
    pub(crate) fn spawn(
        conn: Connection,
        interval: Duration,
        commits: Arc<AtomicU64>,
        store: &Store,
    ) -> Result<Self, JournalError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let name = store.name.clone();
        conn.busy_timeout(TRUNCATE_WAIT).map_err(|e| store.sql(e))?;
        let thread = std::thread::Builder::new()
            .name("onex-sqlite-checkpoint".into())
            .spawn(move || {
                let mut seen = commits.load(Ordering::Acquire);
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let now = commits.load(Ordering::Acquire);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    // A failed pass only lets the log grow until the next one succeeds.
                    if let Err(error) = checkpoint(&conn) {
                        tracing::warn!(journal = %name, %error, "WAL checkpoint failed");
                    }
                }
            })
            .map_err(|e| JournalError::Storage {
                store: store.name.to_string(),
                detail: format!("cannot start the journal's checkpoint thread: {e}"),
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Log frames (pages of 4 KiB, so ~16 MiB) past which a pass truncates the log.
pub(crate) const TRUNCATE_AFTER_FRAMES: i64 = 4096;

/// How long a truncating pass waits for readers and the writer to let go of the log; the
/// commits that arrive meanwhile wait too, so it is short. A pass that times out leaves
/// the log for the next one.
const TRUNCATE_WAIT: Duration = Duration::from_millis(200);

fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    // Columns: busy (0/1), frames in the log, frames copied into the database.
    let frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))?;
    if frames > TRUNCATE_AFTER_FRAMES {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
