//! What a run did: one [`StepRecord`] per step and a [`WorkflowReport`] per run.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::NodeError;
use crate::model::NodeKind;
use crate::model::RecordList;
use crate::model::Thunk;
use crate::model::{ExecutionMode, FailureStrategy};
use crate::model::{StepState, WorkflowState};

/// Why a step was skipped.
///
/// # Examples
///
/// ```
/// use onex::SkipReason;
/// let r = SkipReason::InputNotProduced { step: "fetch".into() };
/// assert_eq!(r.to_string(), "input `fetch` was not produced");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Its `when` condition returned false.
    ConditionFalse,
    /// A step it reads failed, was skipped or was cancelled.
    InputNotProduced {
        /// The first such step.
        step: String,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::ConditionFalse => f.write_str("condition was false"),
            SkipReason::InputNotProduced { step } => {
                write!(f, "input `{step}` was not produced")
            }
        }
    }
}

/// One failed attempt of a step, kept for timelines and post-mortems.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::{AttemptRecord, NodeError, StragglerOutcome};
/// let late = AttemptRecord {
///     attempt: 1,
///     item: 0,
///     started: Duration::ZERO,
///     finished: Duration::from_millis(25),
///     error: NodeError::transient("timed out after 25ms"),
///     straggler: Some(StragglerOutcome::Compensated),
/// };
/// let json = serde_json::to_value(&late).unwrap();
/// assert_eq!(json["straggler"], serde_json::json!({"outcome": "compensated"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The attempt number, from 1.
    pub attempt: u32,
    /// The `map` element (0 for other steps).
    pub item: usize,
    /// When the attempt started, from the start of the run.
    #[serde(rename = "started_ms", with = "crate::model::serde_duration::ms")]
    pub started: Duration,
    /// When the attempt ended, from the start of the run.
    #[serde(rename = "finished_ms", with = "crate::model::serde_duration::ms")]
    pub finished: Duration,
    /// Why it failed.
    pub error: NodeError,
    /// For a synchronous attempt abandoned while it was still running, at its timeout or
    /// when its run stopped (a *straggler*: a synchronous call cannot be stopped, so it
    /// went on, on its thread of the runtime's blocking pool), what became of the call.
    /// It never became the step's output; what it returned is accounted for here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub straggler: Option<StragglerOutcome>,
}

/// The outcome of a step's compensation (saga).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompensationRecord {
    /// `Completed` or `Failed`.
    pub state: StepState,
    /// When it started, from the start of the run.
    #[serde(rename = "started_ms", with = "crate::model::serde_duration::ms")]
    pub started: Duration,
    /// When it ended, from the start of the run.
    #[serde(rename = "finished_ms", with = "crate::model::serde_duration::ms")]
    pub finished: Duration,
    /// Its error, when it failed.
    pub error: Option<NodeError>,
}

/// What became of a straggler: a synchronous attempt abandoned while still running (see
/// [`AttemptRecord::straggler`]).
///
/// # Examples
///
/// ```
/// use onex::StragglerOutcome;
/// assert!(StragglerOutcome::Running.is_stuck());
/// assert!(!StragglerOutcome::Discarded.is_stuck());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StragglerOutcome {
    /// Still running when the run ended: a *stuck* call, holding a thread of the blocking
    /// pool until it returns. An output it returns later is handed to the node's
    /// compensation then (and traced), after the report was made.
    Running,
    /// It returned an error (or panicked): there is nothing to undo.
    Failed {
        /// Its error.
        error: NodeError,
    },
    /// It returned an output, and the node's compensation undid it.
    Compensated,
    /// It returned an output, and the node's compensation failed on it.
    CompensationFailed {
        /// The compensation's error.
        error: NodeError,
    },
    /// It returned an output that the node has no compensation for: dropped. For a compute
    /// step this is an equal value computed twice; for an effect, a side effect that stays.
    Discarded,
}

impl StragglerOutcome {
    /// Whether the call was still running when the run ended.
    pub fn is_stuck(&self) -> bool {
        matches!(self, StragglerOutcome::Running)
    }
}

