//! Step calls: intents, outcomes, in-doubt calls, batches, payloads, concurrency.

use std::time::Duration;

use super::{JournalFactory, Setup, TTL, complete, create, key};
use crate::journal::{Clock, Journal, JournalError, RunStatus, StepConflict, StepKey, Write};
use crate::model::{ErrorCode, NodeError};

/// Intent then outcome: the step's output, attempts and times are journaled, and it is
/// not in doubt.
pub async fn intent_then_outcome_completes_a_step<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    let intent_at = setup.clock.now();
    journal.record_intent(&lease, key(0), 1).await.unwrap();
    setup.clock.advance(Duration::from_millis(7));
    journal.record_intent(&lease, key(0), 2).await.unwrap();
    setup.clock.advance(Duration::from_millis(5));
    journal
        .record_outcome(&lease, key(0), Ok(b"[1,2,3]".to_vec()), 2)
        .await
        .unwrap();

    let run = journal.load_run("r1").await.unwrap().unwrap();
    let entry = run.step(&key(0)).expect("step 0 is journaled");
    assert_eq!(entry.step, key(0), "the step's name is kept");
    let intent = entry.intent.as_ref().unwrap();
    assert_eq!(intent.attempt, 2, "the latest attempt's intent is kept");
    assert_eq!(intent.at, intent_at + Duration::from_millis(7));
    let outcome = entry.outcome.as_ref().unwrap();
    assert_eq!(outcome.output(), Some(&b"[1,2,3]"[..]));
    assert_eq!(outcome.attempts, 2);
    assert_eq!(outcome.at, setup.clock.now());
    assert!(!entry.is_in_doubt());
    assert_eq!(run.in_doubt().count(), 0);
    assert_eq!(
        run.record.updated_at, intent_at,
        "step writes leave the run's head alone"
    );
}

/// An intent without an outcome is in doubt, for this handle and any other.
pub async fn intent_without_outcome_is_in_doubt<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    complete(journal, &lease, key(0), b"a".to_vec()).await;
    journal.record_intent(&lease, key(1), 1).await.unwrap();
    journal.record_intent(&lease, key(2), 3).await.unwrap();
    journal
        .record_outcome(&lease, key(2), Err(NodeError::transient("later")), 3)
        .await
        .unwrap();
    journal.record_intent(&lease, key(3), 2).await.unwrap();

    for handle in [journal, &setup.other() as &dyn Journal] {
        let run = handle.load_run("r1").await.unwrap().unwrap();
        let in_doubt: Vec<(u32, u32)> = run
            .in_doubt()
            .map(|e| (e.step.index, e.intent.as_ref().unwrap().attempt))
            .collect();
        assert_eq!(in_doubt, [(1, 1), (3, 2)]);
        assert_eq!(
            run.steps.iter().map(|e| e.step.index).collect::<Vec<_>>(),
            [0, 1, 2, 3],
            "entries are ordered by step"
        );
        assert_eq!(run.output(&key(2)), None, "a failed step has no output");
    }
}

/// `record_outcome_and_intent` journals the outcome of one step and the intent of the
/// next together.
pub async fn fused_outcome_and_intent_is_one_write<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    journal.record_intent(&lease, key(0), 1).await.unwrap();
    for i in 0..10 {
        journal
            .record_outcome_and_intent(&lease, key(i), Ok(vec![i as u8]), 1, key(i + 1), 1)
            .await
            .unwrap();
    }
    let run = journal.load_run("r1").await.unwrap().unwrap();
    for i in 0..10 {
        assert_eq!(run.output(&key(i)), Some(&[i as u8][..]));
    }
    assert_eq!(
        run.in_doubt().map(|e| e.step.index).collect::<Vec<_>>(),
        [10]
    );

    // Refused as a whole when the next intent does not fit (step 3 is completed).
    let err = journal
        .record_outcome_and_intent(&lease, key(10), Ok(vec![]), 1, key(3), 2)
        .await
        .unwrap_err();
    assert!(
        matches!(err, JournalError::Step { ref step, conflict: StepConflict::HasOutcome, .. } if step.index == 3),
        "{err}"
    );
    let after = journal.load_run("r1").await.unwrap().unwrap();
    assert!(
        after.step(&key(10)).unwrap().is_in_doubt(),
        "nothing of it was written"
    );
}

