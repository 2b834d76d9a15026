//! [`Runtime::resolve`]: an operator settles a call left in doubt.

use crate::context::Runtime;
use crate::journal::{JournalError, Resolution, StepConflict, StepKey, Write};
use crate::model::DurableError;
use crate::model::WorkflowError;

impl Runtime {
    /// Settles the calls of step `step` (by name) of run `run_id` that are in doubt — an
    /// intent journaled, no outcome: the process died during the call — as an operator
    /// decides after checking the outside world: [`Resolution::Done`] with the output the
    /// call produced (serialized as JSON), [`Resolution::Retry`] (it did not happen: call
    /// it again), or [`Resolution::Abort`] (fail it; the run fails and compensates under
    /// that strategy). A compensation in doubt is settled the same way. Then
    /// [`resume`](Runtime::resume) the run.
    ///
    /// The runtime takes the run's lease for the write, so it cannot race a live executor.
    ///
    /// # Errors
    ///
    /// [`WorkflowError::Durable`]: no journal, the run is unknown or leased by a live
    /// process, or no call of `step` is in doubt.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::journal::{MemoryJournal, Resolution};
    /// use onex::Runtime;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let rt = Runtime::builder().journal(MemoryJournal::new()).build();
    /// let err = rt.resolve("order-42", "charge", Resolution::Retry).await.unwrap_err();
    /// assert_eq!(err.to_string(), "durable run `order-42`: no run `order-42` in the journal");
    /// # }
    /// ```
    pub async fn resolve(
        &self,
        run_id: &str,
        step: &str,
        resolution: Resolution,
    ) -> Result<(), WorkflowError> {
        let failed = |error: JournalError| {
            WorkflowError::from(DurableError::journal(run_id.to_owned(), error))
        };
        let durable = self.inner.durable.as_ref().ok_or_else(|| {
            WorkflowError::from(DurableError::NoJournal {
                run_id: run_id.to_owned(),
            })
        })?;
        let journal = durable.journal.as_ref();
        let run = super::start::load(journal, run_id).await?;
        let lease = journal
            .acquire_lease(run_id, &durable.holder, durable.ttl)
            .await
            .map_err(failed)?;
        let writes: Vec<Write> = run
            .steps
            .iter()
            .filter(|e| &*e.step.name == step)
            .filter(|e| e.is_in_doubt() || e.is_compensation_in_doubt())
            .map(|e| Write::resolve(e.step.clone(), resolution.clone()))
            .collect();
        let result = if writes.is_empty() {
            Err(JournalError::Step {
                run_id: run_id.to_owned(),
                step: StepKey::new(
                    run.steps
                        .iter()
                        .find(|e| &*e.step.name == step)
                        .map_or(0, |e| e.step.index),
                    step,
                ),
                change: "resolution",
                conflict: StepConflict::NotInDoubt,
            })
        } else {
            journal.write(&lease, writes).await
        };
        let released = journal.release_lease(&lease).await;
        result.and(released).map_err(failed)
    }
}
