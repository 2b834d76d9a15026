//! Panic containment: a node that panics fails its call with a clear error instead of
//! taking the run, the runtime or other runs down.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use futures_util::FutureExt;

use crate::model::{ErrorCode, NodeError};

/// Runs `f`, turning a panic into a permanent [`ErrorCode::Panicked`] error naming `step`.
///
/// What the executors wrap every call in; code that calls nodes outside a run (a worker
/// running delivered thunks) does the same.
///
/// # Examples
///
/// ```
/// use onex::policy::contain;
/// use onex::{ErrorCode, NodeError};
///
/// assert_eq!(contain("double", || Ok::<_, NodeError>(42)).unwrap(), 42);
/// let e = contain::<u8>("boom", || panic!("no")).unwrap_err();
/// assert_eq!(e.code(), ErrorCode::Panicked);
/// assert!(e.to_string().contains("step `boom` panicked: no"));
/// ```
pub fn contain<T>(step: &str, f: impl FnOnce() -> Result<T, NodeError>) -> Result<T, NodeError> {
    // The call's state is either fully written to its slot or not at all, so observing it
    // after a panic is sound.
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panicked(step, payload)))
}

/// Awaits `fut`, turning a panic while polling it into an error naming `step`, as
/// [`contain`] does for a synchronous call.
///
/// # Examples
///
/// ```
/// use onex::policy::contain_async;
/// use onex::{ErrorCode, NodeError};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let fut = async { panic!("mid-flight") };
/// let e = contain_async::<u8>("fetch", fut).await.unwrap_err();
/// assert_eq!(e.code(), ErrorCode::Panicked);
/// # }
/// ```
pub async fn contain_async<T>(
    step: &str,
    fut: impl Future<Output = Result<T, NodeError>>,
) -> Result<T, NodeError> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .unwrap_or_else(|payload| Err(panicked(step, payload)))
}

/// The error of a step that panicked with `payload`.
pub(crate) fn panicked(step: &str, payload: Box<dyn Any + Send>) -> NodeError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_string());
    NodeError::permanent(format!("step `{step}` panicked: {message}"))
        .with_code(ErrorCode::Panicked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_step_and_message() {
        let r: Result<(), _> = contain("parse", || panic!("bad row {}", 17));
        let e = r.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Panicked);
        assert_eq!(e.message(), "step `parse` panicked: bad row 17");
        assert!(!e.is_transient());
    }
}
