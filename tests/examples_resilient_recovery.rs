//! The `resilient_recovery` example: timeouts recovered by retries with backoff, and a
//! failing side branch ending in `PartialSuccess` with its dependents skipped.

#[allow(dead_code)]
#[path = "../examples/resilient_recovery.rs"]
mod resilient_recovery;

use std::time::Duration;

use onex::{ErrorCode, SkipReason, StepState, WorkflowState};
use resilient_recovery::{
    optional_dependency_down, optional_dependency_down_fail_fast, slow_upstream,
};

#[tokio::test]
async fn timeouts_are_retried_with_backoff_until_the_upstream_answers() {
    let s = slow_upstream().await;
    let run = s.result.as_ref().unwrap();
    assert_eq!(run.report.state, WorkflowState::Completed);
    assert_eq!(s.inventory_calls, 3);
    let inventory = run.report.step("inventory").unwrap();
    assert_eq!(inventory.state, StepState::Completed);
    assert_eq!(inventory.attempts, 3);
    assert_eq!(run.report.thunks_of("inventory")[0].retry_count, 3);
    let failed = &inventory.failed_attempts;
    assert_eq!(failed.len(), 2);
    for (k, attempt) in failed.iter().enumerate() {
        assert_eq!(attempt.attempt, k as u32 + 1);
        assert_eq!(attempt.error.code(), ErrorCode::Timeout);
        // Cut off at the 100 ms deadline, not after the 5 s the hung call would take.
        let took = attempt.finished - attempt.started;
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_secs(1),
            "{took:?}"
        );
    }
    // The backoff between attempts: exponential from 50 ms, jitter draws from [d/2, d].
    let gap = failed[1].started - failed[0].finished;
    assert!(gap >= Duration::from_millis(25), "{gap:?}");
    assert_eq!(s.retries.len(), 2, "{:?}", s.retries);
    assert!(
        s.retries[0].contains("attempt 1 failed (TIMEOUT"),
        "{:?}",
        s.retries
    );
    // The rest of the dashboard is whole.
    assert!(run.output.picks.is_some());
}

#[tokio::test]
async fn a_failing_side_branch_ends_in_partial_success() {
    let s = optional_dependency_down().await;
    let run = s.result.as_ref().unwrap();
    let report = &run.report;
    assert_eq!(report.state, WorkflowState::PartialSuccess);
    assert_eq!(
        (
            report.steps_completed,
            report.steps_failed,
            report.steps_skipped
        ),
        (3, 1, 1)
    );
    let state = |step: &str| report.step(step).unwrap().state;
    assert_eq!(state("recommendations"), StepState::Failed);
    assert_eq!(state("picks"), StepState::Skipped);
    assert_eq!(
        report.step("picks").unwrap().skip_reason,
        Some(SkipReason::InputNotProduced {
            step: "recommendations".into()
        })
    );
    for step in ["inventory", "summary", "page"] {
        assert_eq!(state(step), StepState::Completed, "{step}");
    }
    assert_eq!(run.output.picks, None);
    assert_eq!(run.output.summary.total_units, 52);

    // FailFast gives up on the whole run instead.
    let s = optional_dependency_down_fail_fast().await;
    let err = s.result.unwrap_err();
    assert_eq!(err.failed_step(), Some("recommendations"));
    assert_eq!(err.report().unwrap().state, WorkflowState::Failed);
}