/// The step rules: an outcome needs an intent; a completed call takes no new intent or
/// outcome; attempts only grow; errors round-trip with their code and retryability.
pub async fn step_changes_follow_the_rules<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;

    let conflict = |result: Result<(), JournalError>| match result {
        Err(JournalError::Step { conflict, .. }) => conflict,
        other => panic!("expected a step conflict, got {other:?}"),
    };

    assert_eq!(
        conflict(journal.record_outcome(&lease, key(0), Ok(vec![]), 1).await),
        StepConflict::NoIntent
    );
    journal.record_intent(&lease, key(0), 2).await.unwrap();
    assert_eq!(
        conflict(journal.record_intent(&lease, key(0), 2).await),
        StepConflict::AttemptNotNewer {
            journaled: 2,
            given: 2
        }
    );
    assert_eq!(
        conflict(journal.record_intent(&lease, key(0), 1).await),
        StepConflict::AttemptNotNewer {
            journaled: 2,
            given: 1
        }
    );
    let error = NodeError::permanent("card declined").with_code(ErrorCode::InvalidInput);
    journal
        .record_outcome(&lease, key(0), Err(error.clone()), 2)
        .await
        .unwrap();
    assert_eq!(
        conflict(journal.record_intent(&lease, key(0), 3).await),
        StepConflict::HasOutcome
    );
    assert_eq!(
        conflict(journal.record_outcome(&lease, key(0), Ok(vec![]), 3).await),
        StepConflict::HasOutcome
    );

    let run = journal.load_run("r1").await.unwrap().unwrap();
    let outcome = run.step(&key(0)).unwrap().outcome.clone().unwrap();
    assert_eq!(outcome.result, Err(error));
    assert_eq!(outcome.attempts, 2);

    // The message says which run, which step and what was refused.
    let err = journal
        .record_outcome(&lease, StepKey::new(4, "charge").item(2), Ok(vec![]), 1)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "run `r1`, step 4 `charge`[2]: outcome refused: the call has no intent: \
         an outcome is only journaled after its intent"
    );
}

/// A batch is applied all or nothing: a refused write leaves no trace of the writes
/// before it, status changes included.
pub async fn a_batch_is_all_or_nothing<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    let before = journal.load_run("r1").await.unwrap().unwrap();
    setup.clock.advance(Duration::from_millis(3));

    let accepted = vec![
        Write::intent(key(0), 1),
        Write::outcome(key(0), Ok(b"zero".to_vec()), 1),
        Write::Status(RunStatus::Compensating),
        Write::intent(key(1), 1),
    ];
    let mut refused = accepted.clone();
    refused.push(Write::outcome(key(2), Ok(b"two".to_vec()), 1));

    let err = journal.write(&lease, refused).await.unwrap_err();
    assert!(
        matches!(err, JournalError::Step { ref step, conflict: StepConflict::NoIntent, .. } if step.index == 2),
        "{err}"
    );
    assert_eq!(journal.load_run("r1").await.unwrap().unwrap(), before);

    // The same batch without the refused write goes through whole, in order.
    journal.write(&lease, accepted).await.unwrap();
    let run = journal.load_run("r1").await.unwrap().unwrap();
    assert_eq!(run.record.status, RunStatus::Compensating);
    assert_eq!(run.output(&key(0)), Some(&b"zero"[..]));
    assert!(run.step(&key(1)).unwrap().is_in_doubt());

    // A finished status inside a batch ends the run's writes at once.
    let err = journal
        .write(
            &lease,
            vec![
                Write::Status(RunStatus::Completed),
                Write::intent(key(5), 1),
            ],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, JournalError::RunFinished { .. }), "{err}");
    assert_eq!(
        journal.load_run("r1").await.unwrap().unwrap().record.status,
        RunStatus::Compensating
    );
}

