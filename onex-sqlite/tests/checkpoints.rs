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

#[test]
fn the_log_is_checkpointed_in_the_background_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let options = SqliteOptions::new().checkpoint_interval(Some(Duration::from_millis(5)));
    let journal = SqliteJournal::open_with(&path, options).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
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
        let first = checkpoint_sequence(&path);
        // Keep writing until the log restarts; the writer never checkpoints, so only the
        // background connection can make that happen.
        let deadline = Instant::now() + Duration::from_secs(20);
        for i in 0.. {
            journal
                .record_intent(lease, StepKey::new(i, "s"), 1)
                .await
                .unwrap();
            if checkpoint_sequence(&path) != first {
                return;
            }
            assert!(Instant::now() < deadline, "the log never restarted");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
}

#[test]
fn without_background_checkpoints_the_writer_checkpoints_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let journal =
        SqliteJournal::open_with(&path, SqliteOptions::new().checkpoint_interval(None)).unwrap();
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
        let first = checkpoint_sequence(&path);
        // SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages.
        for i in 0..2_000 {
            journal
                .record_intent(lease, StepKey::new(i, "s"), 1)
                .await
                .unwrap();
        }
        assert_ne!(checkpoint_sequence(&path), first);
    });
}
