//! [`SqliteJournal`]: the [`Journal`] in one SQLite file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use futures_util::FutureExt;
use onex_runtime::journal::{
    Journal, JournalError, JournalFuture, Lease, NewRun, Retention, RunFilter, RunRecord,
    RunSnapshot, Started, Write,
};
use rusqlite::Connection;

use crate::checkpoint::Checkpointer;
use crate::fault::Store;
use crate::options::SqliteOptions;
use crate::worker::{Mode, Setup, Worker};
use crate::{ops, rows, schema};

/// A [`Journal`] in a SQLite file (WAL mode): the embedded default for durable runs.
///
/// Writes go through one writer thread that commits whatever is queued in one transaction
/// (group commit) and answers each write once its transaction is committed; reads use a
/// second connection; a third checkpoints the write-ahead log in the background. Several
/// processes may open the same file; the run leases keep them off each other's runs.
///
/// Faults of the file are errors, never panics: [`JournalError::Corrupt`] for a damaged
/// or non-SQLite file, [`JournalError::NotAJournal`] for another application's database,
/// [`JournalError::SchemaTooNew`], [`JournalError::Full`] for a full disk or
/// [`SqliteOptions::max_size`], [`JournalError::Busy`] when another connection holds the
/// file locked past [`SqliteOptions::busy_timeout`].
///
/// # Examples
///
/// ```
/// use onex_runtime::journal::{Journal, NewRun, RunStatus, StepKey};
/// use onex_sqlite::SqliteJournal;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), onex_runtime::journal::JournalError> {
/// let dir = tempfile::tempdir().unwrap();
/// let journal = SqliteJournal::open(dir.path().join("runs.db"))?;
/// let started = journal
///     .start_run(NewRun::new("order-42", "Orders", b"{}".to_vec()), "host-a:4711", Duration::from_secs(30))
///     .await?;
/// let lease = started.lease().unwrap();
/// journal.record_intent(lease, StepKey::new(0, "charge"), 1).await?;
/// journal.record_outcome(lease, StepKey::new(0, "charge"), Ok(br#""ch_1""#.to_vec()), 1).await?;
/// journal.set_status(lease, RunStatus::Completed).await?;
/// drop(journal);
///
/// // Another process, later.
/// let journal = SqliteJournal::open(dir.path().join("runs.db"))?;
/// let run = journal.load_run("order-42").await?.unwrap();
/// assert_eq!(run.output(&StepKey::new(0, "charge")), Some(&br#""ch_1""#[..]));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SqliteJournal {
    path: PathBuf,
    // Dropped in this order: queued writes are committed before the threads stop.
    writer: Worker,
    reader: Worker,
    /// Held for its thread, which stops when it is dropped.
    _checkpointer: Option<Checkpointer>,
}

impl SqliteJournal {
    /// Opens (or creates) the journal at `path` with the default [`SqliteOptions`].
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_sqlite::SqliteJournal;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let journal = SqliteJournal::open(dir.path().join("runs.db")).unwrap();
    /// assert!(journal.path().ends_with("runs.db"));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        SqliteJournal::open_with(path, SqliteOptions::default())
    }

    /// Opens (or creates) the journal at `path` with `options`.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_runtime::journal::JournalError;
    /// use onex_sqlite::{SqliteJournal, SqliteOptions};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("notes.txt");
    /// std::fs::write(&path, "not a database, just some notes that are long enough to have a header").unwrap();
    /// let err = SqliteJournal::open_with(&path, SqliteOptions::new()).unwrap_err();
    /// assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
    /// ```
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, JournalError> {
        let path = path.as_ref().to_path_buf();
        let store = Store {
            name: Arc::from(path.display().to_string()),
            busy_timeout: options.busy_timeout,
        };
        let writer = connect(&path, &store)?;
        schema::prepare(&writer, &store)?;
        configure_writer(&writer, &options).map_err(|e| store.sql(e))?;
        let reader = connect(&path, &store)?;
        reader
            .pragma_update(None, "query_only", true)
            .map_err(|e| store.sql(e))?;

        let commits = Arc::new(AtomicU64::new(0));
        let checkpointer = match options.checkpoint_interval {
            Some(interval) => Some(Checkpointer::spawn(
                connect(&path, &store)?,
                interval,
                commits.clone(),
                &store,
            )?),
            None => None,
        };
        let setup = |mode, max_batch| Setup {
            mode,
            max_batch,
            clock: options.clock.clone(),
            store: store.clone(),
            commits: commits.clone(),
        };
        Ok(SqliteJournal {
            writer: Worker::spawn(
                "onex-sqlite-writer",
                writer,
                setup(Mode::Write, options.max_batch),
            )?,
            reader: Worker::spawn("onex-sqlite-reader", reader, setup(Mode::Read, 64))?,
            _checkpointer: checkpointer,
            path,
        })
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn connect(path: &Path, store: &Store) -> Result<Connection, JournalError> {
    let conn = Connection::open(path).map_err(|e| store.sql(e))?;
    conn.busy_timeout(store.busy_timeout)
        .map_err(|e| store.sql(e))?;
    // Every statement is prepared once per connection and reused.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn configure_writer(conn: &Connection, options: &SqliteOptions) -> rusqlite::Result<()> {
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())?;
    if options.checkpoint_interval.is_some() {
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    }
    // After a checkpoint lets the log restart, a log grown by a burst is cut back.
    conn.pragma_update(None, "journal_size_limit", 64_i64 << 20)?;
    if let Some(bytes) = options.max_size {
        let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
        let pages = i64::try_from(bytes).unwrap_or(i64::MAX) / page_size.max(1);
        conn.pragma_update(None, "max_page_count", pages.max(1))?;
    }
    Ok(())
}

impl Journal for SqliteJournal {
    fn start_run<'a>(
        &'a self,
        run: NewRun,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Started> {
        let holder = holder.to_owned();
        self.writer
            .call(move |conn, now| ops::start(conn, now, &run, &holder, ttl))
            .boxed()
    }

    fn acquire_lease<'a>(
        &'a self,
        run_id: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease> {
        let (run_id, holder) = (run_id.to_owned(), holder.to_owned());
        self.writer
            .call(move |conn, now| ops::acquire(conn, now, &run_id, &holder, ttl))
            .boxed()
    }

    fn renew_lease<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
        let lease = lease.clone();
        self.writer
            .call(move |conn, now| ops::renew(conn, now, &lease, ttl))
            .boxed()
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
        let lease = lease.clone();
        self.writer
            .call(move |conn, _| ops::release(conn, &lease))
            .boxed()
    }

    fn write<'a>(&'a self, lease: &'a Lease, writes: Vec<Write>) -> JournalFuture<'a, ()> {
        let lease = lease.clone();
        self.writer
            .call(move |conn, now| ops::write(conn, now, &lease, writes))
            .boxed()
    }

    fn load_run<'a>(&'a self, run_id: &'a str) -> JournalFuture<'a, Option<RunSnapshot>> {
        let run_id = run_id.to_owned();
        self.reader
            .call(move |conn, _| rows::snapshot(conn, &run_id))
            .boxed()
    }

    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> JournalFuture<'a, Vec<RunRecord>> {
        let filter = filter.clone();
        self.reader
            .call(move |conn, _| rows::list(conn, &filter))
            .boxed()
    }

    fn prune<'a>(&'a self, retention: &'a Retention) -> JournalFuture<'a, usize> {
        let retention = retention.clone();
        self.writer
            .call(move |conn, now| ops::prune(conn, now, &retention))
            .boxed()
    }
}