/// The elements of a `map` step are separate calls, apart from the step itself.
pub async fn map_items_are_separate_calls<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    let fetch = StepKey::new(1, "fetch");
    let mut writes = vec![];
    for item in 0..5 {
        writes.push(Write::intent(fetch.clone().item(item), 1));
    }
    journal.write(&lease, writes).await.unwrap();
    for item in [3, 0, 4] {
        journal
            .record_outcome(
                &lease,
                fetch.clone().item(item),
                Ok(format!("item {item}").into_bytes()),
                1,
            )
            .await
            .unwrap();
    }
    let run = journal.load_run("r1").await.unwrap().unwrap();
    assert_eq!(run.output(&fetch.clone().item(3)), Some(&b"item 3"[..]));
    assert_eq!(run.step(&fetch), None, "the step itself has no entry");
    assert_eq!(
        run.in_doubt().map(|e| e.step.item).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    assert_eq!(
        run.steps.iter().map(|e| e.step.item).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2), Some(3), Some(4)],
        "items are ordered"
    );
}

/// Large inputs, outputs and error messages come back byte for byte; an empty output is
/// an output, not a missing one.
pub async fn large_payloads_round_trip<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let input: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    let started = journal
        .start_run(
            crate::journal::NewRun::new("big", "Wf", input.clone()),
            "holder-a",
            TTL,
        )
        .await
        .unwrap();
    let lease = started.lease().unwrap().clone();
    let output: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 253) as u8).collect();
    let message = "é".repeat(32 << 10);
    journal
        .write(
            &lease,
            vec![
                Write::intent(key(0), 1),
                Write::outcome(key(0), Ok(output.clone()), 1),
                Write::intent(key(1), 1),
                Write::outcome(key(1), Err(NodeError::permanent(message.clone())), 1),
                Write::intent(key(2), 1),
                Write::outcome(key(2), Ok(vec![]), 1),
            ],
        )
        .await
        .unwrap();
    let run = setup.other().load_run("big").await.unwrap().unwrap();
    assert!(run.input == input, "the 4 MiB input round-trips");
    assert!(
        run.output(&key(0)) == Some(&output[..]),
        "the 1 MiB output round-trips"
    );
    let error = run
        .step(&key(1))
        .unwrap()
        .outcome
        .as_ref()
        .unwrap()
        .result
        .clone();
    assert_eq!(error.unwrap_err().message(), message);
    assert_eq!(run.output(&key(2)), Some(&[][..]));
}

/// Many runs writing at once (what group commit batches) are all journaled, each write
/// answered only once it is.
pub async fn concurrent_runs_are_all_journaled<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    const RUNS: u32 = 40;
    const STEPS: u32 = 10;
    let chains = (0..RUNS).map(|r| async move {
        let lease = create(journal, &format!("r{r}")).await;
        journal.record_intent(&lease, key(0), 1).await.unwrap();
        for s in 0..STEPS - 1 {
            journal
                .record_outcome_and_intent(
                    &lease,
                    key(s),
                    Ok(vec![r as u8, s as u8]),
                    1,
                    key(s + 1),
                    1,
                )
                .await
                .unwrap();
            // Each answered write is visible at once.
            let run = journal.load_run(&lease.run_id).await.unwrap().unwrap();
            assert_eq!(run.output(&key(s)), Some(&[r as u8, s as u8][..]));
        }
        journal
            .record_outcome(&lease, key(STEPS - 1), Ok(vec![r as u8]), 1)
            .await
            .unwrap();
        journal
            .set_status(&lease, RunStatus::Completed)
            .await
            .unwrap();
    });
    futures_util::future::join_all(chains).await;

    let other = setup.other();
    for r in 0..RUNS {
        let run = other.load_run(&format!("r{r}")).await.unwrap().unwrap();
        assert_eq!(run.record.status, RunStatus::Completed);
        assert_eq!(run.steps.len(), STEPS as usize);
        assert!(run.steps.iter().all(|e| e.output().is_some()));
    }
}

/// What one handle commits, another handle (another process) reads as soon as the write
/// returns.
pub async fn a_second_handle_sees_every_commit<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let other = setup.other();
    let lease = create(journal, "r1").await;
    for i in 0..20 {
        journal.record_intent(&lease, key(i), 1).await.unwrap();
        let seen = other.load_run("r1").await.unwrap().unwrap();
        assert!(seen.step(&key(i)).unwrap().is_in_doubt(), "intent {i}");
        journal
            .record_outcome(&lease, key(i), Ok(vec![i as u8]), 1)
            .await
            .unwrap();
        let seen = other.load_run("r1").await.unwrap().unwrap();
        assert_eq!(seen.output(&key(i)), Some(&[i as u8][..]), "outcome {i}");
    }
}

