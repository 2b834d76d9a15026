//! Results: what a worker writes for a thunk, written once to the KV bucket (large ones
//! through the object store), and read back by whoever waits for it.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::kv::{self, CreateErrorKind};
use async_nats::jetstream::object_store::ObjectStore;
use bytes::Bytes;
use onex_runtime::{ErrorCode, NodeError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

/// The result of one thunk, as the worker that settled it wrote it: the node's output or
/// error, and who produced it on which delivery.
///
/// # Examples
///
/// ```
/// use onex_nats::ThunkResult;
/// use serde_json::json;
///
/// let result = ThunkResult {
///     thunk_id: uuid::Uuid::nil(),
///     node_type: "NodeDoubler".into(),
///     worker: "host-a-4711".into(),
///     attempt: 1,
///     outcome: Ok(json!(42)),
///     span: None,
/// };
/// assert_eq!(result.outcome.as_ref().unwrap(), &json!(42));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ThunkResult {
    /// The thunk's id (the result's key).
    pub thunk_id: Uuid,
    /// The node type the thunk called.
    pub node_type: String,
    /// The name of the worker that wrote the result.
    pub worker: String,
    /// The delivery that settled it: 1 for the first, more after retries or redeliveries.
    pub attempt: u32,
    /// The node's output, or the error that failed it.
    pub outcome: Result<Value, NodeError>,
    /// When the worker ran the settling attempt: `None` when no node ran (poison, a node
    /// type no worker knows, a thunk lost with its worker).
    pub span: Option<WorkerSpan>,
}

/// When a worker ran a thunk's node, as written into its result: what a trace of the run
/// draws on the worker's track.
///
/// Times are the worker's wall clock, so spans of workers on other machines are as exact
/// as the machines' clocks agree.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use onex_nats::WorkerSpan;
///
/// let span = WorkerSpan {
///     started_at: SystemTime::now(),
///     duration: Duration::from_micros(250),
///     traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
/// };
/// assert!(span.finished_at() > span.started_at);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSpan {
    /// When the node's attempt started.
    pub started_at: SystemTime,
    /// How long it ran.
    pub duration: Duration,
    /// The W3C `traceparent` the thunk's message carried, if any.
    pub traceparent: Option<String>,
}

impl WorkerSpan {
    /// When the attempt ended.
    pub fn finished_at(&self) -> SystemTime {
        self.started_at + self.duration
    }
}

/// A span as stored: microseconds since the Unix epoch, and of duration.
#[derive(Serialize, Deserialize)]
struct StoredSpan<'a> {
    start_us: u64,
    dur_us: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traceparent: Option<Cow<'a, str>>,
}

impl<'a> StoredSpan<'a> {
    fn of(span: &'a WorkerSpan) -> Self {
        let since_epoch = span
            .started_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        StoredSpan {
            start_us: u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX),
            dur_us: u64::try_from(span.duration.as_micros()).unwrap_or(u64::MAX),
            traceparent: span.traceparent.as_deref().map(Cow::Borrowed),
        }
    }

    fn into_span(self) -> WorkerSpan {
        WorkerSpan {
            started_at: UNIX_EPOCH + Duration::from_micros(self.start_us),
            duration: Duration::from_micros(self.dur_us),
            traceparent: self.traceparent.map(Cow::into_owned),
        }
    }
}

/// A result as stored in the KV bucket.
#[derive(Serialize, Deserialize)]
struct Record<'a> {
    thunk_id: Uuid,
    node_type: Cow<'a, str>,
    worker: Cow<'a, str>,
    attempt: u32,
    outcome: Stored<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    span: Option<StoredSpan<'a>>,
}

/// A result's outcome as stored: inline, or the name of the object holding it (which
/// holds an `ok` or `err` outcome).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stored<'a> {
    Ok(Cow<'a, Value>),
    Err(Cow<'a, NodeError>),
    Object { name: String, bytes: u64 },
}

impl<'a> Stored<'a> {
    fn of(outcome: &'a Result<Value, NodeError>) -> Self {
        match outcome {
            Ok(value) => Stored::Ok(Cow::Borrowed(value)),
            Err(error) => Stored::Err(Cow::Borrowed(error)),
        }
    }
}

/// Whether a write created the result or found one there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// This write is the result.
    Created,
    /// Another delivery settled the thunk first; its result stands.
    AlreadyThere,
}

/// The results bucket and its object store.
#[derive(Clone)]
pub(crate) struct Results {
    kv: kv::Store,
    objects: ObjectStore,
    max_inline: usize,
}

