//! The durable workflows linked into the binary ([`DURABLE_WORKFLOWS`]), which
//! [`Runtime::recover`] resumes unfinished runs with, and what it reports ([`Recovered`]).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use linkme::distributed_slice;

use crate::context::Runtime;
use crate::model::{RunOptions, WorkflowError};
use crate::program::Program;

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
