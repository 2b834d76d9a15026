//! The journal's bucket as JetStream sees it: reads of single keys, consistent scans of a
//! key filter, commits (one message, or an atomic batch ending with the head's CAS), and
//! purges. Every call is bounded by the journal's timeout, and every failure becomes a
//! [`JournalError`] naming the bucket.

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::push::OrderedConfig;
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::StreamExt;
use onex_runtime::journal::JournalError;
use serde::Deserialize;

/// JetStream's error code for a failed `Nats-Expected-Last-Subject-Sequence` check.
const WRONG_LAST_SEQUENCE: u64 = 10071;
/// JetStream's error code when a stream has too many atomic batches open at once.
const TOO_MANY_BATCHES: u64 = 10210;

/// The most messages JetStream takes in one atomic batch.
pub(crate) const MAX_BATCH: usize = 1000;

/// One key's latest value and its revision (its stream sequence).
#[derive(Debug, Clone)]
pub(crate) struct Value {
    pub(crate) key: String,
    pub(crate) revision: u64,
    pub(crate) bytes: Bytes,
}

/// Why a commit did not happen.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The head is no longer at the expected revision: someone committed first.
    Conflict,
    /// Anything else.
    Failed(JournalError),
}

impl From<JournalError> for Refused {
    fn from(error: JournalError) -> Self {
        Refused::Failed(error)
    }
}

/// The journal bucket and the connection to it.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    client: async_nats::Client,
    kv: kv::Store,
    stream: jetstream::stream::Stream,
    /// `$KV.<bucket>.`: the subject prefix of every key.
    prefix: String,
    /// What error messages call the store: the bucket's name.
    name: Arc<str>,
    timeout: Duration,
}

impl Store {
    pub(crate) fn new(
        client: async_nats::Client,
        kv: kv::Store,
        stream: jetstream::stream::Stream,
        timeout: Duration,
    ) -> Self {
        Store {
            prefix: format!("$KV.{}.", kv.name),
            name: Arc::from(kv.name.as_str()),
            client,
            kv,
            stream,
            timeout,
        }
    }

    /// The bucket's name.
    pub(crate) fn bucket(&self) -> &str {
        &self.kv.name
    }

    /// The store's error for a failure of the server or the connection while `doing`.
    pub(crate) fn failed(&self, doing: &str, error: impl std::fmt::Display) -> JournalError {
        JournalError::Storage {
            store: self.name.to_string(),
            detail: format!("{doing}: {error}"),
        }
    }

    /// The store's error for a call that got no answer in time. A write may still land
    /// (the client sends what it queued once it reconnects); the head's CAS keeps it from
    /// landing on top of anything written since.
    fn timed_out(&self, doing: &str) -> JournalError {
        JournalError::Storage {
            store: self.name.to_string(),
            detail: format!(
                "{doing}: no answer from nats-server within {:?} (unreachable or overloaded); \
                 a write may or may not have been applied — load the run to see",
                self.timeout
            ),
        }
    }

    /// The store's error for a value that does not decode.
    pub(crate) fn corrupt(&self, key: &str, detail: impl std::fmt::Display) -> JournalError {
        JournalError::Corrupt {
            store: self.name.to_string(),
            detail: format!("key `{key}`: {detail}"),
        }
    }

