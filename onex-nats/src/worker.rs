//! [`Worker`]: pulls thunks from the work queue, runs them on its registry's nodes and
//! writes their results.
//!
//! Over 500 lines: one delivery's life (pull, decode, attempt, settle with ack, nak or
//! term) read top to bottom; split, each stage would take the same message and state
//! from another file.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::{self, AckKind};
use futures_util::FutureExt;
use onex_runtime::{Backoff, Context, ErrorCode, NodeError, Runtime, Thunk};
use onex_spec::NodeRegistry;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;
use uuid::Uuid;

use crate::background::Background;
use crate::delivery::{Verdict, verdict};
use crate::error::Error;
use crate::layout::Layout;
use crate::lost;
use crate::puller::{PullError, Puller};
use crate::results::{Results, ThunkResult, WorkerSpan, Written};
use crate::wire::{self, BACKOFF_KEY, WORKFLOW_KEY};

/// A worker process's loop: pulls thunks from the shared consumer, runs each on the node
/// its `target_node_type` names in the registry, and writes the result.
///
/// Each delivery is one attempt, under the policies of a local step: the thunk's `timeout`
/// bounds it; a transient error is nak'd with the backoff delay (`metadata.backoff`, or the
/// worker's) so that another delivery retries it while the thunk's `retry_count` lasts; a
/// success or a permanent error is written as the result. A node that runs longer than a
/// third of the ack wait sends in-progress acks. Poison is settled at once with an error
/// naming the thunk, the node and the worker: a payload that is not a thunk, a
/// `metadata.backoff` that is not a backoff. A node type this worker does not know is
/// handed back for a worker that does, and settled with an error on the last delivery.
///
/// Circuit breakers and the output cache stay with the caller: a worker runs what it is
/// given. At most [`concurrency`](Self::concurrency) thunks run at once, and a worker asks
/// the server for no more thunks than it has free slots, so none waits in a worker's
/// buffer while its ack wait runs out. Workers share one
/// durable consumer, so starting more processes (on any machine) adds capacity.
///
/// # Examples
///
/// ```no_run
/// use onex_nats::Worker;
/// use onex_spec::NodeRegistry;
///
/// # #[tokio::main] async fn main() -> Result<(), onex_nats::Error> {
/// let mut registry = NodeRegistry::new();
/// registry.compute_infallible("NodeDoubler", |n: &i64| n * 2);
/// let client = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
/// Worker::new(client, registry)
///     .concurrency(32)
///     .run_until(async { tokio::signal::ctrl_c().await.unwrap() })
///     .await
/// # }
/// ```
pub struct Worker {
    client: async_nats::Client,
    registry: NodeRegistry,
    layout: Layout,
    name: String,
    concurrency: usize,
    runtime: Runtime,
    backoff: Backoff,
}

impl Worker {
    /// The most thunks a worker runs at once unless told otherwise.
    pub const DEFAULT_CONCURRENCY: usize = 32;

    /// A worker running `registry`'s nodes, with the default layout, `host-pid` as its name
    /// and [`DEFAULT_CONCURRENCY`](Self::DEFAULT_CONCURRENCY).
    pub fn new(client: async_nats::Client, registry: NodeRegistry) -> Self {
        Worker {
            client,
            registry,
            layout: Layout::default(),
            name: default_name(),
            concurrency: Self::DEFAULT_CONCURRENCY,
            runtime: Runtime::default(),
            backoff: Backoff::default(),
        }
    }

