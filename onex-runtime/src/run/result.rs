//! The end of a run: its report, traced and told, and what `run` returns for it.

use std::sync::Arc;
use std::time::Duration;

use super::execution::Execution;
use super::state::RunState;
use crate::model::{NodeError, RunOptions, StepState, WorkflowError, WorkflowRun};
use crate::program::erased::AnyOutput;

/// The report of a finished run, traced and told to the observer.
pub(crate) fn report(
    sh: &Execution,
    state: &mut RunState,
    options: &RunOptions,
    processing_time: Duration,
    span: &tracing::Span,
) -> crate::WorkflowReport {
    let report = state.report(sh, options, processing_time);
    tracing::info!(
        parent: span,
        state = ?report.state,
        completed = report.steps_completed,
        failed = report.steps_failed,
        skipped = report.steps_skipped,
        elapsed_ms = report.processing_time.as_secs_f64() * 1000.0,
        "workflow finished"
    );
    if let Some(observer) = sh.observer() {
        observer.on_event(&crate::RunEvent::RunFinished {
            workflow: sh.program.graph().name(),
            state: report.state,
            elapsed: report.processing_time,
        });
    }
    report
}

/// A run's result: its output with its report, or why there is no output.
pub(crate) fn result<O>(
    graph: &crate::Graph,
    state: RunState,
    report: crate::WorkflowReport,
    output: Option<O>,
) -> Result<WorkflowRun<O>, WorkflowError> {
    let output_step = graph.output();
    if !state.final_state(output_step).has_output() {
        return Err(failure(graph, state, report));
    }
    match output {
        Some(output) => Ok(WorkflowRun { output, report }),
        None => Err(WorkflowError::StepFailed {
            step: graph.step(output_step).name.to_string(),
            error: NodeError::internal("the output step completed but its value is gone"),
            report: Box::new(report),
        }),
    }
}

/// Why a run produced no output, as a [`WorkflowError`].
fn failure(graph: &crate::Graph, state: RunState, report: crate::WorkflowReport) -> WorkflowError {
    let report = Box::new(report);
    if let Some(error) = state.interrupted {
        return WorkflowError::Cancelled { error, report };
    }
    // Named from the graph: with records off the report has no step records.
    let step_name = |i: usize| graph.step(i).name.to_string();
    if let Some((step, error)) = state.first_failure {
        return WorkflowError::StepFailed {
            step: step_name(step),
            error,
            report,
        };
    }
    let output_step = graph.output();
    match state.states[output_step] {
        StepState::Skipped => WorkflowError::OutputSkipped {
            step: step_name(output_step),
            report,
        },
        _ => WorkflowError::StepFailed {
            step: step_name(output_step),
            error: NodeError::internal("the run ended without its output and without a failure"),
            report,
        },
    }
}

/// Takes the runs' outputs out of the shared slots. Every straggler has returned (the runs
/// wait for theirs when one produced its output), so nothing else holds them.
pub(crate) fn take_outputs(sh: Arc<Execution>, produced: &[bool]) -> Vec<Option<AnyOutput>> {
    if !produced.iter().any(|&p| p) {
        return Vec::new();
    }
    let Ok(shared) = Arc::try_unwrap(sh) else {
        return Vec::new();
    };
    let program = shared.program;
    shared
        .slots
        .into_iter()
        .zip(produced)
        .map(|(slots, &p)| if p { program.output(slots) } else { None })
        .collect()
}
