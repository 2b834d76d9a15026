//! Faults of the journal file itself are clear errors, never panics or hangs: a file that
//! is not SQLite, a damaged journal, another application's database, a newer schema, a
//! file locked by another connection, a size limit reached, a full disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use onex_runtime::journal::{Journal, JournalError, NewRun, Retention, RunStatus, StepKey};
use onex_sqlite::{SqliteJournal, SqliteOptions};
use rusqlite::Connection;

const TTL: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
}

/// A journal at `path` holding one finished run `done` with two steps.
fn journal_with_a_run(path: &Path) {
    runtime().block_on(async {
        let journal = SqliteJournal::open(path).unwrap();
        let started = journal
            .start_run(NewRun::new("done", "Wf", b"input".to_vec()), "me", TTL)
            .await
            .unwrap();
        let lease = started.lease().unwrap();
        for i in 0..2 {
            let step = StepKey::new(i, format!("s{i}"));
            journal.record_intent(lease, step.clone(), 1).await.unwrap();
            journal
                .record_outcome(lease, step, Ok(vec![i as u8; 100]), 1)
                .await
                .unwrap();
        }
        journal
            .set_status(lease, RunStatus::Completed)
            .await
            .unwrap();
    });
}

fn in_temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}

#[test]
fn a_file_that_is_not_sqlite_is_corrupt_and_left_untouched() {
    let (_dir, path) = in_temp_dir("orders.csv");
    let text = "id,sku,amount\n".repeat(200);
    std::fs::write(&path, &text).unwrap();

    let err = SqliteJournal::open(&path).unwrap_err();
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&*path.to_string_lossy()),
        "names the file: {message}"
    );
    assert!(
        message.contains("not a database"),
        "says what is wrong: {message}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn a_damaged_journal_is_corrupt() {
    let (_dir, path) = in_temp_dir("runs.db");
    journal_with_a_run(&path);
    // Every page but the first (the schema) overwritten: the runs and steps are gone.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4096, "the journal has more than one page");
    bytes[4096..].fill(0xA5);
    std::fs::write(&path, &bytes).unwrap();

    let err = match SqliteJournal::open(&path) {
        Err(err) => err,
        Ok(journal) => runtime()
            .block_on(journal.load_run("done"))
            .expect_err("a damaged run cannot be read"),
    };
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("runs.db"), "{err}");
}

#[test]
fn another_applications_database_is_not_a_journal_and_left_untouched() {
    let (_dir, path) = in_temp_dir("app.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
            .unwrap();
    }
    let err = SqliteJournal::open(&path).unwrap_err();
    match &err {
        JournalError::NotAJournal { detail, .. } => {
            assert!(detail.contains("application_id 0x0"), "{detail}")
        }
        other => panic!("expected NotAJournal, got {other}"),
    }
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "the other database was not switched to WAL");
}

#[test]
fn a_journal_of_a_newer_schema_is_refused() {
    let (_dir, path) = in_temp_dir("runs.db");
    journal_with_a_run(&path);
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 3)
        .unwrap();

    let err = SqliteJournal::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            JournalError::SchemaTooNew {
                found: 3,
                supported: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade onex"), "{err}");
}

#[test]
fn a_journal_reopened_keeps_everything() {
    let (_dir, path) = in_temp_dir("runs.db");
    journal_with_a_run(&path);
    let journal = SqliteJournal::open(&path).unwrap();
    let run = runtime()
        .block_on(journal.load_run("done"))
        .unwrap()
        .unwrap();
    assert_eq!(run.record.status, RunStatus::Completed);
    assert_eq!(run.input, b"input");
    assert_eq!(run.steps.len(), 2);
}