    /// The same worker on another layout (the one its dispatchers use).
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// The same worker under another name, as written into its results.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The same worker running at most `n` thunks at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The same worker giving effect nodes a context on `runtime` (its resources).
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = runtime;
        self
    }

    /// The same worker with another backoff for thunks that carry none.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The worker's name.
    pub fn worker_name(&self) -> &str {
        &self.name
    }

    /// Runs for as long as the process does: past setup, a lost connection or a failed
    /// pull is retried, not returned.
    ///
    /// # Errors
    ///
    /// Setting up the stream, the results bucket or the consumer failed.
    pub async fn run(self) -> Result<(), Error> {
        self.run_until(std::future::pending()).await
    }

    /// Runs until `shutdown` completes, then stops pulling, finishes the thunks in flight,
    /// hands back the ones pulled but not started, and returns.
    ///
    /// # Errors
    ///
    /// Setting up the stream, the results bucket or the consumer failed.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let js = jetstream::new(self.client.clone());
        let bound = self.layout.bind(&js).await?;
        let consumer = self.layout.consumer(&bound.stream).await?;
        // The consumer's own settings rule: another worker may have created it.
        let config = &consumer.cached_info().config;
        let max_deliver = u32::try_from(config.max_deliver)
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or(u32::MAX);
        let sh = Arc::new(Shared {
            registry: self.registry,
            results: bound.results,
            name: self.name,
            runtime: self.runtime,
            backoff: self.backoff,
            max_deliver,
            progress_every: (config.ack_wait / 3).max(Duration::from_millis(10)),
        });
        let consumer_name = self.layout.consumer_name();
        let advisories = lost::subscribe(&self.client, &bound.stream, &consumer_name).await?;
        let _lost = Background::spawn(lost::settle_lost(
            advisories,
            bound.stream.clone(),
            sh.results.clone(),
            sh.name.clone(),
        ));
        tracing::info!(worker = %sh.name, concurrency = self.concurrency, "worker started");
        let source = Source {
            client: self.client,
            context: js,
            layout: self.layout,
            stream: bound.stream,
            consumer,
        };
        let pulled = pull(&sh, source, self.concurrency, shutdown).await;
        tracing::info!(worker = %sh.name, "worker stopped");
        pulled
    }
}

/// What every delivery's task needs.
struct Shared {
    registry: NodeRegistry,
    results: Results,
    name: String,
    runtime: Runtime,
    backoff: Backoff,
    max_deliver: u32,
    progress_every: Duration,
}

/// Where a worker pulls from.
struct Source {
    client: async_nats::Client,
    context: jetstream::Context,
    layout: Layout,
    stream: jetstream::stream::Stream,
    consumer: PullConsumer,
}

/// Pulls until `shutdown`, one task per delivery, at most `concurrency` at once; then hands
/// back what is on its way and waits for the deliveries in flight.
async fn pull(
    sh: &Arc<Shared>,
    source: Source,
    concurrency: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let mut puller = Puller::new(&source.client, &source.context, source.consumer).await?;
    let shutdown = shutdown.fuse();
    futures_util::pin_mut!(shutdown);
    loop {
        while let Some(done) = tasks.try_join_next() {
            report_panic(done);
        }
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break };
        let free = permits.available_permits() + 1;
        let next = tokio::select! {
            biased;
            () = &mut shutdown => break,
            next = puller.next(free) => next,
        };
        match next {
            Ok(message) => {
                tasks.spawn(deliver(Arc::clone(sh), message, permit));
            }
            Err(PullError::Closed) => break,
            Err(e) => {
                tracing::warn!(worker = %sh.name, error = %e, "pulling thunks failed; retrying");
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                if matches!(e, PullError::ConsumerDeleted)
                    && let Ok(consumer) = source.layout.consumer(&source.stream).await
                {
                    puller.set_consumer(consumer);
                }
            }
        }
    }
    // Thunks on their way here go back to the queue for other workers now, rather than
    // after their ack wait.
    for message in puller.drain().await {
        let _ = message.ack_with(AckKind::Nak(None)).await;
    }
    while let Some(done) = tasks.join_next().await {
        report_panic(done);
    }
    Ok(())
}

fn report_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        tracing::error!(error = %e, "a delivery task panicked");
    }
}

