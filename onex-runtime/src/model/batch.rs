//! [`BatchOutcome`]: what [`Runtime::run_batch_lean`](crate::Runtime::run_batch_lean)
//! returns: every input's output in input order, and one [`BatchReport`] for the batch.

use std::time::Duration;

use super::error::{NodeError, WorkflowError};
use super::latency::LatencyHistogram;
use super::report::WorkflowRun;

/// The outcome of a lean batch: the outputs of the inputs that completed, in input order,
/// and one report for the whole batch.
///
/// The outputs are dense, as a hand-written `par_iter().map().collect()` would return them
/// when every input completes: a failed input has no place in them (an `Option` per input
/// would double the memory of a `u64` output). [`output`](Self::output) finds an input's
/// output by its index, and [`into_results`](Self::into_results) gives one `Result` per
/// input.
///
/// # Examples
///
/// ```
/// use onex::{BatchFailure, BatchOutcome, BatchReport, NodeError};
/// let failure = BatchFailure { index: 1, step: Some("half".into()), error: NodeError::permanent("odd") };
/// let outcome = BatchOutcome {
///     outputs: vec![2, 4],
///     report: BatchReport { completed: 2, failures: vec![failure], ..BatchReport::default() },
/// };
/// assert_eq!(outcome.output(0), Some(&2));
/// assert_eq!(outcome.output(1), None);
/// assert_eq!(outcome.output(2), Some(&4));
/// ```
#[derive(Debug, Clone)]
pub struct BatchOutcome<T> {
    /// The outputs of the inputs that completed, in input order. A failed input has none:
    /// the report's [`failures`](BatchReport::failures) name it by its index.
    pub outputs: Vec<T>,
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
    /// let ok = BatchOutcome { outputs: vec![1, 2], report: BatchReport::default() };
    /// assert_eq!(ok.into_outputs().unwrap(), vec![1, 2]);
    /// ```
    pub fn into_outputs(self) -> Result<Vec<T>, BatchReport> {
        if !self.report.failures.is_empty() {
            return Err(self.report);
        }
        Ok(self.outputs)
    }

    /// The output of input `index`: `None` when that input failed or is past the batch's
    /// end.
    ///
    /// ```
    /// use onex::{BatchOutcome, BatchReport};
    /// let ok = BatchOutcome { outputs: vec![1, 2], report: BatchReport::default() };
    /// assert_eq!(ok.output(1), Some(&2));
    /// assert_eq!(ok.output(2), None);
    /// ```
    pub fn output(&self, index: usize) -> Option<&T> {
        // The failures are ordered by index: those before `index` shift its place.
        let failures = &self.report.failures;
        let before = failures.partition_point(|f| f.index < index);
        if failures.get(before).is_some_and(|f| f.index == index) {
            return None;
        }
        self.outputs.get(index - before)
    }

    /// One result per input, in input order: its output, or why it has none.
    ///
    /// ```
    /// use onex::{BatchFailure, BatchOutcome, BatchReport, NodeError};
    /// let failure = BatchFailure { index: 0, step: None, error: NodeError::permanent("bad") };
    /// let outcome = BatchOutcome {
    ///     outputs: vec![7],
    ///     report: BatchReport { completed: 1, failures: vec![failure], ..BatchReport::default() },
    /// };
    /// let results = outcome.into_results();
    /// assert!(results[0].is_err());
    /// assert_eq!(results[1].as_ref().ok(), Some(&7));
    /// ```
    pub fn into_results(self) -> Vec<Result<T, BatchFailure>> {
        let len = self.outputs.len() + self.report.failures.len();
        let mut outputs = self.outputs.into_iter();
        let mut failures = self.report.failures.into_iter().peekable();
        let mut results = Vec::with_capacity(len);
        for index in 0..len {
            match failures.next_if(|f| f.index == index) {
                Some(failure) => results.push(Err(failure)),
                None => match outputs.next() {
                    Some(output) => results.push(Ok(output)),
                    None => break,
                },
            }
        }
        results
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
        let mut outputs = Vec::with_capacity(runs.len());
        for (index, run) in runs.into_iter().enumerate() {
            match run {
                Ok(run) => {
                    report.completed += 1;
                    report.latency.record(run.report.processing_time);
                    outputs.push(run.output);
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
                }
            }
        }
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
