//! Compensations, and operators resolving in-doubt calls.

use super::{JournalFactory, Setup, complete, create, key};
use crate::journal::{JournalError, Resolution, StepConflict};
use crate::model::{ErrorCode, NodeError};

fn conflict(result: Result<(), JournalError>) -> StepConflict {
    match result {
        Err(JournalError::Step { conflict, .. }) => conflict,
        other => panic!("expected a step conflict, got {other:?}"),
    }
}

/// Only a successful output is compensated, and only once: intent then outcome, with
/// attempts that grow; a compensation intent without an outcome is in doubt.
pub async fn compensation_is_journaled_once<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    // Step 0 completed, step 1 failed, step 2 in doubt.
    complete(journal, &lease, key(0), b"charge-1".to_vec()).await;
    journal.record_intent(&lease, key(1), 1).await.unwrap();
    journal
        .record_outcome(&lease, key(1), Err(NodeError::permanent("no")), 1)
        .await
        .unwrap();
    journal.record_intent(&lease, key(2), 1).await.unwrap();

    for step in [key(1), key(2), key(3)] {
        assert_eq!(
            conflict(journal.record_compensation_intent(&lease, step, 1).await),
            StepConflict::NotCompleted
        );
    }
    assert_eq!(
        conflict(
            journal
                .record_compensation_outcome(&lease, key(0), Ok(()), 1)
                .await
        ),
        StepConflict::NoCompensationIntent
    );

    journal
        .record_compensation_intent(&lease, key(0), 1)
        .await
        .unwrap();
    let run = journal.load_run("r1").await.unwrap().unwrap();
    assert_eq!(
        run.compensations_in_doubt()
            .map(|e| e.step.index)
            .collect::<Vec<_>>(),
        [0]
    );
    assert_eq!(
        conflict(journal.record_compensation_intent(&lease, key(0), 1).await),
        StepConflict::AttemptNotNewer {
            journaled: 1,
            given: 1
        }
    );
    journal
        .record_compensation_intent(&lease, key(0), 2)
        .await
        .unwrap();
    journal
        .record_compensation_outcome(&lease, key(0), Ok(()), 2)
        .await
        .unwrap();
    assert_eq!(
        conflict(journal.record_compensation_intent(&lease, key(0), 3).await),
        StepConflict::Compensated
    );
    assert_eq!(
        conflict(
            journal
                .record_compensation_outcome(&lease, key(0), Ok(()), 3)
                .await
        ),
        StepConflict::Compensated
    );

    let run = journal.load_run("r1").await.unwrap().unwrap();
    let entry = run.step(&key(0)).unwrap();
    assert_eq!(entry.compensation_intent.as_ref().unwrap().attempt, 2);
    let outcome = entry.compensation_outcome.as_ref().unwrap();
    assert_eq!((outcome.result.clone(), outcome.attempts), (Ok(()), 2));
    assert_eq!(entry.output(), Some(&b"charge-1"[..]), "the output stays");
    assert_eq!(run.compensations_in_doubt().count(), 0);

    // A failed compensation is journaled with its error.
    let undo_error = NodeError::transient("refund API down").with_code(ErrorCode::Timeout);
    complete(journal, &lease, key(5), vec![]).await;
    journal
        .record_compensation_intent(&lease, key(5), 1)
        .await
        .unwrap();
    journal
        .record_compensation_outcome(&lease, key(5), Err(undo_error.clone()), 1)
        .await
        .unwrap();
    let run = journal.load_run("r1").await.unwrap().unwrap();
    let outcome = run.step(&key(5)).unwrap().compensation_outcome.clone();
    assert_eq!(outcome.unwrap().result, Err(undo_error));
}

/// An operator settles an in-doubt call: done with an output, retry (the intent is
/// cleared and the call may start again from attempt 1), or abort (a `CANCELLED` error
/// with the reason). A call not in doubt has nothing to resolve.
pub async fn resolve_settles_in_doubt_calls<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    for i in 0..3 {
        journal.record_intent(&lease, key(i), 2).await.unwrap();
    }

    journal
        .resolve(&lease, key(0), Resolution::Done(b"\"ch_9\"".to_vec()))
        .await
        .unwrap();
    journal
        .resolve(&lease, key(1), Resolution::Retry)
        .await
        .unwrap();
    journal
        .resolve(
            &lease,
            key(2),
            Resolution::Abort("the provider has no record".into()),
        )
        .await
        .unwrap();

    let run = journal.load_run("r1").await.unwrap().unwrap();
    let done = run.step(&key(0)).unwrap().outcome.clone().unwrap();
    assert_eq!(done.output(), Some(&b"\"ch_9\""[..]));
    assert_eq!(done.attempts, 2, "the attempts made so far");
    let retry = run.step(&key(1)).unwrap();
    assert!(retry.intent.is_none() && retry.outcome.is_none());
    let aborted = run.step(&key(2)).unwrap().outcome.clone().unwrap();
    let error = aborted.result.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Cancelled);
    assert!(!error.is_transient());
    assert!(
        error.message().contains("the provider has no record"),
        "{error}"
    );
    assert_eq!(run.in_doubt().count(), 0);

    // Retried: the call starts over.
    journal.record_intent(&lease, key(1), 1).await.unwrap();

    for step in [key(0), key(2), key(7)] {
        assert_eq!(
            conflict(journal.resolve(&lease, step, Resolution::Retry).await),
            StepConflict::NotInDoubt
        );
    }
}

/// With the call itself settled, a resolution settles its in-doubt compensation.
pub async fn resolve_settles_in_doubt_compensations<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    for i in 0..3 {
        complete(journal, &lease, key(i), vec![i as u8]).await;
        journal
            .record_compensation_intent(&lease, key(i), 1)
            .await
            .unwrap();
    }
    journal
        .resolve(&lease, key(0), Resolution::Done(vec![]))
        .await
        .unwrap();
    journal
        .resolve(&lease, key(1), Resolution::Retry)
        .await
        .unwrap();
    journal
        .resolve(&lease, key(2), Resolution::Abort("gave up".into()))
        .await
        .unwrap();

    let run = journal.load_run("r1").await.unwrap().unwrap();
    let comp = |i| run.step(&key(i)).unwrap();
    assert_eq!(
        comp(0).compensation_outcome.as_ref().unwrap().result,
        Ok(())
    );
    assert!(comp(1).compensation_intent.is_none() && comp(1).compensation_outcome.is_none());
    let aborted = comp(2).compensation_outcome.clone().unwrap().result;
    assert_eq!(aborted.unwrap_err().code(), ErrorCode::Cancelled);
    assert!(
        run.steps.iter().all(|e| e.output().is_some()),
        "outputs stay"
    );
    assert_eq!(run.compensations_in_doubt().count(), 0);

    journal
        .record_compensation_intent(&lease, key(1), 1)
        .await
        .unwrap();
    assert_eq!(
        conflict(journal.resolve(&lease, key(0), Resolution::Retry).await),
        StepConflict::NotInDoubt
    );
}
