//! The executor tells observers and tracing subscribers what happens.

mod support;

use std::sync::{Arc, Mutex};

use onex_runtime::*;

#[tokio::test(start_paused = true)]
async fn observers_hear_every_step_start_retry_skip_and_finish() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let observer = Arc::new(move |e: &RunEvent<'_>| {
        let line = match e {
            RunEvent::RunStarted {
                workflow, steps, ..
            } => format!("run {workflow} ({steps} steps)"),
            RunEvent::StepStarted {
                step,
                attempt,
                wave,
                ..
            } => format!("start {step} #{attempt} wave {wave}"),
            RunEvent::StepRetried {
                step,
                attempt,
                delay,
                ..
            } => format!("retry {step} after #{attempt} in {delay:?}"),
            RunEvent::StepFinished { step, state, .. } => format!("end {step} {state:?}"),
            RunEvent::StepSkipped { step, reason } => format!("skip {step}: {reason}"),
            RunEvent::RunFinished { state, .. } => format!("done {state:?}"),
            _ => format!("{e}"),
        };
        sink.lock().unwrap().push(line);
    });
    for records in [true, false] {
        events.lock().unwrap().clear();
        let opts = RunOptions::new()
            .records(records)
            .observer(observer.clone());
        let run = Runtime::default()
            .run(support::retry_then_skip(), 1, opts)
            .await
            .unwrap();
        assert_eq!(run.output, 4);
        assert_eq!(
            *events.lock().unwrap(),
            [
                "run observed (4 steps)",
                "start load #1 wave 0",
                "end load Completed",
                "start fetch #1 wave 1",
                "retry fetch after #1 in 5ms",
                "start fetch #2 wave 1",
                "end fetch Completed",
                "skip fast: condition was false",
                "start save #1 wave 2",
                "end save Completed",
                "done Completed",
            ],
            "records {records}"
        );
    }
}
