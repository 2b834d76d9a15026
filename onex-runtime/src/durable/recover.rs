//! Resuming runs: [`Runtime::resume`] one by id, [`Runtime::recover`] every unfinished run
//! of every durable workflow linked into the binary ([`DURABLE_WORKFLOWS`]).

use std::sync::Arc;

use futures_util::future::{BoxFuture, join_all};
use linkme::distributed_slice;

use super::error::DurableError;
use super::start;
use crate::context::Runtime;
use crate::journal::RunFilter;
use crate::model::{RunOptions, WorkflowError};
use crate::program::Program;
use crate::program::erased::Erased;
use crate::runtime::RunFuture;

/// A durable workflow compiled into the binary, as `#[durable] workflow` registers it:
/// what [`Runtime::recover`] resumes runs with.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{DURABLE_WORKFLOWS, DurableWorkflow};
///
/// assert!(DURABLE_WORKFLOWS.iter().all(|w: &DurableWorkflow| !w.name.is_empty()));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DurableWorkflow {
    /// The workflow's name, as journaled with its runs.
    pub name: &'static str,
    /// Resumes the run with this id to its end, with these options.
    pub resume:
        for<'a> fn(&'a Runtime, String, RunOptions) -> BoxFuture<'a, Result<(), WorkflowError>>,
}

impl DurableWorkflow {
    /// The entry of workflow `P`, named `name`.
    pub const fn of<P: Program + Default>(name: &'static str) -> Self {
        DurableWorkflow {
            name,
            resume: resume_default::<P>,
        }
    }
}

fn resume_default<P: Program + Default>(
    rt: &Runtime,
    run_id: String,
    options: RunOptions,
) -> BoxFuture<'_, Result<(), WorkflowError>> {
    let run = rt.resume(Arc::new(P::default()), run_id, options);
    Box::pin(async move { run.await.map(|_| ()) })
}

/// Every durable workflow linked into the binary (`#[durable] workflow` adds its own).
#[distributed_slice]
pub static DURABLE_WORKFLOWS: [DurableWorkflow];

/// What [`Runtime::recover`] did.
///
/// # Examples
///
/// ```
/// use onex::durable::Recovered;
/// let nothing = Recovered::default();
/// assert!(nothing.results.is_empty() && nothing.unknown.is_empty());
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Recovered {
    /// Each run resumed, by id, and how it ended.
    pub results: Vec<(String, Result<(), WorkflowError>)>,
    /// Unfinished runs of workflows this binary does not have, by id: left alone.
    pub unknown: Vec<String>,
}