/// One delivery, from message to ack.
async fn deliver(sh: Arc<Shared>, message: jetstream::Message, _permit: OwnedSemaphorePermit) {
    let attempt = message
        .info()
        .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
        .unwrap_or(1);
    let (thunk, backoff) = match decode(&sh, &message) {
        Ok(decoded) => decoded,
        Err(poison) => return settle_poison(&sh, &message, poison, attempt).await,
    };
    if !sh.registry.contains(&thunk.target_node_type) {
        return unknown_node(&sh, &message, &thunk, attempt, &backoff).await;
    }
    // A redelivery may follow a settled attempt whose ack was lost.
    if attempt > 1 && sh.results.exists(thunk.thunk_id).await.unwrap_or(false) {
        let _ = message.ack().await;
        return;
    }
    let traceparent = wire::Envelope::of(&message).traceparent;
    let span = tracing::info_span!(
        "thunk",
        thunk_id = %thunk.thunk_id,
        node_type = %thunk.target_node_type,
        attempt,
        worker = %sh.name,
        traceparent = traceparent.as_deref(),
    );
    // Instrumented, not entered: an entered span's guard must not live across an await
    // (tracing's registry panics on it).
    attempt_and_settle(&sh, &message, &thunk, attempt, &backoff, traceparent)
        .instrument(span)
        .await;
}

/// Runs one attempt, then settles the thunk or hands it back for a retry.
async fn attempt_and_settle(
    sh: &Shared,
    message: &jetstream::Message,
    thunk: &Thunk,
    attempt: u32,
    backoff: &Backoff,
    traceparent: Option<String>,
) {
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let outcome = run_attempt(sh, message, thunk).await;
    let span = WorkerSpan {
        started_at,
        duration: clock.elapsed(),
        traceparent,
    };
    match verdict(outcome, attempt, thunk.retry_count, sh.max_deliver, backoff) {
        Verdict::Retry(delay) => {
            tracing::info!(delay_ms = delay.as_millis() as u64, "retrying thunk");
            let _ = message.ack_with(AckKind::Nak(Some(delay))).await;
        }
        Verdict::Settle(outcome) => {
            let result = ThunkResult {
                thunk_id: thunk.thunk_id,
                node_type: thunk.target_node_type.to_string(),
                worker: sh.name.clone(),
                attempt,
                outcome,
                span: Some(span),
            };
            settle(sh, message, &result, AckKind::Ack).await;
        }
    }
}

/// One attempt of the node, within the thunk's timeout, keeping the message alive with
/// in-progress acks while it runs.
async fn run_attempt(
    sh: &Shared,
    message: &jetstream::Message,
    thunk: &Thunk,
) -> Result<Value, NodeError> {
    let workflow = thunk
        .metadata
        .get(WORKFLOW_KEY)
        .and_then(Value::as_str)
        .unwrap_or("remote")
        .to_string();
    let ctx = Context::detached(&sh.runtime, workflow);
    let input = thunk.operation_data.clone();
    let Some(call) = sh.registry.invoke(&ctx, &thunk.target_node_type, input) else {
        return Err(NodeError::permanent(format!(
            "node type `{}` is not registered",
            thunk.target_node_type
        ))
        .with_code(ErrorCode::InvalidWorkflow));
    };
    let call = async {
        match thunk.timeout {
            Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                Err(NodeError::new(
                    ErrorCode::Timeout,
                    format!("timed out after {limit:?}"),
                ))
            }),
            None => call.await,
        }
    };
    futures_util::pin_mut!(call);
    let mut progress = tokio::time::interval_at(
        tokio::time::Instant::now() + sh.progress_every,
        sh.progress_every,
    );
    loop {
        tokio::select! {
            outcome = &mut call => return outcome,
            _ = progress.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    }
}

/// A thunk whose node type this worker does not know: handed back for a worker that does,
/// or settled with an error on its last delivery.
async fn unknown_node(
    sh: &Shared,
    message: &jetstream::Message,
    thunk: &Thunk,
    attempt: u32,
    backoff: &Backoff,
) {
    if attempt < sh.max_deliver {
        let delay = backoff.delay(attempt);
        let _ = message.ack_with(AckKind::Nak(Some(delay))).await;
        return;
    }
    let known: Vec<&str> = sh.registry.node_types().collect();
    let error = NodeError::permanent(format!(
        "no worker runs node type `{}`: {} was delivered {attempt} times; the last worker, \
         `{}`, knows {}",
        thunk.target_node_type,
        wire::describe(thunk),
        sh.name,
        if known.is_empty() {
            "no node types".to_string()
        } else {
            known.join(", ")
        }
    ))
    .with_code(ErrorCode::InvalidWorkflow);
    let result = ThunkResult {
        thunk_id: thunk.thunk_id,
        node_type: thunk.target_node_type.to_string(),
        worker: sh.name.clone(),
        attempt,
        outcome: Err(error),
        span: None,
    };
    settle(sh, message, &result, AckKind::Term).await;
}

