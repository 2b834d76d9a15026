//! [`BatchOutcome`]: what [`Runtime::run_batch_lean`](crate::Runtime::run_batch_lean)
//! returns: every input's output in input order, and one [`BatchReport`] for the batch.

use std::time::Duration;

use super::error::{NodeError, WorkflowError};
use super::latency::LatencyHistogram;
use super::report::WorkflowRun;

/// The outcome of a lean batch: one output per input, in input order (`None` where the
/// input failed), and one report for the whole batch.
///
/// # Examples
///
/// ```
/// use onex::{BatchOutcome, BatchReport};
/// let outcome = BatchOutcome {
///     outputs: vec![Some(2), None],
///     report: BatchReport { completed: 1, ..BatchReport::default() },
/// };
/// assert_eq!(outcome.outputs[0], Some(2));
/// ```
#[derive(Debug, Clone)]
pub struct BatchOutcome<T> {
    /// One entry per input, in input order: its output, or `None` when it failed (the
    /// report's [`failures`](BatchReport::failures) say why).
    pub outputs: Vec<Option<T>>,
    /// Counts and failures of the whole batch.
    pub report: BatchReport,
}

impl<T> BatchOutcome<T> {
    /// Every output, in input order, when every input completed; the report otherwise.
    ///
    /// # Errors
    ///
    /// The batch's report when any input failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::{BatchOutcome, BatchReport};
    /// let ok = BatchOutcome { outputs: vec![Some(1), Some(2)], report: BatchReport::default() };
    /// assert_eq!(ok.into_outputs().unwrap(), vec![1, 2]);
    /// ```
    pub fn into_outputs(self) -> Result<Vec<T>, BatchReport> {
        if !self.report.failures.is_empty() {
            return Err(self.report);
        }
        let outputs: Option<Vec<T>> = self.outputs.into_iter().collect();
        outputs.ok_or(self.report)
    }
}

impl<T> BatchOutcome<T> {
    /// The outcome of `run_batch`'s per-input results: their outputs, and their failures
    /// summed up (each input's own report is dropped); `elapsed` is left to the caller.
    pub(crate) fn from_runs(
        workflow: String,
        runs: Vec<Result<WorkflowRun<T>, WorkflowError>>,
    ) -> Self {
        let mut report = BatchReport {
            workflow,
            ..BatchReport::default()
        };
        let outputs = runs
            .into_iter()
            .enumerate()
            .map(|(index, run)| match run {
                Ok(run) => {
                    report.completed += 1;
                    report.latency.record(run.report.processing_time);
                    Some(run.output)
                }
                Err(e) => {
                    if let Some(run) = e.report() {
                        report.latency.record(run.processing_time);
                    }
                    let error = match e.node_error() {
                        Some(error) => error.clone(),
                        None => NodeError::new(e.code(), e.to_string()),
                    };
                    let step = e.failed_step().map(str::to_string);
                    report.failures.push(BatchFailure { index, step, error });
                    None
                }
            })
            .collect();
        BatchOutcome { outputs, report }
    }
}

/// One report for a lean batch: how many inputs completed and failed, each failure with
/// its input's index, step and error, and a histogram of the inputs' run times.
///
/// The histogram times a sample of the inputs (about 1,024 of them, see
/// [`LatencyHistogram`]): reading the clock twice per input would cost more than a small
/// input's whole run. A report per input, with every step's times, is what
/// [`Runtime::run_batch`](crate::Runtime::run_batch) returns.
///
/// # Examples
///
/// ```
/// use onex::BatchReport;
/// let report = BatchReport::default();
/// assert_eq!(report.completed + report.failed(), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    /// The workflow's name.
    pub workflow: String,
    /// How many inputs produced their output.
    pub completed: usize,
    /// The inputs that did not, ordered by input index.
    pub failures: Vec<BatchFailure>,
    /// How long the whole batch took, from its start to its last input's end.
    pub elapsed: Duration,
    /// The run times of a sample of the inputs.
    pub latency: LatencyHistogram,
}

impl BatchReport {
    /// How many inputs failed.
    ///
    /// ```
    /// use onex::BatchReport;
    /// assert_eq!(BatchReport::default().failed(), 0);
    /// ```
    pub fn failed(&self) -> usize {
        self.failures.len()
    }
}

/// Why one input of a lean batch produced no output.
///
/// # Examples
///
/// ```
/// use onex::{BatchFailure, NodeError};
/// let f = BatchFailure { index: 3, step: Some("parse".into()), error: NodeError::permanent("bad") };
/// assert_eq!(f.to_string(), "input 3: step `parse`: OPERATION_FAILED: bad");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("input {index}: {}{error}", step.as_ref().map(|s| format!("step `{s}`: ")).unwrap_or_default())]
pub struct BatchFailure {
    /// The input's position in the batch.
    pub index: usize,
    /// The step that failed, if one did (a cancelled input has none).
    pub step: Option<String>,
    /// The step's error, or why the input stopped.
    pub error: NodeError,
}
