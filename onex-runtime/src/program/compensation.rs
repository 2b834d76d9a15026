//! Calling a compensation that may be a sync or an async fn.
//!
//! `#[node(effect, compensate = undo)]` names `undo` by path only, so the macro cannot see
//! whether it is `async`. Autoref specialization picks at the call site: a future is awaited,
//! a `Result<(), NodeError>` is used as is.

use std::cell::Cell;
use std::future::Future;

use crate::model::NodeError;
use crate::program::StepFuture;

/// What a compensation returned, taken out once by [`CompensateAsync::take_step_future`]
/// or [`CompensateSync::take_step_future`].
pub struct Compensation<T>(pub Cell<Option<T>>);

impl<T> Compensation<T> {
    /// Wraps a compensation's return value.
    pub fn new(value: T) -> Self {
        Compensation(Cell::new(Some(value)))
    }
}

/// Chosen when the compensation is an `async fn`.
pub trait CompensateAsync<'a> {
    /// The compensation as a step future.
    fn take_step_future(&self) -> StepFuture<'a>;
}

impl<'a, F> CompensateAsync<'a> for &Compensation<F>
where
    F: Future<Output = Result<(), NodeError>> + Send + 'a,
{
    fn take_step_future(&self) -> StepFuture<'a> {
        match self.0.take() {
            Some(future) => Box::pin(future),
            None => Box::pin(std::future::ready(Err(NodeError::internal(
                "a compensation was resumed twice",
            )))),
        }
    }
}

/// Chosen when the compensation is a plain fn returning `Result<(), NodeError>`.
pub trait CompensateSync<'a> {
    /// The compensation's result as a ready step future.
    fn take_step_future(&self) -> StepFuture<'a>;
}

impl<'a> CompensateSync<'a> for &&Compensation<Result<(), NodeError>> {
    fn take_step_future(&self) -> StepFuture<'a> {
        let result = self
            .0
            .take()
            .unwrap_or_else(|| Err(NodeError::internal("a compensation was resumed twice")));
        Box::pin(std::future::ready(result))
    }
}