/// What happened to one step in one run.
///
/// # Examples
///
/// ```
/// use onex::{StepRecord, StepState, NodeKind};
/// let r = StepRecord::new("fetch", "NodeDataFetcherEffect", NodeKind::Effect, 0);
/// assert_eq!(r.state, StepState::Pending);
/// assert_eq!(r.duration(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's name.
    pub step: Cow<'static, str>,
    /// The node's type name.
    pub node_type: Cow<'static, str>,
    /// The node's kind.
    pub kind: NodeKind,
    /// The step's wave (topological level).
    pub wave: usize,
    /// How it ended.
    pub state: StepState,
    /// Attempts made, summed over the calls of a `map` step.
    pub attempts: u32,
    /// The most attempts one call made: [`attempts`](Self::attempts) for a step of one call.
    /// For a `map` step, the call that needed most; its calls made `attempts` in all, each
    /// one at least, and which call failed which attempt is in
    /// [`failed_attempts`](Self::failed_attempts) (by `item`).
    #[serde(default)]
    pub max_attempts: u32,
    /// Calls made: 1, or the width of a `map` step.
    pub calls: usize,
    /// For a step of one call that completed, the attempt whose output is the step's
    /// output: its last attempt (attempts abandoned at their timeout never publish, see
    /// [`stragglers`](Self::stragglers)). `None` when it produced no output, was answered
    /// from the cache, or is a `map` step (each element's output is from its own last
    /// attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_attempt: Option<u32>,
    /// Calls answered from the cache.
    pub cache_hits: usize,
    /// When the step started, from the start of the run.
    #[serde(
        rename = "started_ms",
        with = "crate::model::serde_duration::opt_ms",
        default
    )]
    pub started: Option<Duration>,
    /// When the step ended, from the start of the run.
    #[serde(
        rename = "finished_ms",
        with = "crate::model::serde_duration::opt_ms",
        default
    )]
    pub finished: Option<Duration>,
    /// The final error, when it failed or was cancelled.
    pub error: Option<NodeError>,
    /// Why it was skipped.
    pub skip_reason: Option<SkipReason>,
    /// Every failed attempt, including ones that a retry recovered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_attempts: Vec<AttemptRecord>,
    /// Its compensation, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensation: Option<CompensationRecord>,
    /// Where its calls' thunks are in [`WorkflowReport::thunks_emitted`] (one per call,
    /// emitted together).
    #[serde(default)]
    pub thunks: std::ops::Range<usize>,
}

impl StepRecord {
    /// A pending record.
    pub fn new(
        step: impl Into<Cow<'static, str>>,
        node_type: impl Into<Cow<'static, str>>,
        kind: NodeKind,
        wave: usize,
    ) -> Self {
        StepRecord {
            step: step.into(),
            node_type: node_type.into(),
            kind,
            wave,
            state: StepState::Pending,
            attempts: 0,
            calls: 0,
            max_attempts: 0,
            output_attempt: None,
            cache_hits: 0,
            started: None,
            finished: None,
            error: None,
            skip_reason: None,
            failed_attempts: Vec::new(),
            compensation: None,
            thunks: 0..0,
        }
    }

    /// Its stragglers: the failed attempts that went on running after they were abandoned
    /// (see [`AttemptRecord::straggler`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::{NodeKind, StepRecord};
    /// let r = StepRecord::new("fetch", "Fetch", NodeKind::Effect, 0);
    /// assert_eq!(r.stragglers().count(), 0);
    /// ```
    pub fn stragglers(&self) -> impl Iterator<Item = &AttemptRecord> {
        self.failed_attempts
            .iter()
            .filter(|a| a.straggler.is_some())
    }

    /// How long the step ran, retries included.
    pub fn duration(&self) -> Option<Duration> {
        Some(self.finished?.saturating_sub(self.started?))
    }
}

