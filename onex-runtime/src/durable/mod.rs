//! Durable runs: a runtime with a [journal](crate::journal) records every step call of a
//! durable workflow's runs, so that a crash loses nothing and a new process resumes them.
//!
//! [`RuntimeBuilder::journal`](crate::RuntimeBuilder::journal) puts a journal on a runtime.
//! A run of a program that serializes its input (a `#[durable]` workflow, a spec) is then
//! durable: it has a run id ([`RunOptions::run_id`](crate::RunOptions::run_id), a fresh
//! UUID unless given), and through the [step driver seam](crate::driver) its driver
//! (`run_driver.rs`) journals, at each boundary of the run, the outcomes of the calls that
//! ended and the intents of the calls about to start, in one write, before those calls
//! start. A run of any other program is not journaled.
//!
//! The rules, per starting call:
//!
//! - its output is journaled: it is not called, the output feeds its consumers
//!   ([`Route::Done`](crate::driver::Route::Done)); a journaled error fails it again;
//! - it is *in doubt* (an intent, no outcome: the process died during the call): a compute
//!   or reducer step, or an effect declared [`Delivery::Idempotent`](crate::Delivery), is
//!   called again with the same [`Context::idempotency_key`](crate::Context::idempotency_key);
//!   any other effect is never called again: the run stops `IN_DOUBT` until an operator
//!   settles the call with [`Runtime::resolve`](crate::Runtime::resolve), then resumes;
//! - otherwise its intent is journaled and it is made — here, or as the runtime's
//!   [step driver](crate::RuntimeBuilder::step_driver) routes it, if it has one.
//!
//! Compensations are journaled the same way, so a crash during a saga resumes it and each
//! completed effect's output is compensated once. A run is leased by the process that
//! executes it ([`holder_id`]), renewed every third of the lease; each write carries the
//! lease's fencing token, so a process that lost the run cannot write to it any more. A
//! run journaled with another graph than the workflow's now is refused with a diff
//! ([`fingerprint`], [`diff`]). When the journal fails (full, busy, corrupt) the run stops
//! with the error and nothing runs unjournaled; its journal is left for a resume.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use onex::dynamic::NodeRegistry;
//! use onex::journal::{Journal, MemoryJournal, RunStatus};
//! use onex::{RunOptions, Runtime};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = NodeRegistry::new();
//! registry.compute_infallible("Double", |n: &i64| n * 2);
//! let wf = registry.load_yaml(r#"
//! workflow_id: doubler
//! steps:
//!   - step_id: main
//!     thunks:
//!       - { thunk_id: double, target_node_type: Double, operation_data: 21 }
//! output: double
//! "#)?;
//!
//! let journal: Arc<dyn Journal> = Arc::new(MemoryJournal::new());
//! let rt = Runtime::builder().shared_journal(journal.clone()).build();
//! let run = wf.run(&rt, RunOptions::new().run_id("order-42")).await?;
//! assert_eq!(run.output, 42);
//! assert_eq!(journal.load_run("order-42").await?.unwrap().record.status, RunStatus::Completed);
//!
//! // Starting the id again attaches to the finished run: its journaled output, no call.
//! let again = wf.run(&rt, RunOptions::new().run_id("order-42")).await?;
//! assert_eq!(again.output, 42);
//! # Ok(()) }
//! ```

pub(crate) mod error;
#[cfg(feature = "journal-conformance")]
mod faulty;
mod fingerprint;
mod heartbeat;
mod holder;
mod recover;
mod resolve;
pub(crate) mod run_driver;
pub(crate) mod start;

use std::time::Duration;

pub use crate::model::DurableError;
#[cfg(feature = "journal-conformance")]
pub use faulty::{FaultyJournal, WriteStage};
pub use fingerprint::{diff, fingerprint};
pub use holder::{holder_id, host_name};
pub use recover::{DURABLE_WORKFLOWS, DurableWorkflow, Recovered};

pub(crate) use crate::context::Durable;

/// The lease length unless set: 30 s. A crashed process's runs wait this long before
/// another process may resume them.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);
