//! The write-ahead log is checkpointed by the journal's background connection: commits
//! never checkpoint (the writer's automatic checkpoints are off), yet the log restarts.

use std::path::Path;
use std::time::{Duration, Instant};

use onex_runtime::journal::{Journal, NewRun, StepKey};
use onex_sqlite::{SqliteJournal, SqliteOptions};

/// The WAL header's checkpoint sequence number: it grows each time the log restarts after
/// a complete checkpoint.
fn checkpoint_sequence(db: &Path) -> u32 {
    let wal = std::fs::read(db.with_extension("db-wal")).expect("the journal has a WAL");
    u32::from_be_bytes(wal[12..16].try_into().expect("a WAL header"))
}

/// Journals intents into one run, calling `after_each` after each; stops when it says so.
fn write_until(options: SqliteOptions, mut after_each: impl FnMut(&Path, u32) -> bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let journal = SqliteJournal::open_with(&path, options).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let started = journal
            .start_run(
                NewRun::new("r", "Wf", vec![]),
                "me",
                Duration::from_secs(3600),
            )
            .await
            .unwrap();
        let lease = started.lease().unwrap();
        for i in 0.. {
            journal
                .record_intent(lease, StepKey::new(i, "s"), 1)
                .await
                .unwrap();
            if after_each(&path, i) {
                return;
            }
        }
    });
}

#[test]
fn the_log_is_checkpointed_in_the_background_and_restarts() {
    let options = SqliteOptions::new().checkpoint_interval(Some(Duration::from_millis(5)));
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    // The writer never checkpoints, so only the background connection can restart the log.
    write_until(options, |path, _| {
        let now = checkpoint_sequence(path);
        let restarted = *first.get_or_insert(now) != now;
        assert!(
            restarted || Instant::now() < deadline,
            "the log never restarted"
        );
        std::thread::sleep(Duration::from_millis(2));
        restarted
    });
}

#[test]
fn without_background_checkpoints_the_writer_checkpoints_itself() {
    let options = SqliteOptions::new().checkpoint_interval(None);
    let mut first = None;
    // SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages.
    write_until(options, |path, i| {
        let now = checkpoint_sequence(path);
        let restarted = *first.get_or_insert(now) != now;
        assert!(restarted || i < 2_000, "the log never restarted");
        restarted
    });
}

fn wal_bytes(db: &Path) -> u64 {
    std::fs::metadata(db.with_extension("db-wal")).map_or(0, |m| m.len())
}

#[test]
fn a_log_grown_while_a_reader_held_it_is_cut_back_once_free() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let options = SqliteOptions::new().checkpoint_interval(Some(Duration::from_millis(5)));
    let journal = SqliteJournal::open_with(&path, options).unwrap();
    // Another process reading the journal (an operator's `runs show`, say) holds a
    // snapshot: no checkpoint can restart the log meanwhile, so it grows.
    let reader = rusqlite::Connection::open(&path).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    reader
        .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ttl = Duration::from_secs(3600);
    rt.block_on(async {
        for i in 0..24 {
            let run = NewRun::new(format!("r{i}"), "Wf", vec![7; 1 << 20]);
            journal.start_run(run, "me", ttl).await.unwrap();
        }
    });
    let grown = wal_bytes(&path);
    assert!(grown > 20 << 20, "the log holds the inputs: {grown} bytes");

    reader.execute_batch("COMMIT").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    rt.block_on(async {
        for i in 0.. {
            // A commit now and then, as a live journal has: the checkpointer only runs
            // after commits.
            let run = NewRun::new(format!("small{i}"), "Wf", vec![]);
            journal.start_run(run, "me", ttl).await.unwrap();
            let now = wal_bytes(&path);
            if now < 1 << 20 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the log stayed at {now} bytes (grown to {grown})"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}
