//! The output cache of compute steps, per [`Runtime`](crate::Runtime).
//!
//! A call's entry is found by a hash of its node type and inputs, then *checked*: an entry
//! keeps an owned copy of the inputs it was made for ([`CacheEntry`]), and a hit needs them
//! equal (`==`) to the call's. Inputs hashed alone would hand one input's output to another
//! whose hash collides, by chance or by design. Keeping the inputs themselves, rather than
//! their serialized form, asks of them what a `HashMap` key needs and nothing more
//! ([`CacheKey`]: `Hash + Eq + Clone`); serializing would add a `Serialize` bound and a
//! serialization of the inputs at every lookup, and would miss equal values that serialize
//! differently (a `HashSet` in another order). The hash is keyed at random per runtime
//! (`RandomState`) unless the runtime is given a hasher
//! ([`RuntimeBuilder::cache_hasher`](crate::RuntimeBuilder::cache_hasher)).
//!
//! The cache is bounded by entries and by bytes, least recently used entries going first,
//! and entries may expire after a time to live ([`CachePolicy`]). The bytes are an estimate
//! of what each entry keeps alive, inputs and output ([`CacheWeight`]). Nodes given a policy
//! of their own ([`RuntimeBuilder::cache_policy_for`](crate::RuntimeBuilder::cache_policy_for))
//! keep their entries apart, within their own bounds; all others share the runtime's.
//! Failures are never cached.

mod entry;
pub(crate) mod key;
mod store;
pub(crate) mod weight;

use std::time::Duration;

pub use entry::{CacheEntry, KeyHasher};
pub use key::CacheKey;
pub(crate) use store::{BuildKey, Cache};
pub use weight::CacheWeight;

/// How many outputs the cache keeps, how many bytes they may take, and for how long: for
/// the nodes without a policy of their own
/// ([`RuntimeBuilder::cache_policy`](crate::RuntimeBuilder::cache_policy)), or for one node
/// type ([`RuntimeBuilder::cache_policy_for`](crate::RuntimeBuilder::cache_policy_for)).
///
/// The least recently used entries go first when either bound is reached; an entry that
/// alone weighs more than `max_bytes` is not kept. A policy with no entries or no bytes
/// turns caching off ([`CachePolicy::OFF`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::{CachePolicy, Runtime};
///
/// let rt = Runtime::builder()
///     // Every cached node shares at most 1,000 entries and 16 MiB...
///     .cache_policy(CachePolicy::DEFAULT.max_entries(1_000).max_bytes(16 << 20))
///     // ...except `Render`, which keeps 10 entries of its own, for a minute each.
///     .cache_policy_for("Render", CachePolicy::DEFAULT.max_entries(10).ttl(Duration::from_secs(60)))
///     .build();
/// assert_eq!(CachePolicy::DEFAULT.max_entries, 1024);
/// assert_eq!(CachePolicy::DEFAULT.max_bytes, 64 << 20);
/// assert!(CachePolicy::OFF.is_off() && !CachePolicy::DEFAULT.is_off());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CachePolicy {
    /// How many entries are kept at most.
    pub max_entries: usize,
    /// How many bytes the entries may weigh together, as [`CacheWeight`] estimates them.
    pub max_bytes: usize,
    /// How long an entry answers after it was stored; `None`: until it is evicted.
    pub ttl: Option<Duration>,
}

impl CachePolicy {
    /// 1,024 entries, 64 MiB, no time to live: the policy of a runtime not told otherwise.
    pub const DEFAULT: CachePolicy = CachePolicy {
        max_entries: 1024,
        max_bytes: 64 << 20,
        ttl: None,
    };

    /// Caching off.
    pub const OFF: CachePolicy = CachePolicy {
        max_entries: 0,
        max_bytes: 0,
        ttl: None,
    };

    /// The same policy with at most `n` entries (0 turns caching off).
    pub const fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = n;
        self
    }

    /// The same policy with at most `bytes` of entries (0 turns caching off).
    pub const fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The same policy with entries expiring `ttl` after they were stored.
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Whether the policy keeps nothing: no entries, no bytes, or a zero time to live.
    pub const fn is_off(&self) -> bool {
        self.max_entries == 0
            || self.max_bytes == 0
            || matches!(self.ttl, Some(ttl) if ttl.is_zero())
    }
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy::DEFAULT
    }
}
