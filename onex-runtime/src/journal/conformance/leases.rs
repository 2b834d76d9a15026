//! One owner per run: exclusivity, expiry, renewal, release and fencing.

use std::time::Duration;

use super::{JournalFactory, Setup, TTL, complete, create, key};
use crate::journal::{Clock, Journal, JournalError, Resolution, RunStatus, Write};
use crate::model::NodeError;

/// Two handles (two processes) racing for the same free run: exactly one gets the lease,
/// the other `RunLeased` naming the winner.
pub async fn lease_is_exclusive_across_handles<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let other = setup.other();
    let journal = setup.journal();
    for round in 0..20 {
        let run_id = format!("r{round}");
        let lease = create(journal, &run_id).await;
        journal.release_lease(&lease).await.unwrap();

        let (a, b) = futures_util::future::join(
            journal.acquire_lease(&run_id, "holder-a", TTL),
            other.acquire_lease(&run_id, "holder-b", TTL),
        )
        .await;
        let (winner, loser) = match (a, b) {
            (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
            (a, b) => panic!("round {round}: exactly one holder must win, got {a:?} and {b:?}"),
        };
        match loser {
            JournalError::RunLeased { holder, until, .. } => {
                assert_eq!(holder, *winner.holder);
                assert_eq!(until, winner.until);
            }
            other => panic!("round {round}: the loser must get RunLeased, got {other}"),
        }
        assert_eq!(winner.token, lease.token + 1);
    }
}

/// A lease is exclusive until its expiry, not a millisecond less; then another holder
/// takes the run over with a newer token, and the old holder is fenced off.
pub async fn lease_expires_and_is_taken_over<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let other = setup.other();
    let old = create(journal, "r1").await;

    setup.clock.advance(TTL - Duration::from_millis(1));
    let err = other
        .acquire_lease("r1", "holder-b", TTL)
        .await
        .unwrap_err();
    assert!(matches!(err, JournalError::RunLeased { .. }), "{err}");

    setup.clock.advance(Duration::from_millis(1));
    let new = other.acquire_lease("r1", "holder-b", TTL).await.unwrap();
    assert!(new.token > old.token);
    assert_eq!(new.until, setup.clock.now() + TTL);

    for refusal in [
        journal.record_intent(&old, key(0), 1).await,
        journal.renew_lease(&old, TTL).await.map(drop),
        journal.release_lease(&old).await,
    ] {
        let err = refusal.expect_err("the old holder was taken over");
        assert!(
            matches!(err, JournalError::Fenced { token, current, .. } if token == old.token && current == new.token),
            "{err}"
        );
        assert!(err.is_lease_lost());
    }
    other.record_intent(&new, key(0), 1).await.unwrap();
}

/// Renewing pushes the expiry to `ttl` from now, so a holder that heartbeats keeps the
/// run past its first expiry.
pub async fn renewal_extends_the_lease<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;

    setup.clock.advance(TTL * 6 / 10);
    let renewed = journal.renew_lease(&lease, TTL).await.unwrap();
    assert_eq!(renewed.token, lease.token, "renewing keeps the token");
    assert_eq!(renewed.until, setup.clock.now() + TTL);

    setup.clock.advance(TTL * 6 / 10);
    let err = setup
        .other()
        .acquire_lease("r1", "holder-b", TTL)
        .await
        .unwrap_err();
    assert!(
        matches!(err, JournalError::RunLeased { until, .. } if until == renewed.until),
        "{err}"
    );
    journal.record_intent(&renewed, key(0), 1).await.unwrap();
    let run = journal.load_run("r1").await.unwrap().unwrap();
    assert_eq!(run.record.lease.until, renewed.until);
}

/// A holder whose lease expired cannot write (`LeaseExpired`), but can renew while nobody
/// took the run over, and then write again.
pub async fn expired_lease_refuses_writes_until_renewed<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    setup.clock.advance(TTL);

    let err = journal.record_intent(&lease, key(0), 1).await.unwrap_err();
    match &err {
        JournalError::LeaseExpired {
            run_id,
            holder,
            expired_at,
        } => {
            assert_eq!((run_id.as_str(), holder.as_str()), ("r1", "holder-a"));
            assert_eq!(*expired_at, lease.until);
        }
        other => panic!("expected LeaseExpired, got {other}"),
    }
    assert!(
        journal
            .load_run("r1")
            .await
            .unwrap()
            .unwrap()
            .steps
            .is_empty()
    );

    let renewed = journal.renew_lease(&lease, TTL).await.unwrap();
    journal.record_intent(&renewed, key(0), 1).await.unwrap();
}

/// Releasing lets another holder in at once, and fences the releaser off.
pub async fn release_lets_another_holder_in<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    journal.release_lease(&lease).await.unwrap();
    let run = journal.load_run("r1").await.unwrap().unwrap();
    assert_eq!(run.record.lease.holder, None);

    let err = journal.record_intent(&lease, key(0), 1).await.unwrap_err();
    assert!(matches!(err, JournalError::Fenced { .. }), "{err}");

    let next = setup
        .other()
        .acquire_lease("r1", "holder-b", TTL)
        .await
        .unwrap();
    assert!(next.token > lease.token);
}

/// Every kind of write made with a stale token is refused with `Fenced`, and changes
/// nothing.
pub async fn stale_token_is_refused_on_every_write<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let old = create(journal, "r1").await;
    // Step 0 completed, step 1 in doubt. The lease is checked before the step rules.
    complete(journal, &old, key(0), b"0".to_vec()).await;
    journal.record_intent(&old, key(1), 1).await.unwrap();
    journal.release_lease(&old).await.unwrap();
    let other = setup.other();
    let new = other.acquire_lease("r1", "holder-b", TTL).await.unwrap();
    let before = journal.load_run("r1").await.unwrap().unwrap();

    let writes = [
        Write::intent(key(2), 1),
        Write::outcome(key(1), Ok(b"1".to_vec()), 1),
        Write::outcome(key(1), Err(NodeError::permanent("x")), 1),
        Write::compensation_intent(key(0), 1),
        Write::compensation_outcome(key(0), Ok(()), 1),
        Write::resolve(key(1), Resolution::Retry),
        Write::Status(RunStatus::Completed),
        Write::Status(RunStatus::InDoubt),
    ];
    for write in writes {
        let err = journal
            .write(&old, vec![write.clone()])
            .await
            .expect_err("a stale token must be refused");
        assert!(
            matches!(err, JournalError::Fenced { token, current, .. } if token == old.token && current == new.token),
            "{write:?}: {err}"
        );
    }
    let fused = journal
        .record_outcome_and_intent(&old, key(1), Ok(vec![]), 1, key(2), 1)
        .await
        .unwrap_err();
    assert!(matches!(fused, JournalError::Fenced { .. }), "{fused}");
    assert_eq!(journal.load_run("r1").await.unwrap().unwrap(), before);
}