/// Writes refused and writes accepted at the same moment (which a backend may commit
/// together): each refused one is undone alone, each accepted one is kept.
pub async fn a_refused_write_leaves_concurrent_writes_alone<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let good = create(journal, "good").await;
    let bad = create(journal, "bad").await;
    const WRITES: u32 = 200;
    let writes = (0..WRITES).map(|i| {
        let (good, bad) = (&good, &bad);
        async move {
            if i % 2 == 0 {
                // Intent, outcome and a third write that is refused: none of it stays.
                journal
                    .write(
                        bad,
                        vec![
                            Write::intent(key(i), 1),
                            Write::outcome(key(i), Ok(vec![1]), 1),
                            Write::outcome(key(i), Ok(vec![2]), 1),
                        ],
                    )
                    .await
                    .expect_err("a second outcome is refused");
            } else {
                journal.record_intent(good, key(i), 1).await.unwrap();
            }
        }
    });
    futures_util::future::join_all(writes).await;
    let good = journal.load_run("good").await.unwrap().unwrap();
    assert_eq!(
        good.steps.len(),
        WRITES as usize / 2,
        "every accepted write is kept"
    );
    let bad = journal.load_run("bad").await.unwrap().unwrap();
    assert!(bad.steps.is_empty(), "every refused write is undone");
}

/// Each intent names the holder that wrote it, so a run's calls can be drawn per process
/// across a crash and a resume by another one; compensation intents too.
pub async fn intents_name_their_holder<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let first = create(journal, "r1").await;
    complete(journal, &first, key(0), b"a".to_vec()).await;
    journal.record_intent(&first, key(1), 1).await.unwrap();
    journal.release_lease(&first).await.unwrap();

    let other = setup.other();
    let second = other.acquire_lease("r1", "holder-b", TTL).await.unwrap();
    other.record_intent(&second, key(1), 2).await.unwrap();
    other
        .record_outcome(&second, key(1), Ok(b"b".to_vec()), 2)
        .await
        .unwrap();
    other
        .record_compensation_intent(&second, key(0), 1)
        .await
        .unwrap();

    for handle in [journal, &other as &dyn Journal] {
        let run = handle.load_run("r1").await.unwrap().unwrap();
        let holder = |i: u32| {
            run.step(&key(i))
                .and_then(|e| e.intent.as_ref())
                .and_then(|i| i.holder.as_deref())
                .map(str::to_owned)
        };
        assert_eq!(holder(0).as_deref(), Some("holder-a"));
        assert_eq!(
            holder(1).as_deref(),
            Some("holder-b"),
            "the latest attempt's holder is kept"
        );
        let compensation = run.step(&key(0)).unwrap().compensation_intent.as_ref();
        assert_eq!(
            compensation.and_then(|i| i.holder.as_deref()),
            Some("holder-b")
        );
    }
}

/// A forgotten step (changed in a resumed graph) loses its outcome and compensation, keeps
/// its intent, and takes a new attempt and outcome, also through a second handle.
pub async fn a_forgotten_step_runs_again<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let lease = create(journal, "r1").await;
    journal.record_intent(&lease, key(0), 1).await.unwrap();
    journal
        .record_outcome(&lease, key(0), Ok(b"1".to_vec()), 1)
        .await
        .unwrap();
    journal
        .record_compensation_intent(&lease, key(0), 1)
        .await
        .unwrap();
    journal
        .write(&lease, vec![Write::forget(key(0))])
        .await
        .unwrap();

    let other = setup.other();
    let run = other.load_run("r1").await.unwrap().unwrap();
    let entry = run.step(&key(0)).expect("step 0 stays journaled");
    assert!(entry.outcome.is_none(), "its outcome is forgotten");
    assert!(
        entry.compensation_intent.is_none(),
        "so is its compensation"
    );
    assert_eq!(entry.intent.as_ref().map(|i| i.attempt), Some(1));
    journal.record_intent(&lease, key(0), 2).await.unwrap();
    journal
        .record_outcome(&lease, key(0), Ok(b"2".to_vec()), 1)
        .await
        .unwrap();
    let run = other.load_run("r1").await.unwrap().unwrap();
    assert_eq!(run.output(&key(0)), Some(&b"2"[..]));
}
