//! The output cache for compute steps, per runtime, bounded in size (least recently used
//! entries go first). Failures are never cached.

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

use crate::program::CachedValue;

/// Outputs keyed by node type and input hash.
pub(crate) struct Cache {
    entries: Mutex<LruCache<(Cow<'static, str>, u64), CachedValue>>,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Self {
        Cache {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    // `&Cow` on purpose: cloning a borrowed `Cow` into the key costs no allocation.
    #[allow(clippy::ptr_arg)]
    pub(crate) fn get(&self, node_type: &Cow<'static, str>, hash: u64) -> Option<CachedValue> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&(node_type.clone(), hash)).cloned()
    }

    #[allow(clippy::ptr_arg)]
    pub(crate) fn put(&self, node_type: &Cow<'static, str>, hash: u64, value: CachedValue) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.put((node_type.clone(), hash), value);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn least_recently_used_entries_are_evicted() {
        let cache = Cache::new(2);
        let n: Cow<'static, str> = Cow::Borrowed("n");
        cache.put(&n, 1, Arc::new(1u8));
        cache.put(&n, 2, Arc::new(2u8));
        assert!(cache.get(&n, 1).is_some());
        cache.put(&n, 3, Arc::new(3u8));
        assert!(cache.get(&n, 2).is_none(), "2 was least recently used");
        assert_eq!(cache.len(), 2);
    }
}