impl Results {
    pub(crate) fn new(kv: kv::Store, objects: ObjectStore, max_inline: usize) -> Self {
        Results {
            kv,
            objects,
            max_inline,
        }
    }

    pub(crate) fn kv(&self) -> &kv::Store {
        &self.kv
    }

    /// Writes `result` unless the thunk already has one: first completion wins.
    pub(crate) async fn write(&self, result: &ThunkResult) -> Result<Written, async_nats::Error> {
        let mut record = Record {
            thunk_id: result.thunk_id,
            node_type: Cow::Borrowed(&result.node_type),
            worker: Cow::Borrowed(&result.worker),
            attempt: result.attempt,
            outcome: Stored::of(&result.outcome),
            span: result.span.as_ref().map(StoredSpan::of),
        };
        let mut bytes = serde_json::to_vec(&record)?;
        let mut object = None;
        if bytes.len() > self.max_inline {
            // Each writer gets its own object, so a losing writer cannot overwrite the
            // winner's; the loser deletes its own.
            let name = format!("{}.{}.{}", result.thunk_id, result.attempt, result.worker);
            let body = serde_json::to_vec(&record.outcome)?;
            self.objects
                .put(name.as_str(), &mut body.as_slice())
                .await?;
            record.outcome = Stored::Object {
                name: name.clone(),
                bytes: body.len() as u64,
            };
            bytes = serde_json::to_vec(&record)?;
            object = Some(name);
        }
        let key = result.thunk_id.to_string();
        match self.kv.create(&key, Bytes::from(bytes)).await {
            Ok(_) => Ok(Written::Created),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                if let Some(name) = object {
                    let _ = self.objects.delete(&name).await;
                }
                Ok(Written::AlreadyThere)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the thunk has a result.
    pub(crate) async fn exists(&self, thunk_id: Uuid) -> Result<bool, async_nats::Error> {
        Ok(self.kv.get(thunk_id.to_string()).await?.is_some())
    }

    /// The thunk's result, if it has one.
    pub(crate) async fn get(&self, thunk_id: Uuid) -> Result<Option<ThunkResult>, NodeError> {
        match self.kv.get(thunk_id.to_string()).await {
            Ok(Some(bytes)) => self.read(thunk_id, &bytes).await.map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(unavailable(format!(
                "could not read the result of thunk {thunk_id}: {e}"
            ))),
        }
    }

    /// Decodes a stored result, fetching its outcome from the object store when it is there.
    pub(crate) async fn read(
        &self,
        thunk_id: Uuid,
        bytes: &[u8],
    ) -> Result<ThunkResult, NodeError> {
        let record: Record = serde_json::from_slice(bytes).map_err(|e| {
            NodeError::permanent(format!(
                "the stored result of thunk {thunk_id} is not a result record: {e}"
            ))
            .with_code(ErrorCode::Internal)
        })?;
        let outcome = match record.outcome {
            Stored::Ok(value) => Ok(value.into_owned()),
            Stored::Err(error) => Err(error.into_owned()),
            Stored::Object { name, .. } => self.fetch(thunk_id, &name).await?,
        };
        Ok(ThunkResult {
            thunk_id: record.thunk_id,
            node_type: record.node_type.into_owned(),
            worker: record.worker.into_owned(),
            attempt: record.attempt,
            outcome,
            span: record.span.map(StoredSpan::into_span),
        })
    }

    async fn fetch(
        &self,
        thunk_id: Uuid,
        name: &str,
    ) -> Result<Result<Value, NodeError>, NodeError> {
        let failed = |e: &dyn std::fmt::Display| {
            unavailable(format!(
                "could not fetch the result of thunk {thunk_id} from object `{name}`: {e}"
            ))
        };
        let mut object = self.objects.get(name).await.map_err(|e| failed(&e))?;
        let mut body = Vec::new();
        object
            .read_to_end(&mut body)
            .await
            .map_err(|e| failed(&e))?;
        match serde_json::from_slice(&body).map_err(|e| failed(&e))? {
            Stored::Ok(value) => Ok(Ok(value.into_owned())),
            Stored::Err(error) => Ok(Err(error.into_owned())),
            Stored::Object { .. } => Err(failed(&"an object points to another object")),
        }
    }
}

/// A transient `ResourceUnavailable` error: JetStream could not be reached for now.
pub(crate) fn unavailable(message: String) -> NodeError {
    NodeError::transient(message)
}
