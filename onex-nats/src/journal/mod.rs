//! [`KvJournal`]: the durable-run [`Journal`] in a JetStream KV bucket, so that a second
//! orchestrator, on any machine reaching the server, resumes the runs of one that died.
//!
//! The layout, the consistency argument and the limits are documented on [`KvJournal`].

mod codec;
mod commit;
mod held;
mod keys;
mod options;
mod read;
mod store;

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use onex_runtime::journal::{
    Clock, Journal, JournalError, JournalFuture, Lease, NewRun, Retention, RunFilter, RunRecord,
    RunSnapshot, Started, Write,
};

pub use options::KvJournalOptions;

use crate::layout::Layout;
use held::{Held, HeldRuns, slot};
use keys::RunKeys;
use store::{Refused, Store};

/// A [`Journal`] in a JetStream KV bucket: durable runs shared by every process that reaches
/// the server, with leases fenced by CAS on the run's head.
///
/// # Layout
///
/// One KV bucket, [`Layout::journal_bucket`] (`onex-journal`), history 1, file storage
/// (memory with [`Layout::in_memory`]), with atomic batch publishing enabled on its stream.
/// Each run's keys share a prefix: its id when that is made of ASCII letters, digits, `-`
/// and `_`, else `=` and the hex of the id's bytes (written `R` below). A *document* is a
/// compact JSON line, a newline, and raw bytes.
///
/// | key | value |
/// |---|---|
/// | `R.h` | the head, rewritten by every commit: a document whose JSON is `{"v":1,"run_id","workflow","status","created_at","updated_at","holder","token","until","input","buffer":[…]}` (times in Unix milliseconds) and whose bytes are the outputs of the buffered entries, in order |
/// | `R.i.<nonce>` | the input, written once before the head that names it (`input`): a document `{"digest","description"}` (the graph fingerprint) + the input's bytes |
/// | `R.s.<index>` / `R.s.<index>.<item>` | a step call's entry: a document `{"index","name","item","intent":{"attempt","at"},"outcome":{"attempts","at","error"},"comp_intent","comp_outcome"}` (absent parts left out; an outcome without `error` succeeded) + the output's bytes |
/// | `R.c.<tag>.<doc>.<part>` | a chunk of a value over [`KvJournalOptions::max_value`]; the value's own key then holds `@{"tag","doc","chunks","len"}` |
///
/// The head's `buffer` holds the entries changed since they were last written to their own
/// keys (each with `"len"`, its output's length), and wins over them: a step write is then
/// one message. Past [`KvJournalOptions::max_buffered`] entries or about 16 KiB, the commit
/// writes the buffer and its own entries to their keys and empties the buffer.
///
/// # Why a stale writer never overwrites
///
/// Every change of a run is one *commit* that rewrites the head with
/// `Nats-Expected-Last-Subject-Sequence` = the head revision the change was computed from:
/// the head alone (one message), or the entries and chunks it writes followed by the head,
/// published as one JetStream atomic batch, which the server stores whole or not at all.
/// The server takes it only if the head is still at that revision. So:
///
/// - the head's revision moves with every commit, and whoever computes a change from an
///   older state loses the CAS, reads again, and applies the journal's rules
///   ([`RunRecord::apply`](onex_runtime::journal::RunRecord::apply),
///   [`LeaseState`](onex_runtime::journal::LeaseState)) to the newer state;
/// - taking a lease over is a commit, so a holder that was taken over loses its next CAS
///   and, on the fresh read, finds another token: [`JournalError::Fenced`]. A holder whose
///   lease merely expired finds [`JournalError::LeaseExpired`]. Two processes racing for one
///   run both compute "free" from the same revision; one CAS wins, the other reads the
///   winner's lease: [`JournalError::RunLeased`];
/// - what a refused batch sent is dropped with it: no half-written change, no chunk
///   without its pointer or pointer without its chunks. An input is written before the
///   head that names it, under a nonce: a start that loses or dies leaves an input no head
///   names (a loser drops it), never a head naming a missing input;
/// - a reader scans a run's keys with one ordered consumer, which delivers in stream order:
///   with atomic commits, what it reads is the run's state at one revision.
///
/// Clocks do not enter this argument: they only decide when a lease may be taken over
/// ([`KvJournalOptions::clock`]), and every process must agree on them for leases to mean
/// what they say.
///
/// # Durability
///
/// A commit is answered once nats-server has stored it. A one-message commit is written
/// to the stream's files like any publish, which the server syncs to disk every two
/// minutes by default: it survives the server process dying, not the machine losing
/// power (as SQLite's `synchronous = NORMAL`). nats-server syncs an atomic batch to disk
/// before it answers, so with [`KvJournalOptions::max_buffered`] 0 every step write
/// survives a power loss too, at the cost of a disk flush each (a few milliseconds, one
/// batch at a time per stream).
///
/// # Costs
///
/// - A write by the run's holder: one round trip, from the state the handle keeps for the
///   runs it writes; two more (the head, then the touched entries) when that state is
///   stale. The handle's own writes to one run queue behind each other.
/// - [`load_run`](Journal::load_run): one ordered consumer over the run's keys.
/// - [`list_runs`](Journal::list_runs) and [`prune`](Journal::prune): one ordered consumer
///   over every run's head (a few hundred bytes, up to ~16 KiB with a full buffer), so
///   O(runs in the bucket) per call; `prune` adds one purge request per run it deletes
///   (all its keys, by subject filter, below its head's revision, so a run started since
///   under the same id stays).
///
/// # Limits
///
/// - nats-server 2.12 or newer (atomic batches).
/// - One commit writes at most 999 keys besides the head (JetStream's 1,000 messages per
///   atomic batch), chunks included; a larger one is refused with
///   [`JournalError::Storage`].
/// - A stream has at most 50 atomic batches open at once; a writer over it waits and
///   sends its batch again.
/// - A call that nats-server does not answer within [`KvJournalOptions::timeout`] fails
///   with [`JournalError::Storage`]; since the client sends what it queued once it
///   reconnects, such a write may still land later (never over a newer commit).
/// - Rewriting an entry that was chunked leaves its old chunks until the run is pruned.
///
/// [`Layout::journal_bucket`]: crate::Layout::journal_bucket
/// [`Layout::in_memory`]: crate::Layout::in_memory
///
/// # Examples
///
/// ```no_run
/// use onex_nats::{KvJournal, Layout};
/// use onex_runtime::journal::{Journal, NewRun, RunStatus, StepKey};
/// use std::time::Duration;
///
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
/// let journal = KvJournal::open(client, &Layout::default()).await?;
/// let started = journal
///     .start_run(NewRun::new("order-42", "Orders", b"{}".to_vec()), "host-a:4711", Duration::from_secs(30))
///     .await?;
/// let lease = started.lease().unwrap();
/// journal.record_intent(lease, StepKey::new(0, "charge"), 1).await?;
/// journal.record_outcome(lease, StepKey::new(0, "charge"), Ok(br#""ch_1""#.to_vec()), 1).await?;
/// journal.set_status(lease, RunStatus::Completed).await?;
///
/// // Another process, on another machine:
/// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
/// let journal = KvJournal::open(client, &Layout::default()).await?;
/// let run = journal.load_run("order-42").await?.unwrap();
/// assert_eq!(run.output(&StepKey::new(0, "charge")), Some(&br#""ch_1""#[..]));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct KvJournal {
    store: Store,
    held: HeldRuns,
    clock: Arc<dyn Clock>,
    max_value: usize,
    max_buffered: usize,
}

