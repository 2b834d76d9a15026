//! The `realtime_parallel` example: waves seen by the observer, the `max_parallel` bound,
//! `parallel_executions`, and the same dashboard as a sequential run.

#[allow(dead_code)]
#[path = "../examples/realtime_parallel.rs"]
mod realtime_parallel;

use onex::prelude::*;
use realtime_parallel::*;

const SENSORS: [&str; 6] = [
    "temperature",
    "humidity",
    "pressure",
    "vibration",
    "power",
    "co2",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_run_in_order_within_the_bound() {
    let rt = Runtime::default();
    let opts = RunOptions::new().mode(ExecutionMode::Parallel {
        max_parallel: MAX_PARALLEL,
    });
    let run = run_window(&rt, demo_window(), opts, false).await.unwrap();

    assert_eq!(run.report.state, WorkflowState::Completed);
    assert_eq!(run.report.steps_completed, 13);
    // Waves of 6 and 6 steps run concurrently; the last wave has one step.
    assert_eq!(run.report.parallel_executions, 12);
    assert_eq!(run.report.thunks_emitted.len(), 13);

    // The observer saw every step start and finish once, with its wave.
    let starts: Vec<_> = run.seen.iter().filter(|s| s.started).collect();
    assert_eq!(starts.len(), 13);
    assert_eq!(run.seen.len(), 26);
    for s in &run.seen {
        let want = if SENSORS.contains(&s.step.as_str()) {
            0
        } else if s.step.ends_with("_s") {
            1
        } else {
            assert_eq!(s.step, "board");
            2
        };
        assert_eq!(s.wave, want, "{s:?}");
    }
    // Waves never overlap: every step of wave n+1 starts after every step of wave n ended.
    for wave in 0..2 {
        let last_end = run
            .seen
            .iter()
            .filter(|s| !s.started && s.wave == wave)
            .map(|s| s.at)
            .max()
            .unwrap();
        let next_start = run
            .seen
            .iter()
            .filter(|s| s.started && s.wave == wave + 1)
            .map(|s| s.at)
            .min()
            .unwrap();
        assert!(next_start >= last_end, "wave {wave}");
    }
    // Six sensor reads under a bound of five: five at once, the sixth when a slot frees.
    assert_eq!(run.peak_in_flight(0), MAX_PARALLEL);
    let co2_start = run
        .seen
        .iter()
        .position(|s| s.started && s.step == "co2")
        .unwrap();
    let first_end = run.seen.iter().position(|s| !s.started).unwrap();
    assert!(co2_start > first_end, "{:?}", run.seen);

    let board = &run.dashboard;
    let names: Vec<&str> = board.sensors.iter().map(|s| s.sensor).collect();
    assert_eq!(names, SENSORS);
    // 300 samples with a spike every 17th on the two faulty sensors: 17 anomalies each.
    for s in &board.sensors {
        let faulty = ["temperature", "vibration"].contains(&s.sensor);
        assert_eq!(s.anomalies, if faulty { 17 } else { 0 }, "{s:?}");
    }
    assert_eq!(board.alerts, ["temperature", "vibration"]);

    // Sequential gives the same dashboard, one step at a time, and nothing in parallel.
    let seq = run_window(&rt, demo_window(), RunOptions::new(), false)
        .await
        .unwrap();
    assert_eq!(seq.dashboard, run.dashboard);
    assert_eq!(seq.report.parallel_executions, 0);
    assert!((0..3).all(|w| seq.peak_in_flight(w) == 1));
    // Six sensor waits of 20–40 ms add up sequentially but overlap in parallel.
    assert!(seq.report.processing_time > run.report.processing_time);
}
