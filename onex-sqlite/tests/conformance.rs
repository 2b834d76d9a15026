//! `SqliteJournal` passes the journal conformance suite, with the default options and with
//! every non-default code path (no group commit, SQLite's own checkpoints, `FULL`).

use std::sync::atomic::{AtomicUsize, Ordering};

use onex_runtime::journal::ManualClock;
use onex_runtime::journal::conformance::JournalFactory;
use onex_sqlite::{SqliteJournal, SqliteOptions, Synchronous};
use tempfile::TempDir;

/// Journals in files of a temporary directory, one file per store.
struct Sqlite {
    dir: TempDir,
    files: AtomicUsize,
    options: fn() -> SqliteOptions,
}

impl Sqlite {
    fn with(options: fn() -> SqliteOptions) -> Self {
        Sqlite {
            dir: tempfile::tempdir().expect("a temporary directory"),
            files: AtomicUsize::new(0),
            options,
        }
    }
}

impl JournalFactory for Sqlite {
    type Journal = SqliteJournal;

    fn create(&self, clock: ManualClock) -> SqliteJournal {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.path().join(format!("journal-{n}.db"));
        SqliteJournal::open_with(path, (self.options)().clock(clock)).expect("a new journal")
    }

    fn reopen(&self, journal: &SqliteJournal, clock: ManualClock) -> SqliteJournal {
        SqliteJournal::open_with(journal.path(), (self.options)().clock(clock))
            .expect("a second handle on the journal")
    }
}

mod defaults {
    use super::*;
    onex_runtime::journal_conformance_tests!(Sqlite::with(SqliteOptions::new));
}

mod one_request_per_commit_full_sync {
    use super::*;

    fn options() -> SqliteOptions {
        SqliteOptions::new()
            .max_batch(1)
            .checkpoint_interval(None)
            .synchronous(Synchronous::Full)
    }

    onex_runtime::journal_conformance_tests!(Sqlite::with(options));
}