#[test]
fn a_journal_locked_by_another_connection_is_busy_not_a_hang() {
    let (_dir, path) = in_temp_dir("runs.db");
    journal_with_a_run(&path);
    let options = SqliteOptions::new().busy_timeout(Duration::from_millis(100));
    let journal = SqliteJournal::open_with(&path, options.clone()).unwrap();
    let rt = runtime();

    // Another process holds a write transaction.
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let err = rt
        .block_on(journal.start_run(NewRun::new("new", "Wf", vec![]), "me", TTL))
        .unwrap_err();
    match &err {
        JournalError::Busy { waited, .. } => assert_eq!(*waited, Duration::from_millis(100)),
        other => panic!("expected Busy, got {other}"),
    }
    assert!(err.is_transient());
    assert!(
        err.to_string().contains("locked by another connection"),
        "{err}"
    );
    // Reads do not wait for the writer in WAL mode.
    assert!(rt.block_on(journal.load_run("done")).unwrap().is_some());

    // Once the other connection lets go, the journal works again; nothing of the refused
    // start was written.
    other.execute_batch("COMMIT").unwrap();
    assert!(rt.block_on(journal.load_run("new")).unwrap().is_none());
    rt.block_on(journal.start_run(NewRun::new("new", "Wf", vec![]), "me", TTL))
        .unwrap();
}

#[test]
fn creating_a_journal_in_a_locked_file_is_busy_not_a_hang() {
    let (_dir, path) = in_temp_dir("runs.db");
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let options = SqliteOptions::new().busy_timeout(Duration::from_millis(100));
    let err = SqliteJournal::open_with(&path, options.clone()).unwrap_err();
    assert!(matches!(err, JournalError::Busy { .. }), "{err}");

    other.execute_batch("COMMIT").unwrap();
    SqliteJournal::open_with(&path, options).unwrap();
}

/// Writes runs with 16 KiB outputs until the journal refuses one; returns the error and
/// how many runs made it.
async fn fill(journal: &SqliteJournal) -> (JournalError, usize) {
    for n in 0..10_000 {
        let written = async {
            let started = journal
                .start_run(NewRun::new(format!("r{n}"), "Wf", vec![]), "me", TTL)
                .await?;
            let lease = started.lease().unwrap();
            let step = StepKey::new(0, "big");
            journal.record_intent(lease, step.clone(), 1).await?;
            journal
                .record_outcome(lease, step, Ok(vec![n as u8; 16 << 10]), 1)
                .await?;
            journal.set_status(lease, RunStatus::Completed).await
        };
        if let Err(err) = written.await {
            return (err, n);
        }
    }
    panic!("10,000 runs of 16 KiB fit: the limit did not apply");
}

#[test]
fn a_journal_at_its_size_limit_is_full_and_recovers_when_pruned() {
    let (_dir, path) = in_temp_dir("runs.db");
    let journal =
        SqliteJournal::open_with(&path, SqliteOptions::new().max_size(256 << 10)).unwrap();
    let rt = runtime();
    let (err, written) = rt.block_on(fill(&journal));
    assert!(matches!(err, JournalError::Full { .. }), "{err}");
    assert!(err.to_string().contains("is full"), "{err}");
    assert!(written > 2, "some runs fit before the limit: {written}");

    // What was committed before is intact, and reads still work.
    let first = rt.block_on(journal.load_run("r0")).unwrap().unwrap();
    assert_eq!(
        first.output(&StepKey::new(0, "big")),
        Some(&[0u8; 16 << 10][..])
    );

    // Pruning frees pages for reuse: the journal takes runs again.
    let pruned = rt
        .block_on(journal.prune(&Retention::default().keep_last(0)))
        .unwrap();
    assert!(pruned >= written - 1, "pruned {pruned} of {written}");
    rt.block_on(journal.start_run(NewRun::new("after", "Wf", vec![]), "me", TTL))
        .unwrap();
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct TinyFilesystem {
    dir: tempfile::TempDir,
}

impl TinyFilesystem {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(TinyFilesystem { dir })
    }
}

impl Drop for TinyFilesystem {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_journal_on_a_full_disk_is_full() {
    let Some(fs) = TinyFilesystem::mount("512k") else {
        eprintln!(
            "skipped: mounting a small tmpfs needs root; \
             `a_journal_at_its_size_limit_is_full_and_recovers_when_pruned` covers SQLITE_FULL"
        );
        return;
    };
    let path = fs.dir.path().join("runs.db");
    {
        let journal = SqliteJournal::open(&path).unwrap();
        let rt = runtime();
        let (err, written) = rt.block_on(fill(&journal));
        assert!(matches!(err, JournalError::Full { .. }), "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        assert!(
            written > 2,
            "some runs fit before the disk filled: {written}"
        );
        let first = rt.block_on(journal.load_run("r0")).unwrap().unwrap();
        assert_eq!(first.record.status, RunStatus::Completed);
    }
    drop(fs);
}
