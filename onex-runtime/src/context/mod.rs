//! What a call can reach: its run's [`Context`] (the ONEX container), and through it the
//! [`Runtime`] handle and the services its runs share.

pub(crate) mod call_key;
mod services;

pub use services::Runtime;
pub(crate) use services::{Durable, Services};

use std::any::{Any, type_name};
use std::borrow::Cow;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::model::{ErrorCode, ExecutionMode, NodeError};

/// The run's container: resources registered on the [`Runtime`], the run's ids and its
/// cancellation token. Effect nodes take it as `ctx: &Context`.
///
/// # Examples
///
/// ```
/// use onex::{Context, NodeError, Runtime};
///
/// struct Pool { url: String }
///
/// async fn fetch(ctx: &Context, id: &u64) -> Result<String, NodeError> {
///     let pool = ctx.resource::<Pool>()?;
///     Ok(format!("{}/{id}", pool.url))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rt = Runtime::builder().resource(Pool { url: "db://main".into() }).build();
/// let ctx = Context::detached(&rt, "demo");
/// assert_eq!(fetch(&ctx, &7).await.unwrap(), "db://main/7");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    runtime: Runtime,
    workflow: Cow<'static, str>,
    workflow_id: Uuid,
    operation_id: Uuid,
    /// Shared by every run of a batch: cloning a token takes a lock on its tree, an `Arc`
    /// does not (a batch of a million inputs makes a million contexts).
    cancel: Arc<CancellationToken>,
    mode: ExecutionMode,
    /// The journal's id of a durable run; `None` for a run that is not journaled.
    run_id: Option<Arc<str>>,
}

impl Context {
    pub(crate) fn new(
        runtime: Runtime,
        workflow: Cow<'static, str>,
        workflow_id: Uuid,
        operation_id: Uuid,
        cancel: Arc<CancellationToken>,
        mode: ExecutionMode,
    ) -> Self {
        Context {
            runtime,
            workflow,
            workflow_id,
            operation_id,
            cancel,
            mode,
            run_id: None,
        }
    }

    /// Makes this the context of the durable run `run_id`.
    pub(crate) fn set_run_id(&mut self, run_id: Arc<str>) {
        self.run_id = Some(run_id);
    }

    /// A context outside any run, to call an effect node directly (in unit tests).
    pub fn detached(runtime: &Runtime, workflow: impl Into<Cow<'static, str>>) -> Self {
        Context::new(
            runtime.clone(),
            workflow.into(),
            Uuid::new_v4(),
            Uuid::new_v4(),
            Arc::new(CancellationToken::new()),
            ExecutionMode::Sequential,
        )
    }

    /// The resource of type `T` registered with [`RuntimeBuilder::resource`](crate::RuntimeBuilder::resource).
    ///
    /// # Errors
    ///
    /// A permanent [`ErrorCode::ResourceUnavailable`] error when no such resource was
    /// registered: a configuration mistake that retrying cannot fix.
    pub fn resource<T: Any + Send + Sync>(&self) -> Result<&T, NodeError> {
        self.runtime.inner.resource::<T>().ok_or_else(|| {
            NodeError::permanent(format!(
                "no resource of type `{}` is registered on the runtime",
                type_name::<T>()
            ))
            .with_code(ErrorCode::ResourceUnavailable)
        })
    }

    /// The runtime running this workflow.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The workflow's name.
    pub fn workflow(&self) -> &str {
        &self.workflow
    }

    /// This run's id.
    pub fn workflow_id(&self) -> Uuid {
        self.workflow_id
    }

    /// The correlation id.
    pub fn operation_id(&self) -> Uuid {
        self.operation_id
    }

    /// The run's cancellation token: long effects can watch it (`token.cancelled().await`).
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The run's execution mode.
    pub fn mode(&self) -> ExecutionMode {
        self.mode
    }

    /// The journal's id of this run, when it is durable (the runtime has a
    /// [journal](crate::RuntimeBuilder::journal) and the workflow serializes its input).
    ///
    /// ```
    /// use onex::{Context, Runtime};
    /// assert_eq!(Context::detached(&Runtime::default(), "demo").run_id(), None);
    /// ```
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// A key for external systems (a payment provider's `Idempotency-Key`, a unique
    /// constraint in a ledger), the same across every attempt and every resume of the
    /// current call: the run id, the step's index and, for a `map` step, the element
    /// (see [`StepKey::idempotency_key`](crate::journal::StepKey::idempotency_key)).
    ///
    /// In a run that is not durable the run's `workflow_id` stands for the run id (stable
    /// across attempts, not across processes); outside a call the key is the run's id alone.
    ///
    /// ```
    /// use onex::{Context, Runtime};
    /// let ctx = Context::detached(&Runtime::default(), "demo");
    /// assert_eq!(ctx.idempotency_key(), ctx.workflow_id().to_string());
    /// ```
    pub fn idempotency_key(&self) -> String {
        let run = match &self.run_id {
            Some(id) => id.to_string(),
            None => self.workflow_id.to_string(),
        };
        match crate::context::call_key::current() {
            Some(step) => step.idempotency_key(&run),
            None => run,
        }
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}
