//! The `conditional_quality` example: which steps ran and which were skipped on each path.

#[allow(dead_code)]
#[path = "../examples/conditional_quality.rs"]
mod conditional_quality;

use conditional_quality::*;
use onex::SkipReason;
use onex::prelude::*;

fn state(report: &WorkflowReport, step: &str) -> StepState {
    report.step(step).unwrap().state
}

#[tokio::test]
async fn good_data_takes_the_fast_track_and_bad_data_the_full_pipeline() {
    let warehouse = Warehouse::default();
    let rt = Runtime::builder().resource(warehouse.clone()).build();

    let batch = clean_batch(50);
    assert_eq!(assess(&batch).score, 1.0);
    let fast = process_batch(&rt, batch).await.unwrap();
    assert_eq!(fast.output.path, Path::FastTrack);
    assert_eq!(fast.output.rows, 50);
    let r = &fast.report;
    assert_eq!(r.state, WorkflowState::Completed);
    for step in ["quality", "fast", "loaded"] {
        assert_eq!(state(r, step), StepState::Completed, "{step}");
    }
    for step in ["cleaned", "imputed", "full"] {
        assert_eq!(state(r, step), StepState::Skipped, "{step}");
    }
    assert_eq!(
        r.step("cleaned").unwrap().skip_reason,
        Some(SkipReason::ConditionFalse)
    );
    assert_eq!(
        r.step("imputed").unwrap().skip_reason,
        Some(SkipReason::InputNotProduced {
            step: "cleaned".into()
        })
    );
    assert_eq!((r.steps_completed, r.steps_skipped), (3, 3));

    let batch = messy_batch(50);
    let quality = assess(&batch);
    assert!(quality.score < FAST_TRACK_THRESHOLD, "{quality:?}");
    assert_eq!(quality.duplicates, 7);
    let full = process_batch(&rt, batch).await.unwrap();
    assert_eq!(full.output.path, Path::FullPipeline);
    let r = &full.report;
    assert_eq!(r.state, WorkflowState::Completed);
    for step in ["quality", "cleaned", "imputed", "full", "loaded"] {
        assert_eq!(state(r, step), StepState::Completed, "{step}");
    }
    assert_eq!(state(r, "fast"), StepState::Skipped);
    assert_eq!(
        r.step("fast").unwrap().skip_reason,
        Some(SkipReason::ConditionFalse)
    );
    assert_eq!((r.steps_completed, r.steps_skipped), (5, 1));
    // 50 rows, 10 without an email (dropped by `clean`). Every 7th row repeats the id of
    // the row before it; `dedupe` drops the repeat only when both rows kept an email.
    let has_email = |i: u64| !i.is_multiple_of(5);
    let repeats = (1..=50u64)
        .filter(|&i| i % 7 == 0 && has_email(i) && has_email(i - 1))
        .count();
    assert_eq!(repeats, 5);
    assert_eq!(full.output.rows, 50 - 10 - repeats);

    // Every loaded row is complete and the emails were normalized on the full path.
    let rows = warehouse.rows.lock().unwrap();
    assert_eq!(rows.len(), 50 + full.output.rows);
    assert!(
        rows.iter()
            .filter(|(b, _)| b == "batch-2024-02")
            .all(|(_, r)| r.email == r.email.trim().to_lowercase())
    );
}
