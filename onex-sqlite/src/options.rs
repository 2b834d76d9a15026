//! How a [`SqliteJournal`](crate::SqliteJournal) is opened.

use std::sync::Arc;
use std::time::Duration;

use onex_runtime::journal::{Clock, SystemClock};

/// How hard a commit is pushed to the disk: SQLite's `synchronous` setting (the journal is
/// always in WAL mode).
///
/// `Normal` (the default) makes a commit durable against a crash of the process — what
/// a deploy, an OOM kill or a panic is — without waiting for the disk; a power loss or
/// kernel crash may lose the last commits. `Full` waits for the disk on every commit
/// (an `fdatasync`), which survives power loss too. See the crate documentation for the
/// costs.
///
/// # Examples
///
/// ```
/// use onex_sqlite::{SqliteOptions, Synchronous};
///
/// let options = SqliteOptions::new().synchronous(Synchronous::Full);
/// assert_eq!(options.synchronous_setting(), Synchronous::Full);
/// assert_eq!(Synchronous::default(), Synchronous::Normal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Synchronous {
    /// `synchronous = NORMAL`: survives a process crash; recommended.
    #[default]
    Normal,
    /// `synchronous = FULL`: survives power loss, at one disk flush per commit.
    Full,
}

impl Synchronous {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Options for [`SqliteJournal::open_with`](crate::SqliteJournal::open_with).
///
/// # Examples
///
/// ```
/// use onex_sqlite::{SqliteJournal, SqliteOptions, Synchronous};
/// use std::time::Duration;
///
/// let dir = tempfile::tempdir().unwrap();
/// let options = SqliteOptions::new()
///     .synchronous(Synchronous::Full)
///     .busy_timeout(Duration::from_secs(1))
///     .max_size(256 << 20);
/// let journal = SqliteJournal::open_with(dir.path().join("runs.db"), options).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub(crate) synchronous: Synchronous,
    pub(crate) busy_timeout: Duration,
    pub(crate) max_batch: usize,
    pub(crate) checkpoint_interval: Option<Duration>,
    pub(crate) max_size: Option<u64>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::default(),
            busy_timeout: Duration::from_secs(5),
            max_batch: 256,
            checkpoint_interval: Some(Duration::from_millis(50)),
            max_size: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl SqliteOptions {
    /// The defaults: `Synchronous::Normal`, a 5 s busy timeout, group commits of up to 256
    /// requests, background checkpoints every 50 ms, no size limit, the system clock.
    pub fn new() -> Self {
        SqliteOptions::default()
    }

    /// How hard commits are pushed to the disk.
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// The `synchronous` setting these options open with.
    pub fn synchronous_setting(&self) -> Synchronous {
        self.synchronous
    }

    /// How long an operation waits for another connection (another process) to release
    /// the database before failing with `JournalError::Busy`.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The most requests committed in one transaction (group commit). Requests are never
    /// held back to fill a batch: a batch is whatever queued while the previous commit ran.
    pub fn max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }

    /// How often a background connection checkpoints the write-ahead log into the
    /// database, keeping that work out of commits; `None` leaves it to SQLite's automatic
    /// checkpoints, inside commits.
    pub fn checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Caps the database file at about `bytes`; writes beyond fail with
    /// `JournalError::Full` (as a full disk does).
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// The clock leases and records are timed by (tests pass a `ManualClock`).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}
