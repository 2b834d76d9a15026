//! [`Layout`]: where onex keeps thunks and results in JetStream, and how those streams behave.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use async_nats::jetstream::{self, kv, object_store};

use crate::error::Error;
use crate::results::Results;

/// The names and settings onex uses in JetStream. Workers and dispatchers that work together
/// use the same layout; [`Layout::default`] is the `onex` one.
///
/// Every name derives from the prefix (`onex` below):
///
/// | what | name |
/// |---|---|
/// | work-queue stream of thunks | `ONEX_THUNKS`, subjects `onex.thunks.>` |
/// | subject of a node type's thunks | `onex.thunks.<node type>` |
/// | durable pull consumer the workers share | `onex-workers` |
/// | KV bucket of results | `onex-results` |
/// | object store of large results | `onex-outputs` |
/// | KV bucket of the durable-run journal ([`KvJournal`](crate::KvJournal)) | `onex-journal` |
///
/// Whoever comes first creates the streams, the bucket and the object store with these
/// settings; later processes use what exists (a changed setting needs the stream updated or
/// recreated by hand). The workers' consumer is created by the first worker.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex_nats::Layout;
///
/// let layout = Layout::new("billing").ack_wait(Duration::from_secs(10)).max_deliver(5);
/// assert_eq!(layout.stream_name(), "BILLING_THUNKS");
/// assert_eq!(layout.subject("NodeInvoice"), "billing.thunks.NodeInvoice");
/// assert_eq!(layout.subject("etl::Load step"), "billing.thunks.etl__Load_step");
/// assert_eq!(layout.results_bucket(), "billing-results");
/// assert_eq!(Layout::default().consumer_name(), "onex-workers");
/// assert_eq!(layout.journal_bucket(), "billing-journal");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    prefix: String,
    /// How long a delivered thunk may go without an ack or an in-progress ack before the
    /// server hands it to another worker. Workers send in-progress acks every third of it.
    pub ack_wait: Duration,
    /// How many times a thunk is delivered at most: the cap on its retries, and on
    /// redeliveries after worker crashes. The last delivery always ends in a result.
    pub max_deliver: u32,
    /// How long a published thunk id is remembered, so that publishing it again is a no-op.
    pub duplicate_window: Duration,
    /// How long results are kept; `None` keeps them until deleted.
    pub result_ttl: Option<Duration>,
    /// The largest result written to the KV bucket itself, in bytes of JSON; larger ones go
    /// to the object store (the server's `max_payload` lowers it further).
    pub max_inline: usize,
    /// Whether streams live in memory instead of files (tests; nothing survives a restart).
    pub memory: bool,
    /// Stream replicas in a cluster (1 on a single server).
    pub replicas: usize,
}

impl Default for Layout {
    /// `Layout::new("onex")`.
    fn default() -> Self {
        Layout::new("onex")
    }
}

impl Layout {
    /// A layout whose names start with `prefix` (letters, digits, `-` and `_`; anything else
    /// becomes `_`), with the default settings: ack wait 30 s, 10 deliveries, a 2-minute
    /// duplicate window, results kept for a day, 256 KiB inline, file storage, 1 replica.
    pub fn new(prefix: impl AsRef<str>) -> Self {
        Layout {
            prefix: token(prefix.as_ref()),
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            duplicate_window: Duration::from_secs(120),
            result_ttl: Some(Duration::from_secs(24 * 3600)),
            max_inline: 256 * 1024,
            memory: false,
            replicas: 1,
        }
    }