/// A message that cannot be run, and the error that settles it.
struct Poison {
    /// The thunk to settle, when the message names one.
    thunk_id: Option<Uuid>,
    node_type: String,
    error: NodeError,
}

/// The delivered thunk and its backoff, or why the message cannot be run: its payload is
/// not a thunk, its message id is not the thunk's, its backoff is not a backoff.
fn decode(sh: &Shared, message: &jetstream::Message) -> Result<(Thunk, Backoff), Poison> {
    let envelope = wire::Envelope::of(message);
    let poison = |what: &str, thunk_id, node_type: &str, why: String| Poison {
        thunk_id,
        node_type: node_type.to_string(),
        error: NodeError::permanent(format!("worker `{}` cannot run {what}: {why}", sh.name))
            .with_code(ErrorCode::InvalidInput),
    };
    let thunk: Thunk = serde_json::from_slice(&message.payload).map_err(|e| {
        let why = format!("its payload is not a thunk: {e}");
        poison(
            &envelope.describe(),
            envelope.thunk_id,
            &envelope.node_type,
            why,
        )
    })?;
    let what = wire::describe(&thunk);
    let node_type = &thunk.target_node_type;
    if let Some(id) = envelope.thunk_id
        && id != thunk.thunk_id
    {
        let why = format!("its message id {id} is not its thunk id");
        return Err(poison(&what, Some(id), node_type, why));
    }
    let backoff = match thunk.metadata.get(BACKOFF_KEY) {
        None => sh.backoff,
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
            let why = format!("its `metadata.{BACKOFF_KEY}` is not a backoff: {e}");
            poison(&what, Some(thunk.thunk_id), node_type, why)
        })?,
    };
    Ok((thunk, backoff))
}

/// Settles a message that cannot be run: its error becomes the thunk's result when the
/// message names a thunk, and the message is terminated either way.
async fn settle_poison(sh: &Shared, message: &jetstream::Message, poison: Poison, attempt: u32) {
    tracing::error!(worker = %sh.name, error = %poison.error, "poison thunk");
    let Some(thunk_id) = poison.thunk_id else {
        let _ = message.ack_with(AckKind::Term).await;
        return;
    };
    let result = ThunkResult {
        thunk_id,
        node_type: poison.node_type,
        worker: sh.name.clone(),
        attempt,
        outcome: Err(poison.error),
        span: None,
    };
    settle(sh, message, &result, AckKind::Term).await;
}

/// Writes the result, then acks with `ack`. When the write fails the message is left
/// unacked, so it is delivered again (and the next delivery finds the result if the write
/// did happen).
async fn settle(sh: &Shared, message: &jetstream::Message, result: &ThunkResult, ack: AckKind) {
    match write_result(&sh.results, result).await {
        Ok(written) => {
            if written == Written::AlreadyThere {
                tracing::debug!(thunk_id = %result.thunk_id, "thunk was already settled");
            }
            let _ = message.ack_with(ack).await;
        }
        Err(e) => {
            tracing::warn!(
                thunk_id = %result.thunk_id,
                worker = %sh.name,
                error = %e,
                "cannot write the result; the thunk will be delivered again"
            );
        }
    }
}

/// Writes a result, trying again for a few seconds while JetStream is unreachable (a
/// restarting server), so that a finished node is not run again for a short outage.
pub(crate) async fn write_result(
    results: &Results,
    result: &ThunkResult,
) -> Result<Written, async_nats::Error> {
    let mut pause = Duration::from_millis(50);
    loop {
        match results.write(result).await {
            Ok(written) => return Ok(written),
            Err(e) if pause > Duration::from_secs(2) => return Err(e),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
}

/// `host-pid`: unique among the worker processes of a deployment.
fn default_name() -> String {
    let host = onex_runtime::durable::host_name().unwrap_or_else(|| "worker".to_string());
    format!("{host}-{}", std::process::id())
}
