//! What a call can reach: its run's [`Context`] (the ONEX container), and through it the
//! [`Runtime`] handle and the services its runs share.

mod services;

pub use services::Runtime;
pub(crate) use services::Services;

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
        }
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

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}
