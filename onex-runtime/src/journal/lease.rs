//! One owner per run: leases with an expiry and a fencing token.
//!
//! A process works on a run only while it holds the run's lease, renews it by heartbeat,
//! and carries its token on every write. Each acquisition increases the token, so a
//! holder that stalled past its expiry and was replaced finds its late writes refused
//! ([`JournalError::Fenced`]) instead of overwriting its successor's.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::clock::later;
use super::error::JournalError;

/// The right to write a run, as its holder carries it.
///
/// Returned by [`Journal::start_run`](super::Journal::start_run) and
/// [`Journal::acquire_lease`](super::Journal::acquire_lease); renewed with
/// [`Journal::renew_lease`](super::Journal::renew_lease).
///
/// # Examples
///
/// ```
/// use onex::journal::{Clock, Journal, ManualClock, MemoryJournal, NewRun};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let clock = ManualClock::new();
/// let journal = MemoryJournal::with_clock(clock.clone());
/// let started = journal
///     .start_run(NewRun::new("order-42", "Orders", b"{}".to_vec()), "worker-a", Duration::from_secs(30))
///     .await
///     .unwrap();
/// let lease = started.lease().unwrap();
/// assert_eq!(&*lease.holder, "worker-a");
/// assert_eq!(lease.token, 1);
/// assert_eq!(lease.until, clock.now() + Duration::from_secs(30));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The run leased.
    pub run_id: Arc<str>,
    /// Who holds it (unique per process).
    pub holder: Arc<str>,
    /// The fencing token: greater than every earlier holder's.
    pub token: u64,
    /// When the lease expires unless renewed.
    pub until: SystemTime,
}

/// A run's lease as the journal stores it: the current token, and the holder unless it was
/// released. Its methods are the lease rules every backend applies.
///
/// # Examples
///
/// ```
/// use onex::journal::{JournalError, LeaseState};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_000);
/// let ttl = Duration::from_secs(10);
/// let mut state = LeaseState::default();
/// let a = state.acquire("r1", "a", now, ttl).unwrap();
/// let refused = state.acquire("r1", "b", now, ttl).unwrap_err();
/// assert!(matches!(refused, JournalError::RunLeased { .. }));
///
/// // After the expiry `b` takes over, and `a`'s token is stale.
/// let b = state.acquire("r1", "b", now + ttl, ttl).unwrap();
/// assert!(b.token > a.token);
/// assert!(matches!(state.check(&a, now + ttl), Err(JournalError::Fenced { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// The holder, unless released (or never acquired).
    pub holder: Option<Arc<str>>,
    /// The token of the latest acquisition (0 before the first).
    pub token: u64,
    /// When the current holder's lease expires.
    pub until: SystemTime,
}

impl Default for LeaseState {
    fn default() -> Self {
        LeaseState {
            holder: None,
            token: 0,
            until: UNIX_EPOCH,
        }
    }
}

impl LeaseState {
    /// Who holds the lease at `now`, and until when (`None` if released or expired).
    pub fn held_at(&self, now: SystemTime) -> Option<(&str, SystemTime)> {
        self.holder
            .as_deref()
            .filter(|_| self.until > now)
            .map(|holder| (holder, self.until))
    }

    /// Takes the lease for `holder` until `now + ttl` with a new token, unless someone
    /// (even `holder` itself) holds it unexpired.
    pub fn acquire(
        &mut self,
        run_id: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Lease, JournalError> {
        if let Some((current, until)) = self.held_at(now) {
            return Err(JournalError::RunLeased {
                run_id: run_id.to_owned(),
                holder: current.to_owned(),
                until,
            });
        }
        let holder: Arc<str> = Arc::from(holder);
        self.holder = Some(holder.clone());
        self.token += 1;
        self.until = later(now, ttl);
        Ok(Lease {
            run_id: Arc::from(run_id),
            holder,
            token: self.token,
            until: self.until,
        })
    }

    /// Extends `lease` to `now + ttl`. A lease that expired is renewed too, as long as
    /// nobody took the run over meanwhile (its token is still current).
    pub fn renew(
        &mut self,
        lease: &Lease,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Lease, JournalError> {
        self.current(lease)?;
        self.until = later(now, ttl);
        Ok(Lease {
            until: self.until,
            ..lease.clone()
        })
    }

    /// Gives the lease up, so another holder may acquire it at once.
    pub fn release(&mut self, lease: &Lease) -> Result<(), JournalError> {
        self.current(lease)?;
        self.holder = None;
        Ok(())
    }

    /// Whether `lease` may write at `now`: its token is current and it has not expired.
    pub fn check(&self, lease: &Lease, now: SystemTime) -> Result<(), JournalError> {
        self.current(lease)?;
        if self.until <= now {
            return Err(JournalError::LeaseExpired {
                run_id: lease.run_id.to_string(),
                holder: lease.holder.to_string(),
                expired_at: self.until,
            });
        }
        Ok(())
    }

    fn current(&self, lease: &Lease) -> Result<(), JournalError> {
        if lease.token != self.token || self.holder.is_none() {
            return Err(JournalError::Fenced {
                run_id: lease.run_id.to_string(),
                token: lease.token,
                current: self.token,
                holder: self.holder.as_deref().map(str::to_owned),
            });
        }
        Ok(())
    }
}
