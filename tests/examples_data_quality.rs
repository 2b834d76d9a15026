//! The `data_quality` example: four checks in one parallel wave, a reducer's score, and
//! the route each dataset takes.

#[allow(dead_code)]
#[path = "../examples/data_quality.rs"]
mod data_quality;

use data_quality::{QualityGate, Route, daily_extract, gate, legacy_import};
use onex::{SkipReason, StepState, WorkflowState};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn the_checks_form_one_wave() {
    let g = QualityGate::graph();
    let first: Vec<&str> = g
        .waves()
        .next()
        .unwrap()
        .iter()
        .map(|&s| g.step(s).name.as_ref())
        .collect();
    let mut first = first;
    first.sort_unstable();
    assert_eq!(first, ["complete", "fresh", "unique", "valid"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_data_is_published_and_messy_data_quarantined() {
    let lake = tempfile::tempdir().unwrap();
    let runs = gate(lake.path(), vec![daily_extract(), legacy_import()])
        .await
        .unwrap();

    // Daily extract: one of 60 fields empty, everything else perfect.
    let daily = &runs[0];
    let expected = 0.3 * (59.0 / 60.0) + 0.3 + 0.2 + 0.2;
    let decision = &daily.output;
    assert_eq!(decision.route, Route::Published);
    assert!(
        close(decision.score, expected),
        "{} vs {expected}",
        decision.score
    );
    assert_eq!(
        decision.path,
        lake.path().join("published/customers_daily.json")
    );
    assert!(decision.path.exists());
    let checks: Vec<&str> = decision.checks.iter().map(|c| c.check).collect();
    assert_eq!(
        checks,
        ["completeness", "validity", "uniqueness", "freshness"]
    );
    let report = &daily.report;
    assert_eq!(report.state, WorkflowState::Completed);
    assert_eq!(
        report.step("quarantined").unwrap().skip_reason,
        Some(SkipReason::ConditionFalse)
    );
    assert!(
        report.parallel_executions >= 4,
        "the four checks ran together"
    );

    // Legacy import: completeness 55/60, validity 51/55, uniqueness 16/20, freshness 8/20.
    let legacy = &runs[1];
    let expected =
        0.3 * (55.0 / 60.0) + 0.3 * (51.0 / 55.0) + 0.2 * (16.0 / 20.0) + 0.2 * (8.0 / 20.0);
    let decision = &legacy.output;
    assert_eq!(decision.route, Route::Quarantined);
    assert!(
        close(decision.score, expected),
        "{} vs {expected}",
        decision.score
    );
    assert!(decision.score < data_quality::THRESHOLD);
    let scores: Vec<f64> = decision.checks.iter().map(|c| c.score).collect();
    let want = [55.0 / 60.0, 51.0 / 55.0, 0.8, 0.4];
    assert!(
        scores.iter().zip(want).all(|(&a, b)| close(a, b)),
        "{scores:?}"
    );
    assert_eq!(
        decision.path,
        lake.path().join("quarantine/customers_legacy.json")
    );
    let held: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&decision.path).unwrap()).unwrap();
    assert_eq!(held["quality"]["checks"].as_array().unwrap().len(), 4);
    assert_eq!(held["dataset"]["rows"].as_array().unwrap().len(), 20);
    let report = &legacy.report;
    assert_eq!(report.step("published").unwrap().state, StepState::Skipped);
    assert_eq!(report.step("route").unwrap().state, StepState::Completed);
    assert!(!lake.path().join("published/customers_legacy.json").exists());
}