    async fn bounded<T, E: std::fmt::Display>(
        &self,
        doing: &str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, JournalError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(self.failed(doing, error)),
            Err(_) => Err(self.timed_out(doing)),
        }
    }

    /// The latest value of `key`, if it has one.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Value>, JournalError> {
        let doing = format!("reading key `{key}`");
        let entry = self.bounded(&doing, self.kv.entry(key)).await?;
        Ok(entry
            .filter(|e| e.operation == kv::Operation::Put)
            .map(|e| Value {
                key: e.key,
                revision: e.revision,
                bytes: e.value,
            }))
    }

    /// The latest value of every key `filter` matches (`*` and `>` wildcards), read by one
    /// ordered consumer: what it returns is the bucket's state at one point in time, since
    /// the consumer delivers in stream order and commits are atomic.
    pub(crate) async fn scan(&self, filter: &str) -> Result<Vec<Value>, JournalError> {
        let doing = format!("scanning keys `{filter}`");
        let scan = async {
            let consumer = self
                .stream
                .create_consumer(OrderedConfig {
                    deliver_subject: self.client.new_inbox(),
                    filter_subject: format!("{}{filter}", self.prefix),
                    deliver_policy: DeliverPolicy::LastPerSubject,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            let mut values = Vec::new();
            if consumer.cached_info().num_pending == 0 {
                return Ok(values);
            }
            let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
            while let Some(message) = messages.next().await {
                let message = message.map_err(|e| e.to_string())?;
                let info = message.info().map_err(|e| e.to_string())?;
                let (revision, pending) = (info.stream_sequence, info.pending);
                let deleted = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("KV-Operation"))
                    .is_some_and(|op| op.as_str() != "PUT");
                if !deleted && let Some(key) = message.subject.strip_prefix(&self.prefix) {
                    values.push(Value {
                        key: key.to_owned(),
                        revision,
                        bytes: message.payload.clone(),
                    });
                }
                if pending == 0 {
                    return Ok(values);
                }
            }
            Err("the consumer stopped before delivering every key".to_owned())
        };
        self.bounded(&doing, scan).await
    }

    /// Writes each value, unconditionally (keys nothing else writes), all at once.
    pub(crate) async fn put_all(&self, values: Vec<(String, Bytes)>) -> Result<(), JournalError> {
        let puts = values.into_iter().map(|(key, bytes)| async move {
            let doing = format!("writing key `{key}`");
            self.bounded(&doing, self.kv.put(&key, bytes)).await
        });
        futures_util::future::try_join_all(puts).await.map(drop)
    }

    /// Writes `others`, then `head` on condition that the head is still at revision
    /// `expected` (0: that it does not exist), all or nothing; returns the head's new
    /// revision. One message when `others` is empty, else one atomic batch with the head
    /// last, so that the head's revision is the highest sequence of anything the run holds.
    pub(crate) async fn commit(
        &self,
        head: (&str, Bytes),
        expected: u64,
        others: Vec<(String, Bytes)>,
    ) -> Result<u64, Refused> {
        if others.len() + 1 > MAX_BATCH {
            return Err(Refused::Failed(self.failed(
                "committing",
                format!(
                    "a write of {} keys is over JetStream's limit of {MAX_BATCH} messages in \
                     one atomic batch; split it into smaller writes",
                    others.len() + 1
                ),
            )));
        }
        let doing = format!("committing key `{}`", head.0);
        let mut delay = Duration::from_millis(2);
        loop {
            let attempt = tokio::time::timeout(self.timeout, self.send(&head, expected, &others));
            let reply = match attempt.await {
                Ok(reply) => reply.map_err(|e| self.failed(&doing, e))?,
                Err(_) => return Err(Refused::Failed(self.timed_out(&doing))),
            };
            match reply {
                Ack::Stored(revision) => return Ok(revision),
                Ack::Error { code, .. } if code == WRONG_LAST_SEQUENCE => {
                    return Err(Refused::Conflict);
                }
                // The stream's limit on open batches is shared by every writer: wait for
                // some to finish. Nothing of a refused batch was stored.
                Ack::Error { code, .. } if code == TOO_MANY_BATCHES => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(100));
                }
                Ack::Error { description, .. } => {
                    return Err(Refused::Failed(self.failed(&doing, description)));
                }
            }
        }
    }

    async fn send(
        &self,
        head: &(&str, Bytes),
        expected: u64,
        others: &[(String, Bytes)],
    ) -> Result<Ack, async_nats::Error> {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Expected-Last-Subject-Sequence", expected.to_string());
        let batch = (!others.is_empty()).then(|| uuid::Uuid::new_v4().simple().to_string());
        if let Some(id) = &batch {
            for (n, (key, bytes)) in others.iter().enumerate() {
                let mut member = HeaderMap::new();
                member.insert("Nats-Batch-Id", id.as_str());
                member.insert("Nats-Batch-Sequence", (n + 1).to_string());
                self.client
                    .publish_with_headers(format!("{}{key}", self.prefix), member, bytes.clone())
                    .await?;
            }
            headers.insert("Nats-Batch-Id", id.as_str());
            headers.insert("Nats-Batch-Sequence", (others.len() + 1).to_string());
            headers.insert("Nats-Batch-Commit", "1");
        }
        let request = async_nats::Request::new()
            .headers(headers)
            .payload(head.1.clone())
            .timeout(Some(self.timeout));
        let reply = self
            .client
            .send_request(format!("{}{}", self.prefix, head.0), request)
            .await?;
        Ack::parse(&reply.payload)
    }

    /// Deletes `keys` altogether (no delete marker left).
    pub(crate) async fn purge_keys(&self, keys: &[String]) -> Result<(), JournalError> {
        for key in keys {
            let doing = format!("purging key `{key}`");
            let purge = self.stream.purge().filter(format!("{}{key}", self.prefix));
            self.bounded(&doing, async { purge.await }).await?;
        }
        Ok(())
    }

    /// Deletes every message of the keys `filter` matches whose revision is below
    /// `below`: a run's records, and none of a run started later under the same id.
    pub(crate) async fn purge(&self, filter: &str, below: u64) -> Result<(), JournalError> {
        let doing = format!("purging keys `{filter}`");
        let purge = self
            .stream
            .purge()
            .filter(format!("{}{filter}", self.prefix))
            .sequence(below);
        self.bounded(&doing, async { purge.await }).await.map(drop)
    }
}

/// JetStream's answer to a publish.
#[derive(Debug)]
enum Ack {
    Stored(u64),
    Error { code: u64, description: String },
}

impl Ack {
    fn parse(payload: &[u8]) -> Result<Ack, async_nats::Error> {
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            seq: Option<u64>,
            #[serde(default)]
            error: Option<ApiError>,
        }
        #[derive(Deserialize)]
        struct ApiError {
            #[serde(default)]
            err_code: u64,
            #[serde(default)]
            description: String,
        }
        let reply: Reply = serde_json::from_slice(payload).map_err(|e| {
            format!(
                "not a JetStream publish ack ({e}): {}",
                String::from_utf8_lossy(payload)
            )
        })?;
        match (reply.error, reply.seq) {
            (Some(error), _) => Ok(Ack::Error {
                code: error.err_code,
                description: error.description,
            }),
            (None, Some(seq)) => Ok(Ack::Stored(seq)),
            (None, None) => Err(format!(
                "a publish ack without a sequence: {}",
                String::from_utf8_lossy(payload)
            )
            .into()),
        }
    }
}
