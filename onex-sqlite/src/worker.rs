//! A thread that owns one SQLite connection and runs the journal's operations on it.
//!
//! SQLite calls block, and a commit waits for the disk; the async side hands each
//! operation to a worker over a channel and awaits its answer. The writer worker takes
//! every operation queued while its previous commit ran and commits them in one
//! transaction (group commit): one WAL append and, under `synchronous = FULL`, one disk
//! flush for the batch. Each operation runs under its own savepoint, so one refused
//! operation is undone alone; each is answered only after the commit, i.e. once durable.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use onex_runtime::journal::{Clock, JournalError};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::fault::{OpError, Store};

/// What a worker's transactions do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `BEGIN IMMEDIATE`, a savepoint per operation, `COMMIT`.
    Write,
    /// `BEGIN`: the operations of a batch read one snapshot.
    Read,
}

/// A connection thread and the channel to it.
#[derive(Debug)]
pub(crate) struct Worker {
    sender: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    store: Store,
}

/// What a worker needs besides its connection.
pub(crate) struct Setup {
    pub(crate) mode: Mode,
    pub(crate) max_batch: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Store,
    /// Counts committed write batches, for the checkpointer.
    pub(crate) commits: Arc<AtomicU64>,
}

impl Worker {
    /// Starts a thread named `name` serving operations on `conn`.
    pub(crate) fn spawn(name: &str, conn: Connection, setup: Setup) -> Result<Self, JournalError> {
        let (sender, receiver) = mpsc::channel::<Box<dyn Job>>();
        let store = setup.store.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || serve(&conn, &receiver, &setup))
            .map_err(|e| JournalError::Storage {
                store: store.name.to_string(),
                detail: format!("cannot start the journal's {name} thread: {e}"),
            })?;
        Ok(Worker {
            sender: Some(sender),
            thread: Some(thread),
            store,
        })
    }

    /// Runs `work` on the worker's connection inside a transaction; the answer comes once
    /// the transaction committed.
    pub(crate) fn call<T, F>(
        &self,
        work: F,
    ) -> impl Future<Output = Result<T, JournalError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection, SystemTime) -> Result<T, OpError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task = Box::new(Task {
            work: Some(work),
            result: Err(self.store.closed()),
            reply,
        });
        let sent = self
            .sender
            .as_ref()
            .is_some_and(|sender| sender.send(task).is_ok());
        let store = self.store.clone();
        async move {
            if !sent {
                return Err(store.closed());
            }
            answer.await.unwrap_or_else(|_| Err(store.closed()))
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it answered what is queued; joining
        // closes the connection before the journal is gone, so the file can be reopened
        // at once.
        drop(self.sender.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(conn: &Connection, receiver: &mpsc::Receiver<Box<dyn Job>>, setup: &Setup) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < setup.max_batch {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let fault = run_batch(conn, &mut batch, setup);
        if fault.is_none() && setup.mode == Mode::Write {
            setup.commits.fetch_add(1, Ordering::Release);
        }
        for job in batch {
            job.answer(fault.as_ref());
        }
    }
}

/// Runs a batch in one transaction; `Some(fault)` if it was rolled back as a whole.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>], setup: &Setup) -> Option<JournalError> {
    let store = &setup.store;
    let begin = match setup.mode {
        Mode::Write => "BEGIN IMMEDIATE",
        Mode::Read => "BEGIN",
    };
    if let Err(error) = exec(conn, begin) {
        rollback(conn);
        return Some(store.sql(error));
    }
    let savepoints = setup.mode == Mode::Write && batch.len() > 1;
    let mut undo = false;
    for job in batch.iter_mut() {
        if savepoints && let Err(error) = exec(conn, "SAVEPOINT op") {
            rollback(conn);
            return Some(store.sql(error));
        }
        let ran = job.run(conn, setup.clock.now(), store);
        let step = match ran {
            Ran::Done if savepoints => exec(conn, "RELEASE op"),
            Ran::Refused if savepoints => {
                exec(conn, "ROLLBACK TO op").and_then(|()| exec(conn, "RELEASE op"))
            }
            Ran::Done => Ok(()),
            Ran::Refused => {
                undo = true;
                Ok(())
            }
            Ran::Fault(fault) => {
                rollback(conn);
                return Some(fault);
            }
        };
        if let Err(error) = step {
            rollback(conn);
            return Some(store.sql(error));
        }
    }
    let end = if undo { "ROLLBACK" } else { "COMMIT" };
    if let Err(error) = exec(conn, end) {
        rollback(conn);
        return Some(store.sql(error));
    }
    None
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        // If even the rollback fails the connection is unusable; the next batch's BEGIN
        // reports that.
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// How an operation went, for the transaction around it.
enum Ran {
    Done,
    /// Refused by the journal's rules: undo the operation, keep the others.
    Refused,
    /// The store failed: abandon the whole transaction.
    Fault(JournalError),
}

/// One operation waiting in a worker's queue.
trait Job: Send {
    fn run(&mut self, conn: &Connection, now: SystemTime, store: &Store) -> Ran;
    /// Sends the answer: the operation's own, or `fault` if the transaction failed.
    fn answer(self: Box<Self>, fault: Option<&JournalError>);
}

struct Task<T, F> {
    work: Option<F>,
    /// The operation's answer once run; "closed" until then.
    result: Result<T, JournalError>,
    reply: oneshot::Sender<Result<T, JournalError>>,
}

impl<T, F> Job for Task<T, F>
where
    T: Send,
    F: FnOnce(&Connection, SystemTime) -> Result<T, OpError> + Send,
{
    fn run(&mut self, conn: &Connection, now: SystemTime, store: &Store) -> Ran {
        let Some(work) = self.work.take() else {
            return Ran::Done;
        };
        match catch_unwind(AssertUnwindSafe(|| work(conn, now))) {
            Ok(Ok(value)) => {
                self.result = Ok(value);
                Ran::Done
            }
            Ok(Err(error)) => match error.into_journal(store) {
                (fault, true) => Ran::Fault(fault),
                (refusal, false) => {
                    self.result = Err(refusal);
                    Ran::Refused
                }
            },
            // A bug in an operation must not take the worker, and every run journaled
            // through it, down with it.
            Err(panic) => Ran::Fault(JournalError::Storage {
                store: store.name.to_string(),
                detail: format!(
                    "internal error, please report it: {}",
                    panic_message(&panic)
                ),
            }),
        }
    }

    fn answer(self: Box<Self>, fault: Option<&JournalError>) {
        let Task { result, reply, .. } = *self;
        let answer = match fault {
            Some(fault) => Err(fault.clone()),
            None => result,
        };
        // The caller may have stopped waiting (its run was cancelled); the operation
        // still happened, which is what the journal says.
        let _ = reply.send(answer);
    }
}

fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}
