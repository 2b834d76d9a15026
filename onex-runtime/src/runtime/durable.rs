//! The runtime's durable entry points: a durable `run` / `run_batch` (its runs started or
//! attached to in the journal, then executed with a journal's driver each),
//! [`Runtime::resume`] and [`Runtime::recover`]. The rules are in [`crate::durable`].

use std::sync::Arc;

use futures_util::future::{BoxFuture, join_all};

use super::{RunFuture, execute};
use crate::context::Runtime;
use crate::durable::start;
use crate::durable::{DURABLE_WORKFLOWS, Durable, Recovered};
use crate::journal::RunFilter;
use crate::model::{DurableError, RunOptions, WorkflowError, WorkflowRun};
use crate::program::Program;
use crate::program::erased::{AnyInput, AnyOutput, Erased};

/// A run's result, its output boxed.
type AnyResult = Result<WorkflowRun<AnyOutput>, WorkflowError>;

/// Runs `inputs` as durable runs; `None` (with the inputs back) when the program does not
/// serialize its input, so its runs are not journaled.
pub(crate) async fn run(
    rt: &Runtime,
    durable: &Arc<Durable>,
    program: Arc<Erased>,
    inputs: Vec<AnyInput>,
    options: &RunOptions,
) -> Result<Vec<AnyResult>, Vec<AnyInput>> {
    if program.serialize_input(&inputs[0]).is_none() {
        return Err(inputs);
    }
    let n = inputs.len();
    let fp = crate::durable::fingerprint(program.graph());
    let ids = start::run_ids(options, n);
    let opening = inputs
        .into_iter()
        .zip(ids)
        .map(|(input, id)| start::open(durable, &program, &fp, id, input, options));
    let opened = join_all(opening).await;
    let mut results: Vec<Option<AnyResult>> = (0..n).map(|_| None).collect();
    let (mut go, mut go_inputs, mut go_opened) = (Vec::new(), Vec::new(), Vec::new());
    for (i, opened) in opened.into_iter().enumerate() {
        match opened {
            Ok((input, opened)) => {
                go.push(i);
                go_inputs.push(input);
                go_opened.push(opened);
            }
            Err(error) => results[i] = Some(Err(error.into())),
        }
    }
    if !go.is_empty() {
        let cancel = options.cancel.clone().unwrap_or_default();
        let ran = execute(
            rt,
            program,
            go_inputs,
            options,
            cancel,
            None,
            Some(go_opened),
        )
        .await;
        for (i, result) in go.into_iter().zip(ran) {
            results[i] = Some(result);
        }
    }
    Ok(results.into_iter().flatten().collect())
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
                Err(error) => vec![Err(error.into())],
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
            WorkflowError::from(DurableError::NoJournal {
                run_id: "*".to_owned(),
            })
        })?;
        let runs = durable
            .journal
            .list_runs(&RunFilter::unfinished())
            .await
            .map_err(|error| WorkflowError::from(DurableError::journal("*".to_owned(), error)))?;
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
