//! A workflow run as one step of another.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::future::NestedFuture;
use crate::context::Context;
use crate::model::{NodeError, RunOptions};
use crate::program::Program;
use crate::program::erased::{AnyInput, AnyOutput, Erased};

/// Runs a nested workflow as one step of an enclosing run: same runtime, no extra run slot
/// (the enclosing run holds one), the enclosing run's mode and correlation id, cancelled
/// with the enclosing run. Used by the code `workflow!` generates for a workflow used as a
/// node, with its input cloned from the step's arguments ([`nested_input`]); a missing
/// argument fails the step without a run.
///
/// [`nested_input`]: crate::__private::nested_input
///
/// # Errors
///
/// The future's: the missing argument, or the nested run's failure as a [`NodeError`]
/// naming the nested workflow.
#[doc(hidden)]
pub fn run_nested<P: Program>(
    ctx: &Context,
    program: Arc<P>,
    input: Result<P::Input, NodeError>,
) -> NestedFuture<'_, P::Output> {
    NestedFuture::new(input.map(|input| run_nested_any(ctx, Erased::new(program), Box::new(input))))
}

/// [`run_nested`] of an erased program, compiled once, here (see
/// `Runtime::run_batch_any`).
fn run_nested_any(
    ctx: &Context,
    program: Arc<Erased>,
    input: AnyInput,
) -> BoxFuture<'_, Result<AnyOutput, NodeError>> {
    Box::pin(run_nested_erased(ctx, program, input))
}

/// The body of [`run_nested_any`], kept apart so the boxing reads at a glance.
async fn run_nested_erased(
    ctx: &Context,
    program: Arc<Erased>,
    input: AnyInput,
) -> Result<AnyOutput, NodeError> {
    let options = RunOptions::new().records(true);
    let cancel = ctx.cancellation_token().child_token();
    let name = program.graph().name().to_string();
    let result = super::execute(
        ctx.runtime(),
        program,
        vec![input],
        &options,
        cancel,
        Some(ctx),
        None,
    )
    .await
    .pop();
    match result {
        Some(Ok(run)) => Ok(run.output),
        Some(Err(e)) => {
            let code = e.code();
            let transient = e.node_error().is_some_and(NodeError::is_transient);
            let message = format!("nested workflow `{name}` failed: {e}");
            Err(if transient {
                NodeError::transient(message).with_code(code)
            } else {
                NodeError::permanent(message).with_code(code)
            })
        }
        None => Err(NodeError::internal("a nested run produced no result")),
    }
}
