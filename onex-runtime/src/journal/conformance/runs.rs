//! Starting, attaching to and finishing runs.

use super::{JournalFactory, Setup, TTL, complete, create, key};
use crate::journal::{GraphFingerprint, JournalError, NewRun, RunStatus, Started};

/// A new run id is recorded with its workflow, input, fingerprint and times, and leased
/// to the caller with token 1.
pub async fn start_records_a_new_run<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let now = crate::journal::Clock::now(&setup.clock);
    let fingerprint = GraphFingerprint::new("d1g", "0 a(input)\n1 b(a)\n");
    let started = journal
        .start_run(
            NewRun::new("r1", "Orders", b"{\"sku\":1}".to_vec()).fingerprint(fingerprint.clone()),
            "holder-a",
            TTL,
        )
        .await
        .unwrap();
    let Started::Created(lease) = started else {
        panic!("a new run id must give Started::Created, got {started:?}");
    };
    assert_eq!(
        (&*lease.run_id, &*lease.holder, lease.token),
        ("r1", "holder-a", 1)
    );
    assert_eq!(lease.until, now + TTL);

    let run = journal
        .load_run("r1")
        .await
        .unwrap()
        .expect("the run is journaled");
    assert_eq!(run.record.run_id, "r1");
    assert_eq!(run.record.workflow, "Orders");
    assert_eq!(run.record.status, RunStatus::Running);
    assert_eq!(run.record.created_at, now);
    assert_eq!(run.record.updated_at, now);
    assert_eq!(run.record.lease.held_at(now), Some(("holder-a", now + TTL)));
    assert_eq!(run.record.lease.token, 1);
    assert_eq!(run.input, b"{\"sku\":1}");
    assert_eq!(run.fingerprint, fingerprint);
    assert!(run.steps.is_empty());
}

/// Starting an existing unfinished run id attaches: the caller gets a new lease and
/// everything journaled; the journaled input and fingerprint win over the new ones.
pub async fn start_attaches_to_an_unfinished_run<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let first = create(journal, "r1").await;
    complete(journal, &first, key(0), b"out0".to_vec()).await;
    journal.release_lease(&first).await.unwrap();

    let again = journal
        .start_run(
            NewRun::new("r1", "Wf", b"other input".to_vec()),
            "holder-b",
            TTL,
        )
        .await
        .unwrap();
    let Started::Attached { lease, run } = again else {
        panic!("starting an unfinished run must attach, got {again:?}");
    };
    assert_eq!(&*lease.holder, "holder-b");
    assert!(
        lease.token > first.token,
        "a new acquisition has a newer token"
    );
    assert_eq!(run.input, b"input of r1", "the journaled input wins");
    assert_eq!(run.output(&key(0)), Some(&b"out0"[..]));
    assert_eq!(run.record.lease.token, lease.token);
}

/// Starting a run another holder leases is refused with `RunLeased`, naming the holder
/// and the expiry; nothing changes.
pub async fn start_refuses_while_leased<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let first = create(journal, "r1").await;
    let err = journal
        .start_run(NewRun::new("r1", "Wf", vec![]), "holder-b", TTL)
        .await
        .unwrap_err();
    match &err {
        JournalError::RunLeased {
            run_id,
            holder,
            until,
        } => {
            assert_eq!((run_id.as_str(), holder.as_str()), ("r1", "holder-a"));
            assert_eq!(*until, first.until);
        }
        other => panic!("expected RunLeased, got {other}"),
    }
    assert!(err.to_string().contains("leased by `holder-a`"), "{err}");
    // The first holder still owns the run.
    journal.record_intent(&first, key(0), 1).await.unwrap();
}

