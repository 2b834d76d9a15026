//! Thunks lost on their last delivery: the worker holding it stopped, or held it past the
//! ack wait, and the server will not deliver it again. The server says so in an advisory;
//! one worker settles the thunk with an error, so whoever waits for it hears of it.

use async_nats::jetstream::stream::Stream;
use futures_util::StreamExt;
use onex_runtime::{ErrorCode, NodeError};
use serde::Deserialize;

use async_nats::Subscriber;

use crate::error::Error;
use crate::results::{Results, ThunkResult};
use crate::wire::Envelope;
use crate::worker::write_result;

/// The server's `io.nats.jetstream.advisory.v1.max_deliver` advisory.
#[derive(Deserialize)]
struct MaxDeliveries {
    stream_seq: u64,
    deliveries: u32,
}

/// Subscribes to the advisories of the workers' consumer giving up on a thunk. The workers
/// subscribe as one queue group, so one of them handles each advisory.
pub(crate) async fn subscribe(
    client: &async_nats::Client,
    stream: &Stream,
    consumer: &str,
) -> Result<Subscriber, Error> {
    let subject = format!(
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{consumer}",
        stream.cached_info().config.name
    );
    client
        .queue_subscribe(subject.clone(), consumer.to_string())
        .await
        .map_err(|e| Error::new(format!("subscribing to `{subject}`"), e))
}

/// Settles every thunk an advisory reports, until the task is aborted.
pub(crate) async fn settle_lost(
    mut advisories: Subscriber,
    stream: Stream,
    results: Results,
    worker: String,
) {
    while let Some(advisory) = advisories.next().await {
        let Ok(lost) = serde_json::from_slice::<MaxDeliveries>(&advisory.payload) else {
            continue;
        };
        // Gone: settled after all.
        let Ok(message) = stream.get_raw_message(lost.stream_seq).await else {
            continue;
        };
        let envelope = Envelope::read(message.subject.as_str(), Some(&message.headers));
        let thunk_id = envelope.thunk_id.or_else(|| {
            serde_json::from_slice::<onex_runtime::Thunk>(&message.payload)
                .ok()
                .map(|t| t.thunk_id)
        });
        if let Some(thunk_id) = thunk_id {
            let error = NodeError::permanent(format!(
                "{} was delivered {} times and never settled: the worker of its last \
                 delivery stopped or held it past the ack wait; worker `{worker}` gave up on it",
                envelope.describe(),
                lost.deliveries
            ))
            .with_code(ErrorCode::ResourceUnavailable);
            tracing::error!(error = %error, "lost thunk");
            let result = ThunkResult {
                thunk_id,
                node_type: envelope.node_type.clone(),
                worker: worker.clone(),
                attempt: lost.deliveries,
                outcome: Err(error),
                span: None,
            };
            if write_result(&results, &result).await.is_err() {
                continue;
            }
        }
        let _ = stream.delete_message(lost.stream_seq).await;
    }
}
