//! The embedded SQLite journal for durable onex runs: [`SqliteJournal`], an
//! `onex_runtime::journal::Journal` in one file, with no server to run.
//!
//! ```
//! use onex_sqlite::SqliteJournal;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let journal = SqliteJournal::open(dir.path().join("runs.db")).unwrap();
//! ```
//!
//! # Durability: which `synchronous`
//!
//! The journal runs SQLite in WAL mode; [`Synchronous`] says how hard each commit is
//! pushed to the disk, and the default, **`Synchronous::Normal`, is the recommended
//! setting**:
//!
//! - `Normal` makes a commit durable against a crash of the process (a panic, an OOM kill,
//!   a deploy, `kill -9`): the commit is in the write-ahead log in the kernel's hands
//!   before the write is answered. What it does not survive is the machine losing power
//!   or the kernel crashing before it writes the log out: the last commits may then be
//!   lost, and an effect whose intent was among them may run again on resume.
//! - `Full` also survives that, by flushing the log to the disk on every commit. The
//!   flush is the whole cost: on the virtual disk CI runs on a commit takes about 6 µs
//!   under `Normal` and about 130 µs under `Full`, so a step (intent + outcome) costs
//!   about 11 µs against about 260 µs — over the 50 µs per step budget onex sets for
//!   journaling — and single flushes now and then take milliseconds.
//!
//! Choose `Full` when a power loss must not repeat an effect (payments without an
//! idempotency key on the other side); group commit and the fused "outcome of step k +
//! intent of step k + 1" write bring its cost per step down to tens of microseconds when
//! many runs journal at once. Figures: `onex-sqlite/BENCHMARKS.md`.
//!
//! # How it works
//!
//! - One writer thread owns the write connection. Operations from any number of tasks
//!   queue to it; it commits all that queued while its previous commit ran in one
//!   transaction (group commit), each under its own savepoint so one refused operation
//!   does not undo the others, and answers each only once the transaction committed.
//! - A second connection serves reads, so loading a run for a resume or a `runs list`
//!   never waits behind writes.
//! - A third connection checkpoints the write-ahead log in the background, so no commit
//!   pays for a checkpoint.
//! - The schema is versioned (`user_version`, `application_id` = "onex"): a newer schema,
//!   another application's database and a non-SQLite file are refused with clear errors.

#![warn(missing_docs)]

mod checkpoint;
mod fault;
mod journal;
mod ops;
mod options;
mod rows;
mod schema;
mod worker;

pub use journal::SqliteJournal;
pub use options::{SqliteOptions, Synchronous};
