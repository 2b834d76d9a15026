//! [`Puller`]: a worker's pull subscription on the consumer. It asks for as many thunks as
//! the worker has free slots, so none waits in a buffer while its ack wait runs, and it ends
//! without stranding a thunk on its way to the worker.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::consumer::pull::BatchConfig;
use async_nats::jetstream::{self, Message};
use async_nats::{StatusCode, Subject, Subscriber};
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::error::Error;

/// How long the server keeps a pull request waiting for thunks.
const EXPIRES: Duration = Duration::from_secs(5);

/// How long past its expiry a request the server never closed is still counted: after a
/// reconnect or a server restart the server has forgotten it.
const GRACE: Duration = Duration::from_secs(1);

/// A pull request the server may still answer.
struct Request {
    expires_at: Instant,
    remaining: usize,
}

/// Pulls thunks for one worker on an inbox of its own, one pull request at a time (the
/// server caps the waiting requests of a consumer across all its workers: `max_waiting`,
/// 512 by default).
pub(crate) struct Puller {
    client: async_nats::Client,
    consumer: PullConsumer,
    context: jetstream::Context,
    inbox: Subject,
    delivered: Subscriber,
    /// The one open pull request: with one at a time, every thunk and every end the server
    /// reports belongs to it, so the count of what is owed stays exact.
    request: Option<Request>,
    connects: u64,
}

/// Why the puller could not deliver a thunk.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PullError {
    /// A pull request could not be sent (the server is away).
    #[error("cannot request thunks: {0}")]
    Request(async_nats::Error),
    /// The consumer is gone; find or create it again.
    #[error("the consumer was deleted")]
    ConsumerDeleted,
    /// The client was closed.
    #[error("the connection is closed")]
    Closed,
}

impl Puller {
    pub(crate) async fn new(
        client: &async_nats::Client,
        context: &jetstream::Context,
        consumer: PullConsumer,
    ) -> Result<Self, Error> {
        let inbox = Subject::from(client.new_inbox());
        let delivered = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| Error::new("subscribing to the workers' inbox", e))?;
        Ok(Puller {
            client: client.clone(),
            consumer,
            context: context.clone(),
            inbox,
            delivered,
            request: None,
            connects: client.statistics().connects.load(Ordering::Relaxed),
        })
    }

    /// Pulls from `consumer` from now on (found or created again after it was deleted).
    pub(crate) fn set_consumer(&mut self, consumer: PullConsumer) {
        self.consumer = consumer;
        self.request = None;
    }

    /// The next thunk message, keeping `free` of them requested (the worker's free slots,
    /// counting the one this message takes).
    pub(crate) async fn next(&mut self, free: usize) -> Result<Message, PullError> {
        loop {
            self.forget_lost_request();
            self.request(free).await?;
            let wake = self
                .request
                .as_ref()
                .map_or(Instant::now() + EXPIRES, |r| r.expires_at + GRACE);
            let message = tokio::select! {
                message = self.delivered.next() => message.ok_or(PullError::Closed)?,
                () = tokio::time::sleep_until(wake) => continue,
            };
            match message.status {
                None | Some(StatusCode::OK) => {
                    self.count_delivery();
                    return Ok(Message {
                        message,
                        context: self.context.clone(),
                    });
                }
                Some(StatusCode::IDLE_HEARTBEAT) => {}
                // 408: a request expired; 409: the server ended one (too many waiting,
                // a leader change, the consumer deleted).
                Some(status) => {
                    self.request = None;
                    if message.description.as_deref() == Some("Consumer Deleted") {
                        return Err(PullError::ConsumerDeleted);
                    }
                    if status != StatusCode::TIMEOUT {
                        tracing::debug!(%status, description = ?message.description, "pull request ended");
                    }
                }
            }
        }
    }

    /// Asks for what `free` slots can take, unless a request is open: its thunks come first.
    async fn request(&mut self, free: usize) -> Result<(), PullError> {
        if self.request.is_some() {
            return Ok(());
        }
        let config = BatchConfig {
            batch: free,
            expires: Some(EXPIRES),
            ..Default::default()
        };
        self.consumer
            .request_batch(config, self.inbox.clone())
            .await
            .map_err(|e| PullError::Request(e.into()))?;
        self.request = Some(Request {
            expires_at: Instant::now() + EXPIRES,
            remaining: free,
        });
        Ok(())
    }

    /// Forgets a request the server cannot answer any more: after a reconnect, or well past
    /// its expiry without the server saying so.
    fn forget_lost_request(&mut self) {
        let connects = self.client.statistics().connects.load(Ordering::Relaxed);
        if connects != self.connects {
            self.connects = connects;
            self.request = None;
        }
        let now = Instant::now();
        if self
            .request
            .as_ref()
            .is_some_and(|r| r.expires_at + GRACE <= now)
        {
            self.request = None;
        }
    }

    /// A thunk arrived: one less is owed.
    fn count_delivery(&mut self) {
        if let Some(request) = &mut self.request {
            request.remaining = request.remaining.saturating_sub(1);
            if request.remaining == 0 {
                self.request = None;
            }
        }
    }

    /// Stops pulling: unsubscribes, and returns the thunks already on their way here, for
    /// the caller to hand back. After the unsubscription the server sends no more, so a
    /// thunk handed back cannot return to this worker.
    pub(crate) async fn drain(mut self) -> Vec<Message> {
        let mut arrived = Vec::new();
        if self.delivered.drain().await.is_err() {
            return arrived;
        }
        // The subscription ends once the server has confirmed the unsubscription; a lost
        // connection bounds the wait.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(message) = self.delivered.next().await {
                if matches!(message.status, None | Some(StatusCode::OK)) {
                    arrived.push(Message {
                        message,
                        context: self.context.clone(),
                    });
                }
            }
        })
        .await;
        arrived
    }
}
