//! [`NatsTrigger`]: the events of a JetStream subject, as the source of
//! [`Runtime::serve`](onex_runtime::Runtime::serve).

use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures_util::{Stream, StreamExt};
use onex_runtime::Event;
use serde::de::DeserializeOwned;

use crate::Error;

/// Events published on a subject, read through a JetStream durable consumer, for
/// [`Runtime::serve`](onex_runtime::Runtime::serve) / `Wf::serve`.
///
/// - The event's id (the run id) is the message's `Nats-Msg-Id` header, else its stream
///   sequence; its input is the payload as JSON. A payload that does not decode is
///   terminated (never redelivered) and logged, naming the subject and the sequence.
/// - A message is acked once its run's start is committed in the journal. A crash before
///   the ack redelivers the message after the consumer's ack wait: it starts the run, or
///   attaches to it if the start had committed. A crash after the ack leaves the run in
///   the journal for `Runtime::recover` / `resume`.
/// - At most `max_in_flight` messages are fetched ahead of `serve`, which pulls one only
///   when a run slot is free.
///
/// # Examples
///
/// ```no_run
/// use onex_nats::NatsTrigger;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let client = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
/// let events = NatsTrigger::subject("orders.created")
///     .events::<u32>(client)
///     .await
///     .unwrap();
/// // Orders::serve(&rt, events, RunOptions::new(), shutdown).await
/// # drop(events);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct NatsTrigger {
    subject: String,
    stream: String,
    durable: String,
    max_in_flight: usize,
}

impl NatsTrigger {
    /// The events of `subject`: stream `ONEX_EVENTS_<subject>` (created if missing, its
    /// name with `.`, `*` and `>` replaced by `_`), durable consumer `onex-serve`.
    ///
    /// ```
    /// let trigger = onex_nats::NatsTrigger::subject("orders.created");
    /// assert_eq!(trigger.stream_name(), "ONEX_EVENTS_orders_created");
    /// ```
    pub fn subject(subject: impl Into<String>) -> Self {
        let subject = subject.into();
        let stream = format!("ONEX_EVENTS_{}", subject.replace(['.', '*', '>'], "_"));
        NatsTrigger {
            subject,
            stream,
            durable: "onex-serve".to_owned(),
            max_in_flight: 16,
        }
    }

    /// Reads the events of stream `name` (created on the subject if missing).
    ///
    /// ```
    /// let trigger = onex_nats::NatsTrigger::subject("orders.created").stream("ORDERS");
    /// assert_eq!(trigger.stream_name(), "ORDERS");
    /// ```
    pub fn stream(mut self, name: impl Into<String>) -> Self {
        self.stream = name.into();
        self
    }

    /// The durable consumer's name: orchestrators sharing it share the events.
    ///
    /// ```
    /// let trigger = onex_nats::NatsTrigger::subject("orders.created").durable("billing");
    /// # drop(trigger);
    /// ```
    pub fn durable(mut self, name: impl Into<String>) -> Self {
        self.durable = name.into();
        self
    }

    /// How many messages are fetched ahead of `serve` at most (16 unless set).
    ///
    /// ```
    /// let trigger = onex_nats::NatsTrigger::subject("orders.created").max_in_flight(4);
    /// # drop(trigger);
    /// ```
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// The stream's name.
    ///
    /// ```
    /// assert_eq!(onex_nats::NatsTrigger::subject("a.b").stream_name(), "ONEX_EVENTS_a_b");
    /// ```
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    /// The events, decoded as `I`, once the stream and the consumer exist.
    ///
    /// # Errors
    ///
    /// An [`Error`] when the stream or the consumer cannot be found or created, or the
    /// subscription fails.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let client = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
    /// let events = onex_nats::NatsTrigger::subject("orders.created")
    ///     .events::<serde_json::Value>(client)
    ///     .await
    ///     .unwrap();
    /// # drop(events);
    /// # }
    /// ```
    pub async fn events<I: DeserializeOwned + Send + 'static>(
        self,
        client: async_nats::Client,
    ) -> Result<impl Stream<Item = Event<I>> + Send + 'static, Error> {
        let js = jetstream::new(client);
        let stream = js
            .get_or_create_stream(jetstream::stream::Config {
                name: self.stream.clone(),
                subjects: vec![self.subject.clone()],
                ..Default::default()
            })
            .await
            .map_err(|e| Error::new(format!("creating stream `{}`", self.stream), e))?;
        let consumer = stream
            .get_or_create_consumer(
                &self.durable,
                pull::Config {
                    durable_name: Some(self.durable.clone()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| Error::new(format!("creating consumer `{}`", self.durable), e))?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(self.max_in_flight)
            .messages()
            .await
            .map_err(|e| Error::new(format!("pulling from `{}`", self.stream), e))?;
        let subject = self.subject;
        Ok(messages.filter_map(move |message| {
            let event = match message {
                Ok(message) => event(&subject, message),
                Err(e) => {
                    tracing::warn!(subject = %subject, error = %e, "pulling an event failed");
                    None
                }
            };
            std::future::ready(event)
        }))
    }
}

/// The event of `message`, acked when its run has started; `None` (the message
/// terminated) when its payload is not an `I`.
fn event<I: DeserializeOwned>(subject: &str, message: jetstream::Message) -> Option<Event<I>> {
    let sequence = message.info().map(|info| info.stream_sequence).ok();
    let id = message
        .headers
        .as_ref()
        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
        .map(|id| id.to_string())
        .or_else(|| sequence.map(|s| s.to_string()));
    let input = serde_json::from_slice::<I>(&message.payload);
    match (id, input) {
        (Some(id), Ok(input)) => Some(Event::new(id, input).on_started(move || {
            tokio::spawn(async move {
                if let Err(e) = message.ack().await {
                    tracing::warn!(error = %e, "acking an event failed; it will be delivered again");
                }
            });
        })),
        (id, input) => {
            let why = match input {
                Err(e) => e.to_string(),
                Ok(_) => "no id".to_owned(),
            };
            tracing::error!(subject, ?id, ?sequence, %why, "an event that does not decode is dropped");
            tokio::spawn(async move {
                let _ = message.ack_with(AckKind::Term).await;
            });
            None
        }
    }
}
