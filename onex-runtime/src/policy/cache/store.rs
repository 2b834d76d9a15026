//! [`Cache`]: the entries, in least-recently-used order, one partition for the nodes
//! sharing the runtime's policy and one per node type with a policy of its own.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Arc, Mutex};

use lru::LruCache;
use tokio::time::Instant;

use super::{CacheEntry, CachePolicy, KeyHasher};

/// A `BuildHasher` behind a reference: the runtime's cache hasher, random by default.
pub(crate) trait BuildKey: Send + Sync {
    /// Builds a hasher, lets `write` feed it, and finishes it unless `write` said no.
    fn hash_dyn(&self, write: &mut dyn FnMut(&mut dyn Hasher) -> bool) -> Option<u64>;
}

impl<B: BuildHasher + Send + Sync> BuildKey for B {
    fn hash_dyn(&self, write: &mut dyn FnMut(&mut dyn Hasher) -> bool) -> Option<u64> {
        let mut h = self.build_hasher();
        write(&mut h).then(|| h.finish())
    }
}

/// What an entry costs beyond its inputs and output: its slot in the list and map, the
/// boxes holding them.
const ENTRY_OVERHEAD: usize = size_of::<Stored>() + size_of::<CacheEntry>() + 64;

/// Outputs of compute calls, keyed by a hash of node type and inputs.
pub(crate) struct Cache {
    shared: Partition,
    own: HashMap<String, Partition>,
    keys: Box<dyn BuildKey>,
}

/// Entries under one policy.
struct Partition {
    policy: CachePolicy,
    lru: Mutex<Lru>,
}

struct Lru {
    entries: LruCache<u64, Stored>,
    bytes: usize,
}

struct Stored {
    node_type: Box<str>,
    entry: Arc<CacheEntry>,
    weight: usize,
    expires: Option<Instant>,
}

