//! The time a journal reads: leases expire by it and records are stamped with it.
//!
//! A journal takes its clock as a value so that lease expiry can be tested by moving a
//! [`ManualClock`] instead of sleeping, and so that every backend agrees on the precision:
//! journal times are whole milliseconds since the Unix epoch.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time for a journal.
///
/// # Examples
///
/// ```
/// use onex::journal::{Clock, SystemClock};
/// use std::time::SystemTime;
///
/// let now = SystemClock.now();
/// assert!(now <= SystemTime::now());
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, in whole milliseconds.
    fn now(&self) -> SystemTime;
}

/// The machine's wall clock, truncated to milliseconds.
///
/// Leases are shared between processes, possibly on several machines, so they are measured
/// on the wall clock; keep the machines' clocks in sync (NTP) and leases well above the
/// skew.
///
/// # Examples
///
/// ```
/// use onex::journal::{Clock, SystemClock, unix_millis};
///
/// let millis = unix_millis(SystemClock.now());
/// assert!(millis > 1_600_000_000_000);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        from_unix_millis(unix_millis(SystemTime::now()))
    }
}

/// A clock that moves only when told to: for tests of lease expiry and retention.
///
/// Clones share the same time, so a test keeps one and hands another to the journal.
///
/// # Examples
///
/// ```
/// use onex::journal::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(clock.now().duration_since(start).unwrap(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// 2024-01-01T00:00:00Z: a fixed, readable start for tests.
    const START: u64 = 1_704_067_200_000;

    /// A clock standing at 2024-01-01T00:00:00Z.
    pub fn new() -> Self {
        ManualClock {
            millis: Arc::new(AtomicU64::new(Self::START)),
        }
    }

    /// Moves the clock forward (by whole milliseconds; a finer part is dropped).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the clock to `time` (truncated to milliseconds); it may go backwards.
    pub fn set(&self, time: SystemTime) {
        self.millis
            .store(unix_millis(time).max(0) as u64, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        from_unix_millis(self.millis.load(Ordering::SeqCst) as i64)
    }
}

/// Milliseconds since the Unix epoch, the form journals store times in (0 before 1970).
///
/// # Examples
///
/// ```
/// use onex::journal::{from_unix_millis, unix_millis};
///
/// let t = from_unix_millis(1_704_067_200_123);
/// assert_eq!(unix_millis(t), 1_704_067_200_123);
/// ```
pub fn unix_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time `millis` milliseconds after the Unix epoch (the epoch itself if negative).
///
/// # Examples
///
/// ```
/// use onex::journal::from_unix_millis;
/// use std::time::UNIX_EPOCH;
///
/// assert_eq!(from_unix_millis(-5), UNIX_EPOCH);
/// ```
pub fn from_unix_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64)
}

/// `time + by`, saturating far in the future instead of overflowing.
pub(crate) fn later(time: SystemTime, by: Duration) -> SystemTime {
    time.checked_add(by)
        .unwrap_or_else(|| from_unix_millis(i64::MAX / 2))
}

/// A time as readable UTC, for error messages: `2024-01-01T00:00:30.000Z`.
pub(crate) fn utc(time: &SystemTime) -> humantime::Rfc3339Timestamp {
    humantime::format_rfc3339_millis(*time)
}
