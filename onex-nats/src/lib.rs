//! onex beyond one machine: thunks run by worker processes over NATS JetStream.
//!
//! A [`Dispatcher`] publishes a [`Thunk`](onex_runtime::Thunk) — one call of one node, its
//! input in `operation_data` — to a work-queue stream; any number of [`Worker`] processes,
//! on any machine reaching the server, pull thunks, run them on the nodes of their
//! [`NodeRegistry`](onex_spec::NodeRegistry), and write each result once to a
//! KV bucket, where the dispatcher picks it up. Nothing is lost when a worker dies: the
//! server delivers its thunk again after the ack wait, and the first result written wins.
//!
//! ```no_run
//! use onex_nats::{Dispatcher, Worker};
//! use onex_spec::NodeRegistry;
//! use onex_runtime::{Thunk, ThunkType};
//! use serde_json::json;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In the worker processes:
//! let mut registry = NodeRegistry::new();
//! registry.compute_infallible("NodeDoubler", |n: &i64| n * 2);
//! let client = async_nats::connect("nats://127.0.0.1:4222").await?;
//! tokio::spawn(Worker::new(client, registry).run());
//!
//! // In the process that runs the workflow:
//! let client = async_nats::connect("nats://127.0.0.1:4222").await?;
//! let dispatcher = Dispatcher::new(client).await?;
//! let mut thunk = Thunk::new(ThunkType::Compute, "NodeDoubler");
//! thunk.operation_data = json!(21);
//! assert_eq!(dispatcher.call(thunk).await?, json!(42));
//! # Ok(()) }
//! ```
//!
//! # Remote steps
//!
//! [`RemoteSteps`] is the runtime's step driver for this: a run's calls of chosen node
//! types (or all of them, with `RunOptions::remote(true)`) become thunks for the workers,
//! and everything else about the run stays in process. Its documentation says how
//! retries, timeouts and compensations apply; [`chrome_trace`] draws the workers' spans
//! beside the run.
//!
//! # Durable runs across machines
//!
//! [`KvJournal`] is the durable-run journal (`onex_runtime::journal::Journal`) in a KV
//! bucket of the same server: any orchestrator reaching it can resume the runs of one
//! that died, with leases fenced by CAS on each run's head. Its documentation says the
//! layout, why a stale holder never overwrites its successor, and the limits.
//!
//! # Names
//!
//! A [`Layout`] names everything from a prefix, `onex` by default: the work-queue stream
//! `ONEX_THUNKS` on subjects `onex.thunks.>`, one subject per node type
//! (`onex.thunks.<node type>`, so a node type's traffic can be watched, limited or moved to
//! a stream of its own), the workers' shared durable pull consumer `onex-workers`, the
//! results bucket `onex-results` and the object store `onex-outputs`.
//!
//! # Wire format
//!
//! **A thunk message** on `onex.thunks.<node type>`:
//!
//! - payload: the thunk as JSON (`onex_runtime::Thunk`'s serde form); `operation_data` is
//!   the node's input, `timeout_ms` bounds each attempt, `retry_count` is the retry budget,
//!   `metadata.backoff` (a serialized `Backoff`, optional) the delay between attempts, and
//!   `metadata.workflow` (optional) the workflow name an effect node's context reports;
//! - header `Nats-Msg-Id`: the thunk id — the stream drops a second publish of the same id
//!   within its duplicate window;
//! - header `Onex-Node-Type`: the node type, to report a payload that is not a thunk;
//! - any headers of the caller, e.g. `traceparent` (W3C trace context), which the worker
//!   records on its span of the thunk.
//!
//! **A result**, in the KV bucket under the thunk id, written create-only (the first
//! completion wins; a later one finds the key taken and only acks):
//!
//! ```json
//! {"thunk_id": "1b4e…", "node_type": "NodeDoubler", "worker": "host-a-4711", "attempt": 1,
//!  "outcome": {"ok": 42}}
//! ```
//!
//! `outcome` is `{"ok": <output>}`, `{"err": <NodeError>}` (code, message, transient), or,
//! when the record would be larger than [`Layout::max_inline`], `{"object": {"name": …,
//! "bytes": …}}`: the `ok`/`err` outcome is in the object store under that name.
//!
//! # Delivery rules
//!
//! Each delivery is one attempt. A transient error is nak'd with the backoff delay while
//! the thunk's `retry_count` lasts, and the next delivery — on whichever worker — tries
//! again; a success, a permanent error or a spent budget is written as the result. A worker
//! sends in-progress acks while a node runs longer than a third of the ack wait; a worker
//! that dies holding a thunk lets it go to another after the ack wait. Deliveries are
//! capped by [`Layout::max_deliver`], and the last one always ends in a result: poison (a
//! payload that is not a thunk) is settled at once with an error naming the thunk, the node
//! and the worker; a node type no worker knows is handed back until the last delivery,
//! which settles it with such an error; a thunk whose last delivery was lost with its
//! worker is settled with an error by another worker, told by the server's advisory.
//! Delivery is at least once: a node may run again after a worker dies mid-call, but its
//! result is applied once.

#![warn(missing_docs)]

mod background;
mod delivery;
mod dispatcher;
mod error;
mod journal;
mod layout;
mod lost;
mod puller;
mod remote_steps;
mod results;
mod trace;
mod trigger;
mod waiters;
mod wire;
mod worker;

pub use dispatcher::Dispatcher;
pub use error::Error;
pub use journal::{KvJournal, KvJournalOptions};
pub use layout::Layout;
pub use remote_steps::RemoteSteps;
pub use results::{ThunkResult, WorkerSpan};
pub use trace::{RemoteSpan, chrome_trace};
pub use trigger::NatsTrigger;
pub use wire::{ATTEMPT_KEY, BACKOFF_KEY, NODE_TYPE_HEADER, TRACEPARENT_HEADER, WORKFLOW_KEY};
pub use worker::Worker;

/// The NATS client crate, for connecting: `onex_nats::async_nats::connect(url)`.
pub use async_nats;
