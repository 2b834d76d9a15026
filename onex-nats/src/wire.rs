//! The thunk message: its headers and what a worker reads from them before the payload.

use async_nats::HeaderMap;
use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::{self, message::PublishMessage};
use bytes::Bytes;
use onex_runtime::Thunk;
use uuid::Uuid;

/// The header naming the thunk's node type, so that a payload that is not a thunk can still
/// be reported against its node.
pub const NODE_TYPE_HEADER: &str = "Onex-Node-Type";

/// The W3C trace-context header a worker records on its span of the thunk.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The `metadata` key of a thunk's backoff between retries (a serialized
/// [`Backoff`](onex_runtime::Backoff)); without it the worker's backoff applies.
pub const BACKOFF_KEY: &str = "backoff";

/// The `metadata` key of the workflow name an effect node sees in its context.
pub const WORKFLOW_KEY: &str = "workflow";

/// The `metadata` key of the step's attempt a remote call's thunk is (1 for the first):
/// each attempt of a step is a thunk of its own, see [`RemoteSteps`](crate::RemoteSteps).
pub const ATTEMPT_KEY: &str = "attempt";

/// The message of `thunk`: its JSON, `Nats-Msg-Id` = thunk id, its node type, and
/// `headers` (trace context).
pub(crate) fn message(
    thunk: &Thunk,
    headers: &HeaderMap,
) -> Result<PublishMessage, serde_json::Error> {
    let payload = Bytes::from(serde_json::to_vec(thunk)?);
    let mut headers = headers.clone();
    headers.insert(NODE_TYPE_HEADER, thunk.target_node_type.as_ref());
    Ok(PublishMessage::build()
        .payload(payload)
        .headers(headers)
        .message_id(thunk.thunk_id.to_string()))
}

/// What a delivered message says about its thunk before its payload is decoded.
pub(crate) struct Envelope {
    /// From `Nats-Msg-Id`, when it holds a thunk id.
    pub(crate) thunk_id: Option<Uuid>,
    /// From the node type header, else the subject's last token.
    pub(crate) node_type: String,
    pub(crate) traceparent: Option<String>,
}

impl Envelope {
    pub(crate) fn of(message: &jetstream::Message) -> Self {
        Envelope::read(message.subject.as_str(), message.headers.as_ref())
    }

    pub(crate) fn read(subject: &str, headers: Option<&HeaderMap>) -> Self {
        let header = |name: &str| {
            headers
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_string())
        };
        let node_type = header(NODE_TYPE_HEADER)
            .unwrap_or_else(|| subject.rsplit('.').next().unwrap_or(subject).to_string());
        Envelope {
            thunk_id: header(NATS_MESSAGE_ID.as_ref()).and_then(|id| id.parse().ok()),
            node_type,
            traceparent: header(TRACEPARENT_HEADER),
        }
    }

    /// `thunk <id> of node `<type>``, or `a message of node `<type>`` without an id.
    pub(crate) fn describe(&self) -> String {
        match self.thunk_id {
            Some(id) => format!("thunk {id} of node `{}`", self.node_type),
            None => format!("a message without a thunk id for node `{}`", self.node_type),
        }
    }
}

/// `thunk <id> of node `<type>``.
pub(crate) fn describe(thunk: &Thunk) -> String {
    format!(
        "thunk {} of node `{}`",
        thunk.thunk_id, thunk.target_node_type
    )
}
