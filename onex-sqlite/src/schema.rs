//! The journal's tables, and how a file is recognised (or refused) as a journal.
//!
//! A journal file carries `application_id` = "onex" and `user_version` = the schema
//! version. An empty file becomes a journal; a file of a newer schema, a database of
//! another application, or a file that is not SQLite at all is refused with an error
//! saying which.

use onex_runtime::journal::JournalError;
use rusqlite::Connection;

use crate::fault::Store;

/// "onex" in ASCII: marks a SQLite file as an onex journal.
const APPLICATION_ID: i64 = 0x6f6e_6578;

/// The schema this build reads and writes. Files of an older schema are migrated when
/// opened (see [`MIGRATIONS`]).
pub(crate) const VERSION: i64 = 2;

/// A commit writes every page it changed to the log, so the layout keeps a step write to
/// few pages: steps live in one b-tree keyed by (run, step, item) (`WITHOUT ROWID`: no
/// second index to update), rows are updated in place, and the indexes on `runs` are
/// over columns a step write leaves alone (`updated_at` only in a partial index of
/// finished runs). Steps refer to runs by the integer `id`, which keeps their key small;
/// a step without a `map` item has `item` = -1. Blobs come last in a row: SQLite reads
/// columns in order, so reading the status and lease never walks a payload's overflow
/// pages.
const TABLES: &str = "
CREATE TABLE runs (
    id             INTEGER PRIMARY KEY,
    run_id         TEXT NOT NULL UNIQUE,
    workflow       TEXT NOT NULL,
    status         TEXT NOT NULL,
    finished       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    lease_holder   TEXT,
    lease_token    INTEGER NOT NULL,
    lease_until    INTEGER NOT NULL,
    fp_digest      TEXT NOT NULL,
    fp_description TEXT NOT NULL,
    input          BLOB NOT NULL
);
CREATE INDEX runs_by_creation ON runs (created_at, run_id);
CREATE INDEX runs_unfinished ON runs (created_at, run_id) WHERE finished = 0;
CREATE INDEX runs_finished ON runs (updated_at, run_id) WHERE finished = 1;
CREATE TABLE steps (
    run             INTEGER NOT NULL,
    step            INTEGER NOT NULL,
    item            INTEGER NOT NULL,
    name            TEXT NOT NULL,
    intent_attempt  INTEGER,
    intent_at       INTEGER,
    outcome_ok      INTEGER,
    attempts        INTEGER,
    outcome_at      INTEGER,
    comp_attempt    INTEGER,
    comp_at         INTEGER,
    comp_ok         INTEGER,
    comp_attempts   INTEGER,
    comp_outcome_at INTEGER,
    intent_holder   TEXT,
    comp_holder     TEXT,
    comp_error      TEXT,
    error           TEXT,
    output          BLOB,
    PRIMARY KEY (run, step, item)
) WITHOUT ROWID;
";

/// How to bring a file of schema `n` to `n + 1`, at index `n - 1`. Only additive changes,
/// so a migration is a few statements in the transaction that sets the new version. A
/// migrated file keeps its added columns after the blobs (`ALTER TABLE` appends); reads
/// name their columns, so the order is only a matter of speed.
const MIGRATIONS: [&str; 1] = [
    // 1 → 2: who wrote each intent, for a timeline of the run across processes.
    "ALTER TABLE steps ADD COLUMN intent_holder TEXT;
     ALTER TABLE steps ADD COLUMN comp_holder TEXT;",
];

/// What the file holds, read without taking the write lock.
struct Found {
    application_id: i64,
    version: i64,
    objects: i64,
}

fn inspect(conn: &Connection) -> rusqlite::Result<Found> {
    Ok(Found {
        application_id: conn.pragma_query_value(None, "application_id", |r| r.get(0))?,
        version: conn.pragma_query_value(None, "user_version", |r| r.get(0))?,
        objects: conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?,
    })
}

/// Checks the file is a journal this build reads (before changing anything in it), puts
/// it in WAL mode, creates the tables in an empty one and migrates one of an older schema.
pub(crate) fn prepare(conn: &Connection, store: &Store) -> Result<(), JournalError> {
    let found = inspect(conn).map_err(|e| store.sql(e))?;
    let ready = accept(&found, store)? == Some(VERSION);
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| store.sql(e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(JournalError::Storage {
            store: store.name.to_string(),
            detail: format!("cannot put the journal in WAL mode (SQLite kept `{mode}`)"),
        });
    }
    if ready {
        return Ok(());
    }
    // Empty or older: create or migrate the tables, unless another process did since we
    // looked.
    let create = || -> rusqlite::Result<Result<(), JournalError>> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let found = inspect(conn)?;
        match accept(&found, store) {
            Ok(Some(VERSION)) => {}
            Ok(None) => {
                conn.execute_batch(TABLES)?;
                conn.pragma_update(None, "application_id", APPLICATION_ID)?;
                conn.pragma_update(None, "user_version", VERSION)?;
            }
            Ok(Some(old)) => {
                for migration in &MIGRATIONS[usize::try_from(old - 1).unwrap_or(0)..] {
                    conn.execute_batch(migration)?;
                }
                conn.pragma_update(None, "user_version", VERSION)?;
            }
            Err(refused) => {
                conn.execute_batch("ROLLBACK")?;
                return Ok(Err(refused));
            }
        }
        conn.execute_batch("COMMIT")?;
        Ok(Ok(()))
    };
    create().unwrap_or_else(|e| {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        Err(store.sql(e))
    })
}

/// `Ok(Some(version))` for a journal of this schema or an older one, `Ok(None)` for an
/// empty database.
fn accept(found: &Found, store: &Store) -> Result<Option<i64>, JournalError> {
    match found {
        Found {
            application_id: APPLICATION_ID,
            version,
            ..
        } if *version > VERSION => Err(JournalError::SchemaTooNew {
            store: store.name.to_string(),
            found: *version,
            supported: VERSION,
        }),
        Found {
            application_id: APPLICATION_ID,
            version: version @ 1..,
            ..
        } => Ok(Some(*version)),
        Found {
            application_id: 0,
            version: 0,
            objects: 0,
        } => Ok(None),
        Found {
            application_id,
            version,
            objects,
        } => Err(JournalError::NotAJournal {
            store: store.name.to_string(),
            detail: format!(
                "a SQLite database with application_id {application_id:#x}, \
                 user_version {version} and {objects} schema objects \
                 (a journal has application_id {APPLICATION_ID:#x}, \"onex\")"
            ),
        }),
    }
}