impl KvJournal {
    /// Opens the journal of `layout` (creating its bucket if needed) with the default
    /// [`KvJournalOptions`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
    /// let journal = onex_nats::KvJournal::open(client, &onex_nats::Layout::new("billing")).await?;
    /// assert_eq!(journal.bucket(), "billing-journal");
    /// # Ok(()) }
    /// ```
    pub async fn open(client: async_nats::Client, layout: &Layout) -> Result<Self, JournalError> {
        KvJournal::open_with(client, layout, KvJournalOptions::default()).await
    }

    /// Opens the journal of `layout` (creating its bucket if needed) with `options`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use onex_nats::{KvJournal, KvJournalOptions, Layout};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
    /// let options = KvJournalOptions::new().timeout(Duration::from_secs(2));
    /// let journal = KvJournal::open_with(client, &Layout::default(), options).await?;
    /// # Ok(()) }
    /// ```
    pub async fn open_with(
        client: async_nats::Client,
        layout: &Layout,
        options: KvJournalOptions,
    ) -> Result<Self, JournalError> {
        let bucket = layout.journal_bucket();
        let failed = |e: crate::Error| JournalError::Storage {
            store: bucket.clone(),
            detail: e.to_string(),
        };
        let mut js = async_nats::jetstream::new(client.clone());
        js.set_timeout(options.timeout);
        let (kv, stream) = tokio::time::timeout(options.timeout * 2, layout.bind_journal(&js))
            .await
            .map_err(|_| JournalError::Storage {
                store: bucket.clone(),
                detail: format!(
                    "opening the journal: no answer from nats-server within {:?}",
                    options.timeout * 2
                ),
            })?
            .map_err(failed)?;
        // Room for the headers of a batch message.
        let max_payload = client
            .server_info()
            .max_payload
            .saturating_sub(4096)
            .max(1024);
        Ok(KvJournal {
            store: Store::new(client, kv, stream, options.timeout),
            held: HeldRuns::default(),
            clock: options.clock,
            max_value: options.max_value.min(max_payload),
            max_buffered: options.max_buffered,
        })
    }

    /// The name of the journal's KV bucket.
    pub fn bucket(&self) -> &str {
        self.store.bucket()
    }

