//! Which step call is running on this task or thread: what
//! [`Context::idempotency_key`](crate::Context::idempotency_key) is made of.
//!
//! A node gets its run's [`Context`], shared by all the run's calls; the call itself is
//! known only to the executor. So the executor sets it around each call of a durable run
//! in a task-local (a future's poll or a synchronous call), and the key reads it. A run
//! that is not durable pays one check of its context per call.

use std::future::Future;

use futures_util::future::Either;

use crate::context::Context;
use crate::journal::StepKey;
use crate::model::StepSpec;

tokio::task_local! {
    static CALL: StepKey;
}

/// The call running here, if it belongs to a durable run.
pub(crate) fn current() -> Option<StepKey> {
    CALL.try_with(StepKey::clone).ok()
}

/// The journal's key of call `item` of `step`.
pub(crate) fn step_key(step: usize, item: usize, spec: &StepSpec) -> StepKey {
    let key = StepKey::new(index(step), spec.name.clone().into_owned());
    if spec.map { key.item(index(item)) } else { key }
}

/// An index as the journal stores it; workflows and `map` lists never come near `u32::MAX`.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Runs `f`, a synchronous call of `step`, with the call set for its context's key.
pub(crate) fn sync_scope<R>(
    ctx: &Context,
    step: usize,
    item: usize,
    spec: &StepSpec,
    f: impl FnOnce() -> R,
) -> R {
    if ctx.run_id().is_none() {
        return f();
    }
    CALL.sync_scope(step_key(step, item, spec), f)
}

/// `fut`, an asynchronous call of `step`, with the call set for its context's key while it
/// is polled.
pub(crate) fn scope<F: Future>(
    ctx: &Context,
    step: usize,
    item: usize,
    spec: &StepSpec,
    fut: F,
) -> impl Future<Output = F::Output> {
    if ctx.run_id().is_none() {
        return Either::Left(fut);
    }
    Either::Right(CALL.scope(step_key(step, item, spec), fut))
}