    /// The same layout with another ack wait.
    pub fn ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }

    /// The same layout with another delivery cap (at least 1).
    pub fn max_deliver(mut self, max_deliver: u32) -> Self {
        self.max_deliver = max_deliver.max(1);
        self
    }

    /// The same layout with another duplicate window.
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    /// The same layout keeping results for `ttl` (`None`: until deleted).
    pub fn result_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.result_ttl = ttl;
        self
    }

    /// The same layout with another inline limit for results.
    pub fn max_inline(mut self, bytes: usize) -> Self {
        self.max_inline = bytes;
        self
    }

    /// The same layout keeping its streams in memory.
    pub fn in_memory(mut self) -> Self {
        self.memory = true;
        self
    }

    /// The same layout with `n` replicas of each stream (a cluster of at least `n` servers).
    pub fn replicas(mut self, n: usize) -> Self {
        self.replicas = n.max(1);
        self
    }

    /// The prefix of every name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The work-queue stream of thunks: `<PREFIX>_THUNKS`.
    pub fn stream_name(&self) -> String {
        format!("{}_THUNKS", self.prefix.to_uppercase())
    }

    /// The subject thunks of `node_type` are published to: `<prefix>.thunks.<node type>`,
    /// with characters a subject token cannot hold replaced by `_`.
    pub fn subject(&self, node_type: &str) -> String {
        format!("{}.thunks.{}", self.prefix, token(node_type))
    }

    /// The durable pull consumer every worker pulls from: `<prefix>-workers`.
    pub fn consumer_name(&self) -> String {
        format!("{}-workers", self.prefix)
    }

    /// The KV bucket of results: `<prefix>-results`.
    pub fn results_bucket(&self) -> String {
        format!("{}-results", self.prefix)
    }

    /// The object store of results too large for the bucket: `<prefix>-outputs`.
    pub fn objects_bucket(&self) -> String {
        format!("{}-outputs", self.prefix)
    }

    /// The KV bucket of the durable-run journal: `<prefix>-journal`.
    pub fn journal_bucket(&self) -> String {
        format!("{}-journal", self.prefix)
    }

    fn storage(&self) -> StorageType {
        if self.memory {
            StorageType::Memory
        } else {
            StorageType::File
        }
    }

    /// Finds or creates the stream of thunks, the results bucket and the object store.
    pub(crate) async fn bind(&self, js: &jetstream::Context) -> Result<Bound, Error> {
        let stream = js
            .get_or_create_stream(jetstream::stream::Config {
                name: self.stream_name(),
                subjects: vec![format!("{}.thunks.>", self.prefix)],
                retention: RetentionPolicy::WorkQueue,
                storage: self.storage(),
                duplicate_window: self.duplicate_window,
                num_replicas: self.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::new(format!("creating stream `{}`", self.stream_name()), e))?;
        let ttl = self.result_ttl.unwrap_or_default();
        let kv = self.kv_bucket(js, self.results_bucket(), ttl).await?;
        let objects_name = self.objects_bucket();
        let objects = find_or_create(
            || js.get_object_store(&objects_name),
            || {
                js.create_object_store(object_store::Config {
                    bucket: objects_name.clone(),
                    max_age: ttl,
                    storage: self.storage(),
                    num_replicas: self.replicas,
                    ..Default::default()
                })
            },
            || format!("creating object store `{objects_name}`"),
        )
        .await?;
        let max_payload = js.client().server_info().max_payload;
        // Room for the record's other fields and the message headers.
        let inline = self.max_inline.min(max_payload.saturating_sub(4096));
        Ok(Bound {
            stream,
            results: Results::new(kv, objects, inline),
        })
    }

    /// Finds or creates KV bucket `bucket` with history 1 (a key's latest value is all
    /// onex reads) and entries kept for `max_age` (zero: until deleted).
    async fn kv_bucket(
        &self,
        js: &jetstream::Context,
        bucket: String,
        max_age: Duration,
    ) -> Result<kv::Store, Error> {
        find_or_create(
            || js.get_key_value(&bucket),
            || {
                js.create_key_value(kv::Config {
                    bucket: bucket.clone(),
                    history: 1,
                    max_age,
                    storage: self.storage(),
                    num_replicas: self.replicas,
                    ..Default::default()
                })
            },
            || format!("creating KV bucket `{bucket}`"),
        )
        .await
    }

    /// Finds or creates the journal's KV bucket (history 1: a key's latest value is all the
    /// journal reads), and turns on atomic batch publishing on its stream, which the
    /// journal's commits use; returns the bucket and its stream.
    pub(crate) async fn bind_journal(
        &self,
        js: &jetstream::Context,
    ) -> Result<(kv::Store, jetstream::stream::Stream), Error> {
        let kv = self
            .kv_bucket(js, self.journal_bucket(), Duration::ZERO)
            .await?;
        let stream_name = kv.stream_name.clone();
        let mut stream = js
            .get_stream(&stream_name)
            .await
            .map_err(|e| Error::new(format!("reading stream `{stream_name}`"), e))?;
        if !stream.cached_info().config.allow_atomic_publish {
            let mut config = stream.cached_info().config.clone();
            config.allow_atomic_publish = true;
            js.update_stream(config).await.map_err(|e| {
                Error::new(
                    format!(
                        "enabling atomic batches on stream `{stream_name}` (needs nats-server 2.12 or newer)"
                    ),
                    e,
                )
            })?;
            stream
                .info()
                .await
                .map_err(|e| Error::new(format!("reading stream `{stream_name}`"), e))?;
        }
        Ok((kv, stream))
    }

    /// Finds or creates the durable pull consumer the workers share.
    pub(crate) async fn consumer(
        &self,
        stream: &jetstream::stream::Stream,
    ) -> Result<PullConsumer, Error> {
        let name = self.consumer_name();
        stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.ack_wait,
                    max_deliver: i64::from(self.max_deliver),
                    num_replicas: self.replicas,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| Error::new(format!("creating consumer `{name}`"), e))
    }
}

/// What [`Layout::bind`] found or made.
pub(crate) struct Bound {
    pub(crate) stream: jetstream::stream::Stream,
    pub(crate) results: Results,
}

/// What `find` finds, else what `create` makes; when creating fails because another process
/// created it first, what `find` finds then.
async fn find_or_create<T, FindErr, CreateErr, Find, Found, Create, Made>(
    find: Find,
    create: Create,
    doing: impl FnOnce() -> String,
) -> Result<T, Error>
where
    Find: Fn() -> Found,
    Found: Future<Output = Result<T, FindErr>>,
    Create: FnOnce() -> Made,
    Made: Future<Output = Result<T, CreateErr>>,
    CreateErr: Into<async_nats::Error>,
{
    if let Ok(found) = find().await {
        return Ok(found);
    }
    match create().await {
        Ok(made) => Ok(made),
        Err(e) => find().await.map_err(|_| Error::new(doing(), e)),
    }
}

/// `name` as one subject or bucket token: letters, digits, `-` and `_` kept, the rest `_`.
fn token(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
