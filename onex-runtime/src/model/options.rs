//! [`RunOptions`]: per-run settings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::model::RunObserver;
use crate::model::{ExecutionMode, FailureStrategy};

/// Settings for one run: mode, failure strategy, deadline, records, cancellation.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::{ExecutionMode, FailureStrategy, RunOptions};
///
/// let opts = RunOptions::new()
///     .mode(ExecutionMode::Parallel { max_parallel: 3 })
///     .failure_strategy(FailureStrategy::ContinueOnError)
///     .timeout(Duration::from_secs(30));
/// assert_eq!(opts.get_mode(), ExecutionMode::Parallel { max_parallel: 3 });
/// ```
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub(crate) mode: ExecutionMode,
    pub(crate) failure_strategy: FailureStrategy,
    pub(crate) timeout: Option<Duration>,
    pub(crate) records_off: bool,
    pub(crate) capture_inputs: bool,
    pub(crate) cache_all: bool,
    pub(crate) cancel: Option<CancellationToken>,
    pub(crate) workflow_id: Option<Uuid>,
    pub(crate) operation_id: Option<Uuid>,
    pub(crate) metadata: BTreeMap<String, serde_json::Value>,
    pub(crate) observer: Option<Arc<dyn RunObserver>>,
    pub(crate) remote: bool,
    pub(crate) run_id: Option<String>,
    pub(crate) run_ids: Option<Vec<String>>,
    pub(crate) allow_changed_graph: bool,
    /// Set by `Runtime::serve`: called once the run's start is committed in the journal.
    pub(crate) on_started: Option<super::StartHook>,
}

impl RunOptions {
    /// Sequential, fail fast, no deadline, records on.
    pub fn new() -> Self {
        RunOptions::default()
    }

    /// The execution mode.
    pub fn mode(mut self, mode: ExecutionMode) -> Self {
        self.mode = mode;
        self
    }

    /// The failure strategy.
    pub fn failure_strategy(mut self, strategy: FailureStrategy) -> Self {
        self.failure_strategy = strategy;
        self
    }

    /// A deadline for the whole run; when it passes, the run ends `Cancelled` with
    /// [`ErrorCode::Timeout`](crate::ErrorCode::Timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether to keep thunk and step records (on by default). Turning them off makes the
    /// hot path cheaper; counters are still kept and the report says records were off.
    pub fn records(mut self, on: bool) -> Self {
        self.records_off = !on;
        self
    }

    /// Serialize every call's input into its thunk's `operation_data` (off by default).
    pub fn capture_inputs(mut self, on: bool) -> Self {
        self.capture_inputs = on;
        self
    }

    /// Cache every cacheable compute step, not only those marked `cache`.
    pub fn cache(mut self, on: bool) -> Self {
        self.cache_all = on;
        self
    }

    /// A token that cancels the run when cancelled.
    pub fn cancellation_token(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Use this id as the run's `workflow_id`.
    pub fn workflow_id(mut self, id: Uuid) -> Self {
        self.workflow_id = Some(id);
        self
    }

    /// Use this id as the run's `operation_id` (correlation).
    pub fn operation_id(mut self, id: Uuid) -> Self {
        self.operation_id = Some(id);
        self
    }

    /// Adds an annotation copied into the report's metadata.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// An observer told of the run's events as they happen (steps started, retried,
    /// finished, skipped), e.g. a `ProgressObserver` (feature `progress`) or a
    /// closure. Give several runs a clone of one `Arc` to watch them all; combine several
    /// observers with [`ObserverSet`](crate::ObserverSet).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use onex::{RunEvent, RunOptions};
    ///
    /// let opts = RunOptions::new().observer(Arc::new(|event: &RunEvent<'_>| eprintln!("{event}")));
    /// assert!(opts.get_observer().is_some());
    /// ```
    pub fn observer(mut self, observer: Arc<dyn RunObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The durable run's id in the journal (on a runtime with a
    /// [journal](crate::RuntimeBuilder::journal)): a fresh UUID unless set. Starting an id
    /// the journal has attaches to that run: a finished one returns its journaled result,
    /// an unfinished one resumes. In `run_batch`, input *i* gets `{id}-{i}` (see
    /// [`run_ids`](Self::run_ids)).
    ///
    /// ```
    /// use onex::RunOptions;
    /// assert_eq!(RunOptions::new().run_id("order-42").get_run_id(), Some("order-42"));
    /// ```
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }

    /// The run ids of a `run_batch`'s inputs, in input order (inputs beyond the list get
    /// [`run_id`](Self::run_id)`-{i}`, or a fresh UUID).
    ///
    /// ```
    /// use onex::RunOptions;
    /// let opts = RunOptions::new().run_ids(["order-1", "order-2"]);
    /// ```
    pub fn run_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.run_ids = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// The run id set, if any.
    pub fn get_run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// Resume a durable run even if the workflow's graph changed since the run was
    /// journaled: only steps whose own definition and whole upstream are unchanged keep
    /// their journaled outputs, the others run again. Without it such a resume is refused
    /// with a diff of the graph.
    ///
    /// ```
    /// use onex::RunOptions;
    /// let opts = RunOptions::new().run_id("order-42").allow_changed_graph();
    /// ```
    pub fn allow_changed_graph(mut self) -> Self {
        self.allow_changed_graph = true;
        self
    }

    /// The observer set, if any.
    pub fn get_observer(&self) -> Option<&Arc<dyn RunObserver>> {
        self.observer.as_ref()
    }

    /// The run id set, if any.
    ///
    /// ```
    /// use onex::RunOptions;
    /// let id = uuid::Uuid::new_v4();
    /// assert_eq!(RunOptions::new().workflow_id(id).get_workflow_id(), Some(id));
    /// assert_eq!(RunOptions::new().get_workflow_id(), None);
    /// ```
    pub fn get_workflow_id(&self) -> Option<Uuid> {
        self.workflow_id
    }

    /// The execution mode set.
    pub fn get_mode(&self) -> ExecutionMode {
        self.mode
    }

    /// The failure strategy set.
    pub fn get_failure_strategy(&self) -> FailureStrategy {
        self.failure_strategy
    }

    /// Asks the runtime's [step driver](crate::driver) to make every call of the run
    /// elsewhere (off by default): a remote driver (onex-nats's `RemoteSteps`) sends all
    /// of the run's steps to its workers, not only the node types it was given. The
    /// driver reads it as [`RunInfo::remote`](crate::driver::RunInfo::remote); without a
    /// driver it changes nothing.
    ///
    /// ```
    /// use onex::RunOptions;
    /// assert!(RunOptions::new().remote(true).get_remote());
    /// assert!(!RunOptions::new().get_remote());
    /// ```
    pub fn remote(mut self, on: bool) -> Self {
        self.remote = on;
        self
    }

    /// Whether every call of the run is asked to run elsewhere; see [`remote`](Self::remote).
    pub fn get_remote(&self) -> bool {
        self.remote
    }
}
