//! The `cicd_pipeline` example: a good release goes live; a release failing its health
//! check is rolled back and the previous release is live again, its files untouched.

#[allow(dead_code)]
#[path = "../examples/cicd_pipeline.rs"]
mod cicd_pipeline;

use std::fs;

use cicd_pipeline::{Pipeline, deliver_two_versions};
use onex::{ErrorCode, StepState, WorkflowState};

#[test]
fn lint_and_test_share_a_wave() {
    let g = Pipeline::graph();
    let wave = |name: &str| {
        g.waves()
            .position(|w| w.iter().any(|&s| g.step(s).name == name))
            .unwrap()
    };
    assert_eq!(wave("lint_report"), wave("test_report"));
    assert!(wave("sources") < wave("lint_report"));
    assert!(wave("lint_report") < wave("artifact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_health_check_rolls_back_to_the_previous_release() {
    let root = tempfile::tempdir().unwrap();
    let d = deliver_two_versions(root.path()).await.unwrap();
    let env = &d.env;

    // 1.0.0 went live.
    assert_eq!(d.first.output.version, "1.0.0");
    let report = &d.first.report;
    assert_eq!(report.state, WorkflowState::Completed);
    assert_eq!(report.steps_completed, 6);
    assert!(
        report.parallel_executions >= 2,
        "lint and test were dispatched together"
    );
    assert!(d.site_after_first.contains("<!-- site 1.0.0 -->"));

    // 1.1.0 deployed, failed its health check three times, and was rolled back.
    let err = &d.second;
    assert_eq!(err.failed_step(), Some("live"));
    assert_eq!(err.code(), ErrorCode::ResourceUnavailable);
    let report = err.report().unwrap();
    assert_eq!(report.state, WorkflowState::Failed);
    assert_eq!(report.step("live").unwrap().attempts, 3);
    assert_eq!(report.compensations_run, 1);
    let release = report.step("release").unwrap();
    assert_eq!(release.state, StepState::Completed);
    assert_eq!(
        release.compensation.as_ref().map(|c| c.state),
        Some(StepState::Completed)
    );

    // On disk: `current` is 1.0.0 again, its files are as deployed, 1.1.0 is gone, and
    // the 1.1.0 build artifact is kept for a post-mortem.
    assert_eq!(env.current().unwrap().as_deref(), Some("1.0.0"));
    let v1 = env.release_dir("1.0.0").join("site.html");
    assert_eq!(fs::read_to_string(v1).unwrap(), d.site_after_first);
    assert_eq!(d.site_after_second, d.site_after_first);
    assert!(!env.release_dir("1.1.0").exists());
    assert!(env.dist().join("site-1.1.0.html").exists());
    assert!(!env.root.join("current.tmp").exists());
}
