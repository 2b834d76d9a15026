//! A journal file of an older schema is migrated when opened, keeping everything in it.

use std::time::Duration;

use onex_runtime::journal::{Journal, NewRun, RunStatus, StepKey};
use onex_sqlite::SqliteJournal;
use rusqlite::Connection;

const TTL: Duration = Duration::from_secs(30);

/// A schema-1 file, made the way schema 1 differs from 2: no holder columns.
fn downgrade_to_version_1(path: &std::path::Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "ALTER TABLE steps DROP COLUMN intent_holder;
         ALTER TABLE steps DROP COLUMN comp_holder;
         PRAGMA user_version = 1;",
    )
    .unwrap();
}

#[test]
fn a_version_1_journal_is_migrated_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let journal = SqliteJournal::open(&path).unwrap();
        let lease = journal
            .start_run(NewRun::new("old", "Wf", b"in".to_vec()), "host-a", TTL)
            .await
            .unwrap()
            .lease()
            .unwrap()
            .clone();
        journal
            .record_intent(&lease, StepKey::new(0, "a"), 1)
            .await
            .unwrap();
        journal
            .record_outcome(&lease, StepKey::new(0, "a"), Ok(b"1".to_vec()), 1)
            .await
            .unwrap();
        journal.release_lease(&lease).await.unwrap();
    });
    downgrade_to_version_1(&path);

    runtime.block_on(async {
        let journal = SqliteJournal::open(&path).expect("a version-1 journal opens");
        let run = journal.load_run("old").await.unwrap().unwrap();
        let entry = run.step(&StepKey::new(0, "a")).unwrap();
        assert_eq!(entry.output(), Some(&b"1"[..]));
        let intent = entry.intent.as_ref().unwrap();
        assert_eq!(intent.holder, None, "schema 1 recorded no holder");

        let lease = journal.acquire_lease("old", "host-b", TTL).await.unwrap();
        journal
            .record_intent(&lease, StepKey::new(1, "b"), 1)
            .await
            .unwrap();
        journal.set_status(&lease, RunStatus::Failed).await.unwrap();
        let run = journal.load_run("old").await.unwrap().unwrap();
        let intent = run.step(&StepKey::new(1, "b")).unwrap().intent.as_ref();
        assert_eq!(intent.and_then(|i| i.holder.as_deref()), Some("host-b"));
    });

    let version: i64 = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
}
