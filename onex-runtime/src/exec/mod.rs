//! The executors: sequential, parallel waves, and rayon batches.

use std::sync::Arc;

use crate::error::WorkflowError;
use crate::options::RunOptions;
use crate::program::Program;
use crate::report::WorkflowRun;
use crate::runtime::Runtime;

impl Runtime {
    /// Runs `program` on `input`.
    ///
    /// Waits for a slot when `max_concurrent_workflows` runs are already executing.
    /// Dropping the returned future cancels the run's in-flight steps.
    ///
    /// # Errors
    ///
    /// A [`WorkflowError`] carrying the report when the output step did not complete.
    pub async fn run<P: Program>(
        &self,
        program: Arc<P>,
        input: P::Input,
        options: RunOptions,
    ) -> Result<WorkflowRun<P::Output>, WorkflowError> {
        let _ = (program, input, options);
        todo!()
    }

    /// Runs `program` once per input, all inputs advancing wave by wave together so that N
    /// inputs of one synchronous step are one rayon job. Results come in input order.
    pub async fn run_batch<P: Program>(
        &self,
        program: Arc<P>,
        inputs: Vec<P::Input>,
        options: RunOptions,
    ) -> Vec<Result<WorkflowRun<P::Output>, WorkflowError>> {
        let _ = (program, inputs, options);
        todo!()
    }
}

/// Runs a nested workflow as one step of an enclosing run: same runtime, no extra run slot
/// (the enclosing run holds one), cancelled with the enclosing run. Used by the code
/// `workflow!` generates for a workflow used as a node.
///
/// # Errors
///
/// The nested run's failure, as a [`NodeError`](crate::NodeError).
#[doc(hidden)]
pub async fn run_nested<P: Program>(
    ctx: &crate::Context,
    program: Arc<P>,
    input: P::Input,
) -> Result<P::Output, crate::NodeError> {
    let _ = (ctx, program, input);
    todo!()
}