    async fn start(
        &self,
        run: NewRun,
        holder: &str,
        ttl: Duration,
    ) -> Result<Started, JournalError> {
        let keys = RunKeys::new(&run.run_id);
        let mut locked = self.held.lock(&run.run_id).await;
        for _ in 0..8 {
            let now = self.clock.now();
            let Some(held) = self.read_fresh(&keys, &[]).await? else {
                let mut record = RunRecord::new(run.run_id.clone(), run.workflow.clone(), now);
                let lease = record.acquire(holder, now, ttl)?;
                // The input goes first, under a key of its own that only the head names:
                // a start that loses the race (or dies) leaves it as garbage, never a head
                // naming a missing input.
                let input = uuid::Uuid::new_v4().simple().to_string();
                let mut values = codec::Values::new(&keys, format!("i{input}"), self.max_value);
                values.add(
                    keys.input(&input),
                    codec::encode_input(&run.input, &run.fingerprint),
                );
                let written: Vec<String> = values.out.iter().map(|(k, _)| k.clone()).collect();
                self.store.put_all(values.out).await?;
                let head = codec::encode_head(&record, &input, []);
                match self.store.commit((&keys.head(), head), 0, Vec::new()).await {
                    Ok(revision) => {
                        locked.set(Some(Held {
                            revision,
                            record,
                            input,
                            steps: Default::default(),
                            buffered: Default::default(),
                            complete: true,
                        }));
                        return Ok(Started::Created(lease));
                    }
                    // Someone started it first: drop our input (best effort: a leftover
                    // is named by no head) and attach to theirs.
                    Err(Refused::Conflict) => {
                        let _ = self.store.purge_keys(&written).await;
                        continue;
                    }
                    Err(Refused::Failed(error)) => return Err(error),
                }
            };
            let mut record = held.record.clone();
            let Some(lease) = record.attach(&run.workflow, holder, now, ttl)? else {
                match self.snapshot(&run.run_id).await? {
                    Some(loaded) => return Ok(Started::Finished(Box::new(loaded.snapshot))),
                    // Pruned meanwhile: the id is free again.
                    None => continue,
                }
            };
            let buffer = held.buffered.iter().filter_map(|s| held.steps.get(s));
            let head = codec::encode_head(&record, &held.input, buffer);
            match self
                .store
                .commit((&keys.head(), head), held.revision, Vec::new())
                .await
            {
                Ok(_) => {}
                Err(Refused::Conflict) => continue,
                Err(Refused::Failed(error)) => return Err(error),
            }
            let Some(loaded) = self.snapshot(&run.run_id).await? else {
                return Err(JournalError::UnknownRun {
                    run_id: run.run_id.clone(),
                });
            };
            locked.set(Some(Held {
                revision: loaded.revision,
                record: loaded.snapshot.record.clone(),
                input: loaded.input,
                steps: loaded
                    .snapshot
                    .steps
                    .iter()
                    .map(|e| (slot(&e.step), e.clone()))
                    .collect(),
                buffered: loaded.buffered,
                complete: true,
            }));
            return Ok(Started::Attached {
                lease,
                run: Box::new(loaded.snapshot),
            });
        }
        Err(self.store.failed(
            &format!("starting run `{}`", run.run_id),
            "the run kept changing under concurrent starts and prunes; try again",
        ))
    }
}

impl Journal for KvJournal {
    fn start_run<'a>(
        &'a self,
        run: NewRun,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Started> {
        self.start(run, holder, ttl).boxed()
    }

    fn acquire_lease<'a>(
        &'a self,
        run_id: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease> {
        self.change(run_id, &[], move |record, _, now| {
            Ok((record.acquire(holder, now, ttl)?, Vec::new()))
        })
        .boxed()
    }

    fn renew_lease<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
        self.change(&lease.run_id, &[], move |record, _, now| {
            Ok((record.renew(lease, now, ttl)?, Vec::new()))
        })
        .boxed()
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
        self.change(&lease.run_id, &[], move |record, _, _| {
            Ok((record.release(lease)?, Vec::new()))
        })
        .boxed()
    }

    fn write<'a>(&'a self, lease: &'a Lease, writes: Vec<Write>) -> JournalFuture<'a, ()> {
        async move {
            let touched: Vec<_> = writes.iter().filter_map(Write::step).cloned().collect();
            self.change(&lease.run_id, &touched, |record, found, now| {
                let changed = record.apply(lease, writes.clone(), now, |step| {
                    Ok::<_, JournalError>(found.get(&slot(step)).cloned())
                })?;
                Ok(((), changed))
            })
            .await
        }
        .boxed()
    }

    fn load_run<'a>(&'a self, run_id: &'a str) -> JournalFuture<'a, Option<RunSnapshot>> {
        async move { Ok(self.snapshot(run_id).await?.map(|loaded| loaded.snapshot)) }.boxed()
    }

    fn list_runs<'a>(&'a self, filter: &'a RunFilter) -> JournalFuture<'a, Vec<RunRecord>> {
        self.list(filter).boxed()
    }

    fn prune<'a>(&'a self, retention: &'a Retention) -> JournalFuture<'a, usize> {
        self.prune_runs(retention).boxed()
    }
}