/// What a run did.
///
/// # Examples
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// # use onex::*;
/// # let report = WorkflowReport::empty("etl");
/// println!("{} in {:?}: {} steps completed", report.workflow, report.processing_time, report.steps_completed);
/// let json = serde_json::to_string(&report)?;
/// let back: WorkflowReport = serde_json::from_str(&json)?;
/// assert_eq!(back.workflow, report.workflow);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowReport {
    /// The workflow's name.
    pub workflow: Cow<'static, str>,
    /// This run's id (uuid v4 unless given in `RunOptions`).
    pub workflow_id: Uuid,
    /// The correlation id (uuid v4 unless given in `RunOptions`).
    pub operation_id: Uuid,
    /// How the run ended.
    pub state: WorkflowState,
    /// The execution mode used.
    pub mode: ExecutionMode,
    /// The failure strategy used.
    pub failure_strategy: FailureStrategy,
    /// Steps completed.
    pub steps_completed: usize,
    /// Steps failed.
    pub steps_failed: usize,
    /// Steps skipped.
    pub steps_skipped: usize,
    /// Steps cancelled.
    pub steps_cancelled: usize,
    /// Calls that ran at the same time as at least one other call of the run: the calls of
    /// a wave of several in `Parallel` and `Batch` modes (0 in `Sequential`).
    pub parallel_executions: usize,
    /// Calls handed to the rayon pool in batches, grouped by node type, whose idle threads
    /// steal work from busy ones (`Batch` mode and `run_batch`; 0 otherwise).
    pub load_balanced_operations: usize,
    /// Calls answered from the cache.
    pub cache_hits: usize,
    /// Compensations run (saga), including those of [stragglers](StepRecord::stragglers).
    pub compensations_run: usize,
    /// Synchronous calls abandoned while running that were still running when the run
    /// ended (*stuck*, see [`StragglerOutcome::Running`]); counted with records off too.
    #[serde(default)]
    pub stuck_calls: usize,
    /// When the run started.
    pub started_at: SystemTime,
    /// Wall-clock duration of the run. In a `run_batch`, from the batch's start to this
    /// input's end: inputs that advance together end together; inputs that run one by one
    /// on the rayon pool (a batch of plain synchronous steps) end when their last step does.
    #[serde(
        rename = "processing_time_ms",
        with = "crate::model::serde_duration::ms"
    )]
    pub processing_time: Duration,
    /// Whether thunk and step records were kept (`RunOptions::records`).
    pub records: bool,
    /// Every call's thunk, in emission order (empty with records off). Built when first
    /// read (see [`RecordList`]).
    pub thunks_emitted: RecordList<Thunk>,
    /// One record per step, by step index (empty with records off). Built when first read.
    pub steps: RecordList<StepRecord>,
    /// Free-form annotations from `RunOptions::metadata`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
}

impl WorkflowReport {
    /// An empty report for a run of `workflow` that has not started.
    pub fn empty(workflow: impl Into<Cow<'static, str>>) -> Self {
        WorkflowReport {
            workflow: workflow.into(),
            workflow_id: Uuid::nil(),
            operation_id: Uuid::nil(),
            state: WorkflowState::Pending,
            mode: ExecutionMode::Sequential,
            failure_strategy: FailureStrategy::FailFast,
            steps_completed: 0,
            steps_failed: 0,
            steps_skipped: 0,
            steps_cancelled: 0,
            parallel_executions: 0,
            load_balanced_operations: 0,
            cache_hits: 0,
            compensations_run: 0,
            stuck_calls: 0,
            started_at: SystemTime::UNIX_EPOCH,
            processing_time: Duration::ZERO,
            records: true,
            thunks_emitted: RecordList::new(),
            steps: RecordList::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// The record of the step named `name`.
    pub fn step(&self, name: &str) -> Option<&StepRecord> {
        self.steps.iter().find(|s| s.step == name)
    }

    /// The thunks emitted by the step named `name`.
    pub fn thunks_of(&self, name: &str) -> &[Thunk] {
        self.step(name)
            .and_then(|s| self.thunks_emitted.get(s.thunks.clone()))
            .unwrap_or(&[])
    }

    /// The thunk with id `id`.
    pub fn thunk(&self, id: Uuid) -> Option<&Thunk> {
        self.thunks_emitted.iter().find(|t| t.thunk_id == id)
    }
}

/// A run that produced its output.
///
/// # Examples
///
/// ```
/// # use onex::*;
/// let run = WorkflowRun { output: 42, report: WorkflowReport::empty("answer") };
/// assert_eq!(run.output, 42);
/// ```
#[derive(Debug, Clone)]
pub struct WorkflowRun<T> {
    /// The output step's value.
    pub output: T,
    /// What the run did.
    pub report: WorkflowReport,
}
