//! Timeout: the deadline of one attempt.

use std::future::Future;
use std::time::Duration;

use crate::error::NodeError;

/// Awaits `attempt`, failing with [`ErrorCode::Timeout`](crate::ErrorCode::Timeout) when
/// `limit` passes first. Dropping the attempt at the deadline cancels it; for a synchronous
/// call running on another thread, only the wait is cancelled and its late result is
/// discarded by the caller.
pub(crate) async fn within<T>(
    limit: Option<Duration>,
    attempt: impl Future<Output = Result<T, NodeError>>,
) -> Result<T, NodeError> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or_else(|_| Err(NodeError::timeout(limit))),
        None => attempt.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[tokio::test(start_paused = true)]
    async fn an_attempt_past_its_deadline_fails_with_timeout() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Ok(())
        };
        let e = within(Some(Duration::from_secs(1)), slow)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Timeout);
        assert!(within(None, async { Ok::<_, NodeError>(1) }).await.is_ok());
    }
}
