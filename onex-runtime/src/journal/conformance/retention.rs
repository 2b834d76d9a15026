//! Listing runs, and pruning finished ones.

use std::time::Duration;

use super::{JournalFactory, Setup, TTL, create, key};
use crate::journal::{Journal, NewRun, Retention, RunFilter, RunStatus};

/// Starts `run_id` of `workflow` and leaves it `status` (finished statuses release it).
async fn run_with_status(journal: &dyn Journal, run_id: &str, workflow: &str, status: RunStatus) {
    let started = journal
        .start_run(NewRun::new(run_id, workflow, vec![]), "holder-a", TTL)
        .await
        .unwrap();
    let lease = started.lease().unwrap();
    journal.record_intent(lease, key(0), 1).await.unwrap();
    journal.set_status(lease, status).await.unwrap();
}

fn ids(runs: &[crate::journal::RunRecord]) -> Vec<&str> {
    runs.iter().map(|r| r.run_id.as_str()).collect()
}

/// `list_runs` returns run heads oldest first, filtered by unfinished status and
/// workflow, and limited.
pub async fn list_runs_filters_and_orders<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    let runs = [
        ("e", "Orders", RunStatus::Running),
        ("d", "Orders", RunStatus::Completed),
        ("c", "Billing", RunStatus::InDoubt),
        ("b", "Orders", RunStatus::Failed),
        ("a", "Orders", RunStatus::Compensating),
    ];
    for (run_id, workflow, status) in runs {
        setup.clock.advance(Duration::from_secs(1));
        run_with_status(journal, run_id, workflow, status).await;
    }
    let all = journal.list_runs(&RunFilter::all()).await.unwrap();
    assert_eq!(ids(&all), ["e", "d", "c", "b", "a"], "oldest first");
    assert_eq!(all[2].status, RunStatus::InDoubt);
    assert_eq!(all[2].workflow, "Billing");

    let unfinished = journal.list_runs(&RunFilter::unfinished()).await.unwrap();
    assert_eq!(ids(&unfinished), ["e", "c", "a"]);
    let orders = journal
        .list_runs(&RunFilter::unfinished().workflow("Orders"))
        .await
        .unwrap();
    assert_eq!(ids(&orders), ["e", "a"]);
    let first_two = journal.list_runs(&RunFilter::all().limit(2)).await.unwrap();
    assert_eq!(ids(&first_two), ["e", "d"]);
    assert!(
        journal
            .list_runs(&RunFilter::all().workflow("None"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// `max_age` prunes finished runs last written longer ago than it, with their steps;
/// unfinished runs stay however old.
pub async fn prune_by_age<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    run_with_status(journal, "old-done", "Wf", RunStatus::Completed).await;
    run_with_status(journal, "old-failed", "Wf", RunStatus::Failed).await;
    let old_running = create(journal, "old-running").await;
    journal.release_lease(&old_running).await.unwrap();
    run_with_status(journal, "old-in-doubt", "Wf", RunStatus::InDoubt).await;
    setup.clock.advance(Duration::from_secs(3600));
    run_with_status(journal, "new-done", "Wf", RunStatus::Cancelled).await;
    setup.clock.advance(Duration::from_secs(60));

    let none = journal
        .prune(&Retention::default().max_age(Duration::from_secs(3661)))
        .await
        .unwrap();
    assert_eq!(none, 0);
    let pruned = journal
        .prune(&Retention::default().max_age(Duration::from_secs(1800)))
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    let left = journal.list_runs(&RunFilter::all()).await.unwrap();
    assert_eq!(ids(&left), ["old-in-doubt", "old-running", "new-done"]);
    assert!(journal.load_run("old-done").await.unwrap().is_none());

    // A pruned id is free again, with no steps left over.
    let lease = create(journal, "old-done").await;
    journal.record_intent(&lease, key(0), 1).await.unwrap();
    assert_eq!(
        journal
            .load_run("old-done")
            .await
            .unwrap()
            .unwrap()
            .steps
            .len(),
        1
    );
    assert_eq!(journal.prune(&Retention::default()).await.unwrap(), 0);
}

/// `keep_last` keeps the most recently written finished runs and prunes the others;
/// unfinished runs are not counted and stay.
pub async fn prune_by_count<F: JournalFactory>(factory: &F) {
    let setup = Setup::new(factory);
    let journal = setup.journal();
    for i in 0..6 {
        setup.clock.advance(Duration::from_secs(1));
        run_with_status(journal, &format!("done-{i}"), "Wf", RunStatus::Completed).await;
        let lease = create(journal, &format!("running-{i}")).await;
        journal.release_lease(&lease).await.unwrap();
    }
    let pruned = journal
        .prune(&Retention::default().keep_last(2))
        .await
        .unwrap();
    assert_eq!(pruned, 4);
    let finished: Vec<String> = journal
        .list_runs(&RunFilter::all())
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status.is_finished())
        .map(|r| r.run_id)
        .collect();
    assert_eq!(finished, ["done-4", "done-5"]);
    assert_eq!(
        journal
            .list_runs(&RunFilter::unfinished())
            .await
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        journal
            .prune(&Retention::default().keep_last(0))
            .await
            .unwrap(),
        2
    );
}
