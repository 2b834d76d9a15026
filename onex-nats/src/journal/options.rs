//! [`KvJournalOptions`]: the clock, the timeout and the value limit of a [`KvJournal`].
//!
//! [`KvJournal`]: super::KvJournal

use std::sync::Arc;
use std::time::Duration;

use onex_runtime::journal::{Clock, SystemClock};

/// How a [`KvJournal`](super::KvJournal) behaves: which clock leases are measured on, how
/// long it waits for nats-server, and how large a value it stores in one key.
///
/// # Examples
///
/// ```
/// use onex_nats::KvJournalOptions;
/// use onex_runtime::journal::ManualClock;
/// use std::time::Duration;
///
/// let options = KvJournalOptions::new()
///     .clock(ManualClock::new())
///     .timeout(Duration::from_secs(2))
///     .max_value(64 * 1024)
///     .max_buffered(0);
/// assert_eq!(options.timeout, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone)]
pub struct KvJournalOptions {
    /// The clock leases expire by and records are stamped with. Every process sharing a
    /// journal must read the same time: the wall clock (the default), kept in sync by NTP,
    /// with leases well above the skew.
    pub clock: Arc<dyn Clock>,
    /// How long one call to nats-server may take before the operation fails with
    /// [`JournalError::Storage`](onex_runtime::journal::JournalError::Storage) instead of
    /// waiting for a server that is gone. 5 s by default.
    pub timeout: Duration,
    /// The largest value stored in one key, in bytes; larger inputs and step entries are
    /// split into chunks of this size. The server's `max_payload` (less room for headers)
    /// lowers it. 512 KiB by default.
    pub max_value: usize,
    /// How many step entries a run's head holds before they are written to keys of
    /// their own. A commit that fits in the head is one message; one that does not is an
    /// atomic batch, which nats-server syncs to disk before it answers when the bucket is
    /// on file storage. So 0 makes every step write durable on the disk (about a disk
    /// flush per write), and the default 32 makes a step write one message, with a batch
    /// every 32 entries or so. 32 by default.
    pub max_buffered: usize,
}

impl Default for KvJournalOptions {
    fn default() -> Self {
        KvJournalOptions {
            clock: Arc::new(SystemClock),
            timeout: Duration::from_secs(5),
            max_value: 512 * 1024,
            max_buffered: 32,
        }
    }
}

impl KvJournalOptions {
    /// The defaults: the system clock, a 5 s timeout, 512 KiB values, 32 entries buffered
    /// in a run's head.
    pub fn new() -> Self {
        KvJournalOptions::default()
    }

    /// Reads time from `clock`.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Gives up on a call to nats-server after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Keeps at most `entries` step entries in a run's head (0: none).
    pub fn max_buffered(mut self, entries: usize) -> Self {
        self.max_buffered = entries;
        self
    }

    /// Stores at most `bytes` in one key (at least 1).
    pub fn max_value(mut self, bytes: usize) -> Self {
        self.max_value = bytes.max(1);
        self
    }
}