/// Starting a finished run id returns its journal and no lease; it cannot be leased.
pub async fn start_returns_a_finished_run<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    complete(journal, &lease, key(0), b"42".to_vec()).await;
    journal
        .set_status(&lease, RunStatus::Completed)
        .await
        .unwrap();

    let again = journal
        .start_run(NewRun::new("r1", "Wf", vec![]), "holder-b", TTL)
        .await
        .unwrap();
    let Started::Finished(run) = &again else {
        panic!("starting a finished run must return it, got {again:?}");
    };
    assert!(again.lease().is_none());
    assert_eq!(run.record.status, RunStatus::Completed);
    assert_eq!(run.output(&key(0)), Some(&b"42"[..]));

    let err = journal
        .acquire_lease("r1", "holder-b", TTL)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            JournalError::RunFinished {
                status: RunStatus::Completed,
                ..
            }
        ),
        "{err}"
    );
}

/// A run id belongs to one workflow: starting it for another is refused.
pub async fn start_refuses_another_workflow<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    journal.release_lease(&lease).await.unwrap();
    let err = journal
        .start_run(NewRun::new("r1", "Billing", vec![]), "holder-b", TTL)
        .await
        .unwrap_err();
    match &err {
        JournalError::WorkflowMismatch {
            run_id,
            journaled,
            requested,
        } => assert_eq!(
            (run_id.as_str(), journaled.as_str(), requested.as_str()),
            ("r1", "Wf", "Billing")
        ),
        other => panic!("expected WorkflowMismatch, got {other}"),
    }
}

/// Unknown run ids: loading gives `None`, leasing and writing give `UnknownRun`.
pub async fn unknown_runs_are_reported<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    assert!(journal.load_run("nope").await.unwrap().is_none());
    let err = journal
        .acquire_lease("nope", "holder-a", TTL)
        .await
        .unwrap_err();
    assert!(
        matches!(err, JournalError::UnknownRun { ref run_id } if run_id == "nope"),
        "{err}"
    );

    // A lease made up for a run that does not exist.
    let mut lease = create(journal, "r1").await;
    lease.run_id = "nope".into();
    let err = journal.record_intent(&lease, key(0), 1).await.unwrap_err();
    assert!(matches!(err, JournalError::UnknownRun { .. }), "{err}");
    let err = journal.renew_lease(&lease, TTL).await.unwrap_err();
    assert!(matches!(err, JournalError::UnknownRun { .. }), "{err}");
}

/// Unfinished statuses can be set in any order and are journaled with the update time.
pub async fn status_changes_are_journaled<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    for status in [
        RunStatus::InDoubt,
        RunStatus::Running,
        RunStatus::Compensating,
    ] {
        setup.clock.advance(std::time::Duration::from_millis(5));
        journal.set_status(&lease, status).await.unwrap();
        let run = journal.load_run("r1").await.unwrap().unwrap();
        assert_eq!(run.record.status, status);
        assert_eq!(
            run.record.updated_at,
            crate::journal::Clock::now(&setup.clock)
        );
    }
}

/// A finished status releases the lease and freezes the run: no writes, renewals or
/// leases after it.
pub async fn finishing_releases_and_freezes_the_run<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    journal.record_intent(&lease, key(0), 1).await.unwrap();
    journal.set_status(&lease, RunStatus::Failed).await.unwrap();

    let run = journal.load_run("r1").await.unwrap().unwrap();
    assert_eq!(run.record.status, RunStatus::Failed);
    assert_eq!(
        run.record.lease.holder, None,
        "finishing releases the lease"
    );

    let refusals = [
        journal.record_outcome(&lease, key(0), Ok(vec![]), 1).await,
        journal.set_status(&lease, RunStatus::Running).await,
        journal.renew_lease(&lease, TTL).await.map(drop),
        journal.acquire_lease("r1", "holder-b", TTL).await.map(drop),
    ];
    for refusal in refusals {
        let err = refusal.expect_err("a finished run takes nothing more");
        assert!(
            matches!(
                err,
                JournalError::RunFinished {
                    status: RunStatus::Failed,
                    ..
                }
            ),
            "{err}"
        );
    }
    assert_eq!(journal.load_run("r1").await.unwrap().unwrap(), run);
}