impl Partition {
    fn new(policy: CachePolicy) -> Self {
        Partition {
            policy,
            lru: Mutex::new(Lru {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // Entries are inserted and removed whole, so a panic elsewhere cannot leave one
        // half-made: a poisoned lock is safe to keep using.
        self.lru.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Cache {
    /// A cache under `shared` for every node type not in `own`, hashing with `keys`.
    pub(crate) fn new(
        shared: CachePolicy,
        own: HashMap<String, CachePolicy>,
        keys: Option<Box<dyn BuildKey>>,
    ) -> Self {
        Cache {
            shared: Partition::new(shared),
            own: own
                .into_iter()
                .map(|(node, policy)| (node, Partition::new(policy)))
                .collect(),
            keys: keys.unwrap_or_else(|| Box::new(RandomState::new())),
        }
    }

    fn partition(&self, node_type: &str) -> &Partition {
        if self.own.is_empty() {
            return &self.shared;
        }
        self.own.get(node_type).unwrap_or(&self.shared)
    }

    /// Whether calls of `node_type` may be cached at all.
    pub(crate) fn is_on(&self, node_type: &str) -> bool {
        !self.partition(node_type).policy.is_off()
    }

    /// The hasher of `node_type`'s keys.
    pub(crate) fn hasher<'a>(&'a self, node_type: &'a str) -> KeyHasher<'a> {
        KeyHasher::of(&*self.keys, node_type)
    }

    /// The entry stored under `hash` for `node_type`, unless it expired. The caller still
    /// has to check that its inputs are the call's.
    pub(crate) fn get(&self, node_type: &str, hash: u64) -> Option<Arc<CacheEntry>> {
        let part = self.partition(node_type);
        let expired = {
            let mut lru = part.lock();
            let stored = lru.entries.get(&hash)?;
            if stored.expires.is_none_or(|at| at > Instant::now()) {
                return (*stored.node_type == *node_type).then(|| Arc::clone(&stored.entry));
            }
            let gone = lru.entries.pop(&hash);
            if let Some(gone) = &gone {
                lru.bytes -= gone.weight;
            }
            gone
        };
        // Dropped out of the lock: it may hold large user values.
        drop(expired);
        None
    }

    /// Stores `entry` under `hash` for `node_type`, then evicts the least recently used
    /// entries until the partition is within its bounds. An entry heavier than the bound
    /// on bytes is not stored.
    pub(crate) fn put(&self, node_type: &str, hash: u64, entry: CacheEntry) {
        let part = self.partition(node_type);
        let policy = part.policy;
        let weight = entry
            .weight()
            .saturating_add(ENTRY_OVERHEAD + node_type.len());
        if policy.is_off() || weight > policy.max_bytes {
            return;
        }
        let stored = Stored {
            node_type: node_type.into(),
            entry: Arc::new(entry),
            weight,
            // A time to live too long to add to now never expires.
            expires: policy.ttl.and_then(|ttl| Instant::now().checked_add(ttl)),
        };
        let mut evicted = Vec::new();
        {
            let mut lru = part.lock();
            if let Some((_, replaced)) = lru.entries.push(hash, stored) {
                lru.bytes -= replaced.weight;
                evicted.push(replaced);
            }
            lru.bytes += weight;
            while lru.entries.len() > policy.max_entries || lru.bytes > policy.max_bytes {
                let Some((_, old)) = lru.entries.pop_lru() else {
                    break;
                };
                lru.bytes -= old.weight;
                evicted.push(old);
            }
        }
        drop(evicted);
    }

    fn partitions(&self) -> impl Iterator<Item = &Partition> {
        std::iter::once(&self.shared).chain(self.own.values())
    }

    /// How many entries are stored.
    pub(crate) fn len(&self) -> usize {
        self.partitions().map(|p| p.lock().entries.len()).sum()
    }

    /// The estimated bytes of the stored entries.
    pub(crate) fn bytes(&self) -> usize {
        self.partitions().map(|p| p.lock().bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cache(policy: CachePolicy) -> Cache {
        Cache::new(policy, HashMap::new(), None)
    }

    fn entry(n: u64, weight: usize) -> CacheEntry {
        CacheEntry::new(n, n * n, weight)
    }

    #[test]
    fn least_recently_used_entries_are_evicted() {
        let cache = cache(CachePolicy::DEFAULT.max_entries(2));
        cache.put("n", 1, entry(1, 0));
        cache.put("n", 2, entry(2, 0));
        assert!(cache.get("n", 1).is_some());
        cache.put("n", 3, entry(3, 0));
        assert!(cache.get("n", 2).is_none(), "2 was least recently used");
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_bytes_are_bounded_too() {
        let one = ENTRY_OVERHEAD + 1 + 1000;
        let cache = cache(CachePolicy::DEFAULT.max_bytes(3 * one));
        for n in 0..10 {
            cache.put("n", n, entry(n, 1000));
            assert!(cache.bytes() <= 3 * one);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.bytes(), 3 * one);
        assert!(cache.get("n", 9).is_some() && cache.get("n", 6).is_none());
        // Heavier than the bound alone: not stored, nothing evicted for it.
        cache.put("n", 100, entry(100, 3 * one));
        assert!(cache.get("n", 100).is_none());
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn a_replaced_entry_gives_its_bytes_back() {
        let cache = cache(CachePolicy::DEFAULT);
        cache.put("n", 1, entry(1, 500));
        cache.put("n", 1, entry(1, 100));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.bytes(), ENTRY_OVERHEAD + 1 + 100);
    }

    #[test]
    fn an_entry_is_found_only_by_its_own_node_type() {
        let cache = cache(CachePolicy::DEFAULT);
        cache.put("Square", 7, entry(7, 0));
        assert!(cache.get("Square", 7).is_some());
        assert!(cache.get("Cube", 7).is_none(), "same hash, another node");
    }

    #[test]
    fn nodes_with_a_policy_of_their_own_keep_their_entries_apart() {
        let own = HashMap::from([("Big".to_string(), CachePolicy::DEFAULT.max_entries(1))]);
        let cache = Cache::new(CachePolicy::DEFAULT.max_entries(2), own, None);
        cache.put("Big", 1, entry(1, 0));
        cache.put("Big", 2, entry(2, 0));
        cache.put("Small", 1, entry(1, 0));
        cache.put("Small", 2, entry(2, 0));
        assert!(cache.get("Big", 1).is_none() && cache.get("Big", 2).is_some());
        assert!(cache.get("Small", 1).is_some() && cache.get("Small", 2).is_some());
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn an_off_policy_stores_nothing() {
        for policy in [
            CachePolicy::OFF,
            CachePolicy::DEFAULT.max_entries(0),
            CachePolicy::DEFAULT.max_bytes(0),
            CachePolicy::DEFAULT.ttl(Duration::ZERO),
        ] {
            let cache = cache(policy);
            assert!(!cache.is_on("n"), "{policy:?}");
            cache.put("n", 1, entry(1, 0));
            assert_eq!(cache.len(), 0, "{policy:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_their_time_to_live() {
        let cache = cache(CachePolicy::DEFAULT.ttl(Duration::from_secs(60)));
        cache.put("n", 1, entry(1, 0));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(cache.get("n", 1).is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.get("n", 1).is_none(), "expired at 60 s");
        assert_eq!((cache.len(), cache.bytes()), (0, 0), "and removed");
    }

    #[test]
    fn keys_are_random_per_cache() {
        let (a, b) = (cache(CachePolicy::DEFAULT), cache(CachePolicy::DEFAULT));
        let (ha, hb) = (a.hasher("n"), b.hasher("n"));
        assert_eq!(ha.hash_one(&1_u64), ha.hash_one(&1_u64));
        assert_ne!(ha.hash_one(&1_u64), hb.hash_one(&1_u64));
    }
}
