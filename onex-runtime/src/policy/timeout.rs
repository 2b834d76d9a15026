//! Timeout: the deadline of one attempt (see the [policy docs](super#timeouts) for what it
//! does to synchronous and asynchronous attempts).

use std::future::Future;
use std::time::Duration;

use crate::model::NodeError;

/// Awaits `attempt`, failing with [`ErrorCode::Timeout`](crate::ErrorCode::Timeout) when
/// `limit` passes first. The attempt is dropped at the deadline, which cancels it at the
/// `.await` it is suspended at. (A synchronous attempt cannot be dropped mid-call: it is
/// abandoned instead, see `exec::off_thread`.)
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
