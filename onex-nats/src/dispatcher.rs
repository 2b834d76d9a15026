//! [`Dispatcher`]: runs thunks on the workers and brings their results back.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishErrorKind, publish::PublishAck};
use onex_runtime::{ErrorCode, NodeError, Thunk};
use serde_json::Value;
use tokio::time::Instant;
use uuid::Uuid;

use crate::background::Background;
use crate::error::Error;
use crate::layout::Layout;
use crate::results::{Results, ThunkResult, unavailable};
use crate::waiters::{self, Waiters};
use crate::wire;

/// The client side of remote steps: publishes a thunk to the work queue and waits for the
/// result a worker writes. Cheap to clone; clones share one watch of the results.
///
/// A call publishes with `Nats-Msg-Id` = thunk id, so publishing a thunk again (a retried
/// publish, a second call) is deduplicated by the server and the calls share the one
/// result. A publish that fails while the server is unreachable is tried again until the
/// call's deadline.
///
/// # Examples
///
/// ```no_run
/// use onex_nats::Dispatcher;
/// use onex_runtime::{Thunk, ThunkType};
/// use serde_json::json;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
/// let dispatcher = Dispatcher::new(client).await?;
/// let mut thunk = Thunk::new(ThunkType::Compute, "NodeDoubler");
/// thunk.operation_data = json!(21);
/// assert_eq!(dispatcher.call(thunk).await?, json!(42));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
    timeout: Duration,
}

struct Inner {
    js: jetstream::Context,
    layout: Layout,
    results: Results,
    waiters: Arc<Waiters>,
    _follower: Background,
}

impl Dispatcher {
    /// How long a call waits for its result unless told otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

    /// A dispatcher on the default [`Layout`].
    ///
    /// # Errors
    ///
    /// Creating the stream, the results bucket or the object store failed, or watching the
    /// results did.
    pub async fn new(client: async_nats::Client) -> Result<Self, Error> {
        Dispatcher::with_layout(client, Layout::default()).await
    }

    /// A dispatcher on `layout` (the one its workers use).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub async fn with_layout(client: async_nats::Client, layout: Layout) -> Result<Self, Error> {
        let js = jetstream::new(client);
        let bound = layout.bind(&js).await?;
        let kv = bound.results.kv().clone();
        // Made before anything is published: a watch sees only later writes.
        let watch = kv.watch_all().await.map_err(|e| {
            Error::new(
                format!("watching KV bucket `{}`", layout.results_bucket()),
                e,
            )
        })?;
        let waiters = Arc::new(Waiters::default());
        let follower = Background::spawn(waiters::follow(kv, watch, Arc::clone(&waiters)));
        Ok(Dispatcher {
            inner: Arc::new(Inner {
                js,
                layout,
                results: bound.results,
                waiters,
                _follower: follower,
            }),
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// The same dispatcher waiting at most `limit` for each result.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// The layout it publishes on.
    pub fn layout(&self) -> &Layout {
        &self.inner.layout
    }

    /// Runs `thunk` on a worker: its `operation_data` is the node's input; the node's
    /// output or error comes back.
    ///
    /// # Errors
    ///
    /// The node's error; or, with the thunk and node named, a transient
    /// `ResourceUnavailable` error when it could not be published before the deadline, a
    /// `Timeout` error when no result came in time, a permanent `InvalidInput` error when
    /// it is too large to publish.
    pub async fn call(&self, thunk: Thunk) -> Result<Value, NodeError> {
        self.dispatch(thunk, &HeaderMap::new()).await?.outcome
    }

    /// [`call`](Self::call) with message headers (trace context: `traceparent`), returning
    /// the whole result: which worker settled it, on which delivery.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), except the node's own error, which is the result's outcome.
    ///
    /// ```no_run
    /// # async fn demo(dispatcher: onex_nats::Dispatcher, thunk: onex_runtime::Thunk) {
    /// let mut headers = async_nats::HeaderMap::new();
    /// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    /// let result = dispatcher.dispatch(thunk, &headers).await.unwrap();
    /// println!("{} ran it on delivery {}", result.worker, result.attempt);
    /// # }
    /// ```
    pub async fn dispatch(
        &self,
        thunk: Thunk,
        headers: &HeaderMap,
    ) -> Result<ThunkResult, NodeError> {
        let deadline = Instant::now() + self.timeout;
        let inner = &*self.inner;
        let mut waiting = inner.waiters.wait(thunk.thunk_id);
        // Past the duplicate window the server no longer knows the id: a result may be
        // there already, and the watch would not show it again.
        let stale = SystemTime::now()
            .duration_since(thunk.created_at)
            .is_ok_and(|age| age >= inner.layout.duplicate_window);
        if stale && let Some(result) = inner.results.get(thunk.thunk_id).await? {
            return Ok(result);
        }
        let ack = self.publish(&thunk, headers, deadline).await?;
        if ack.duplicate
            && let Some(result) = inner.results.get(thunk.thunk_id).await?
        {
            return Ok(result);
        }
        match tokio::time::timeout_at(deadline, &mut waiting.rx).await {
            Ok(Ok(bytes)) => inner.results.read(thunk.thunk_id, &bytes).await,
            Ok(Err(_)) => Err(NodeError::permanent(format!(
                "the results watch of the dispatcher ended while {} waited",
                wire::describe(&thunk)
            ))
            .with_code(ErrorCode::Internal)),
            Err(_) => Err(NodeError::new(
                ErrorCode::Timeout,
                format!(
                    "no result for {} within {:?}: is a worker running on stream `{}`?",
                    wire::describe(&thunk),
                    self.timeout,
                    inner.layout.stream_name()
                ),
            )),
        }
    }

    /// The result of a thunk, if a worker wrote one: how a caller that restarted picks up
    /// the thunks it had published.
    ///
    /// # Errors
    ///
    /// A transient `ResourceUnavailable` error when the bucket cannot be read.
    pub async fn result(&self, thunk_id: Uuid) -> Result<Option<ThunkResult>, NodeError> {
        self.inner.results.get(thunk_id).await
    }

    /// Publishes until the server acks or the deadline passes.
    async fn publish(
        &self,
        thunk: &Thunk,
        headers: &HeaderMap,
        deadline: Instant,
    ) -> Result<PublishAck, NodeError> {
        let inner = &*self.inner;
        let subject = inner.layout.subject(&thunk.target_node_type);
        let message = wire::message(thunk, headers).map_err(|e| {
            NodeError::permanent(format!(
                "{} cannot be serialized: {e}",
                wire::describe(thunk)
            ))
            .with_code(ErrorCode::InvalidInput)
        })?;
        let mut pause = Duration::from_millis(20);
        loop {
            let sent = async {
                inner
                    .js
                    .send_publish(subject.clone(), message.clone())
                    .await?
                    .await
            };
            let e = match sent.await {
                Ok(ack) => return Ok(ack),
                Err(e) => e,
            };
            if e.kind() == PublishErrorKind::MaxPayloadExceeded {
                return Err(NodeError::permanent(format!(
                    "{} is too large to publish: {e}",
                    wire::describe(thunk)
                ))
                .with_code(ErrorCode::InvalidInput));
            }
            if Instant::now() + pause >= deadline {
                return Err(unavailable(format!(
                    "could not publish {} to `{subject}`: {e}",
                    wire::describe(thunk)
                )));
            }
            tracing::debug!(thunk_id = %thunk.thunk_id, error = %e, "publish failed; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}