impl Runtime {
    /// Resumes run `run_id` of `program` from its journal: its journaled input, its
    /// journaled outputs (those steps are not called again), the rest run. A finished run
    /// returns its journaled result without running anything.
    ///
    /// Generated workflows call it as `Wf::resume(&rt, id, opts)`.
    ///
    /// # Errors
    ///
    /// [`WorkflowError::Durable`] when the runtime has no journal, the run is unknown or
    /// held by another live process (`RunLeased`), its graph changed, or its input does not
    /// load; otherwise the run's own result.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::dynamic::NodeRegistry;
    /// use onex::journal::MemoryJournal;
    /// use onex::{RunOptions, Runtime, WorkflowError};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut registry = NodeRegistry::new();
    /// registry.compute_infallible("Double", |n: &i64| n * 2);
    /// let wf = registry
    ///     .load_yaml("workflow_id: w\nsteps: [{step_id: s, thunks: [{thunk_id: d, target_node_type: Double, operation_data: 1}]}]\noutput: d")
    ///     .unwrap();
    /// let rt = Runtime::builder().journal(MemoryJournal::new()).build();
    /// let err = rt.resume(wf.program(), "nope", RunOptions::new()).await.unwrap_err();
    /// assert!(matches!(err, WorkflowError::Durable(_)));
    /// assert_eq!(err.to_string(), "durable run `nope`: no run `nope` in the journal");
    /// # }
    /// ```
    pub fn resume<P: Program>(
        &self,
        program: Arc<P>,
        run_id: impl Into<String>,
        options: RunOptions,
    ) -> RunFuture<'_, P::Output> {
        RunFuture::new(self.resume_any(Erased::new(program), run_id.into(), options))
    }

    fn resume_any(
        &self,
        program: Arc<Erased>,
        run_id: String,
        options: RunOptions,
    ) -> BoxFuture<
        '_,
        Vec<Result<crate::WorkflowRun<crate::program::erased::AnyOutput>, WorkflowError>>,
    > {
        Box::pin(async move {
            let input = async {
                let durable =
                    self.inner
                        .durable
                        .as_ref()
                        .ok_or_else(|| DurableError::NoJournal {
                            run_id: run_id.clone(),
                        })?;
                let run = start::load(durable.journal.as_ref(), &run_id).await?;
                start::journaled_input(&program, &run)
            };
            match input.await {
                Ok(input) => {
                    let options = options.run_id(run_id);
                    self.run_batch_any(program, vec![input], options).await
                }
                Err(error) => vec![Err(WorkflowError::Durable(error))],
            }
        })
    }

    /// Resumes every unfinished run in the journal whose workflow is a durable workflow of
    /// this binary ([`DURABLE_WORKFLOWS`]), concurrently (within
    /// [`max_concurrent_workflows`](crate::RuntimeBuilder::max_concurrent_workflows)):
    /// what a process does at start-up after a crash.
    ///
    /// # Errors
    ///
    /// The runtime has no journal, or listing its runs failed; a run that fails to resume
    /// is in [`Recovered::results`].
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::journal::MemoryJournal;
    /// use onex::Runtime;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), onex::WorkflowError> {
    /// let rt = Runtime::builder().journal(MemoryJournal::new()).build();
    /// let recovered = rt.recover().await?;
    /// assert!(recovered.results.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn recover(&self) -> Result<Recovered, WorkflowError> {
        self.recover_with(RunOptions::new()).await
    }

    /// [`recover`](Self::recover), resuming each run with `options`: the mode and failure
    /// strategy are not journaled, so a process whose runs compensate on failure resumes
    /// them with `FailureStrategy::Compensate` too, or a resumed run that fails leaves its
    /// completed effects in place. Each run's id is its own, whatever `options` says.
    ///
    /// # Errors
    ///
    /// As [`recover`](Self::recover).
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::journal::MemoryJournal;
    /// use onex::{FailureStrategy, RunOptions, Runtime};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), onex::WorkflowError> {
    /// let rt = Runtime::builder().journal(MemoryJournal::new()).build();
    /// let options = RunOptions::new().failure_strategy(FailureStrategy::Compensate);
    /// let recovered = rt.recover_with(options).await?;
    /// assert!(recovered.results.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn recover_with(&self, options: RunOptions) -> Result<Recovered, WorkflowError> {
        let durable = self.inner.durable.as_ref().ok_or_else(|| {
            WorkflowError::Durable(DurableError::NoJournal {
                run_id: "*".to_owned(),
            })
        })?;
        let runs = durable
            .journal
            .list_runs(&RunFilter::unfinished())
            .await
            .map_err(|error| {
                WorkflowError::Durable(DurableError::Journal {
                    run_id: "*".to_owned(),
                    error,
                })
            })?;
        let mut recovered = Recovered::default();
        let mut resuming = Vec::new();
        for run in runs {
            match DURABLE_WORKFLOWS.iter().find(|w| w.name == run.workflow) {
                Some(workflow) => {
                    let (id, options) = (run.run_id.clone(), options.clone());
                    resuming.push(async move {
                        (id, (workflow.resume)(self, run.run_id, options).await)
                    });
                }
                None => recovered.unknown.push(run.run_id),
            }
        }
        recovered.results = join_all(resuming).await;
        Ok(recovered)
    }
}
