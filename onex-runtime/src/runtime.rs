//! [`Runtime`]: runs workflows, bounding how many run at once, and holds what runs share
//! (resources, circuit breakers, the cache).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::policy::cache::Cache;
use crate::policy::circuit::Circuit;
use crate::policy::{CircuitBreaker, CircuitState};

/// Runs workflows. Cheap to clone: clones share one runtime.
///
/// # Examples
///
/// ```
/// use onex_runtime::Runtime;
/// let rt = Runtime::builder().max_concurrent_workflows(5).build();
/// assert_eq!(rt.max_concurrent_workflows(), Some(5));
/// assert_eq!(Runtime::default().max_concurrent_workflows(), None);
/// ```
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) permits: Option<Semaphore>,
    pub(crate) max_concurrent: Option<usize>,
    pub(crate) resources: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    pub(crate) running: AtomicUsize,
    pub(crate) peak_running: AtomicUsize,
    pub(crate) breakers: HashMap<String, Circuit>,
    pub(crate) cache: Cache,
    pub(crate) blocking: crate::exec::BlockingPool,
}

impl Runtime {
    /// A builder for a runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The bound on concurrent runs, if any.
    pub fn max_concurrent_workflows(&self) -> Option<usize> {
        self.inner.max_concurrent
    }

    /// How many runs are executing now (not counting runs waiting for a slot).
    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::Relaxed)
    }

    /// The most runs that have executed at once on this runtime.
    pub fn peak_running(&self) -> usize {
        self.inner.peak_running.load(Ordering::Relaxed)
    }

    /// The state of the circuit breaker of `node_type`, if one is configured.
    ///
    /// ```
    /// use std::time::Duration;
    /// use onex_runtime::{policy::{CircuitBreaker, CircuitState}, Runtime};
    /// let rt = Runtime::builder().circuit_breaker("Flaky", CircuitBreaker::new(3, Duration::from_secs(1))).build();
    /// assert_eq!(rt.circuit_state("Flaky"), Some(CircuitState::Closed { failures: 0 }));
    /// assert_eq!(rt.circuit_state("Other"), None);
    /// ```
    pub fn circuit_state(&self, node_type: &str) -> Option<CircuitState> {
        self.inner.breakers.get(node_type).map(Circuit::state)
    }

    /// The most threads the blocking pool runs (see
    /// [`RuntimeBuilder::blocking_threads`]).
    pub fn blocking_threads(&self) -> usize {
        self.inner.blocking.size()
    }

    /// How many outputs the cache holds.
    pub fn cached_outputs(&self) -> usize {
        self.inner.cache.len()
    }

    pub(crate) fn resource<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.inner
            .resources
            .get(&TypeId::of::<T>())
            .and_then(|r| r.downcast_ref::<T>())
    }

    /// Waits for a run slot; the returned guard frees it when dropped.
    pub(crate) async fn admit(&self) -> RunSlot<'_> {
        let permit = match &self.inner.permits {
            // The semaphore is never closed, so `acquire` cannot fail.
            Some(semaphore) => semaphore.acquire().await.ok(),
            None => None,
        };
        let now = self.inner.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.inner.peak_running.fetch_max(now, Ordering::Relaxed);
        RunSlot {
            runtime: self,
            _permit: permit,
        }
    }
}

/// A run's claim on the runtime; dropping it lets the next run in.
pub(crate) struct RunSlot<'a> {
    runtime: &'a Runtime,
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Drop for RunSlot<'_> {
    fn drop(&mut self) {
        self.runtime.inner.running.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Runtime {
    /// A runtime with no bound on concurrent runs, no resources, breakers or cache.
    fn default() -> Self {
        Runtime::builder().build()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("max_concurrent_workflows", &self.inner.max_concurrent)
            .field("resources", &self.inner.resources.len())
            .field("running", &self.running())
            .finish_non_exhaustive()
    }
}

/// Configures a [`Runtime`].
///
/// # Examples
///
/// ```
/// use onex_runtime::Runtime;
/// struct Db;
/// let rt = Runtime::builder().max_concurrent_workflows(8).resource(Db).build();
/// ```
pub struct RuntimeBuilder {
    max_concurrent: Option<usize>,
    resources: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    breakers: HashMap<String, CircuitBreaker>,
    cache_capacity: usize,
    blocking_threads: usize,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            max_concurrent: None,
            resources: HashMap::new(),
            breakers: HashMap::new(),
            cache_capacity: RuntimeBuilder::DEFAULT_CACHE_CAPACITY,
            blocking_threads: RuntimeBuilder::DEFAULT_BLOCKING_THREADS,
        }
    }
}

impl RuntimeBuilder {
    /// The cache capacity unless set: 1024 entries.
    pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

    /// At most `n` runs execute at once; further runs wait their turn, in arrival order
    /// (0 is treated as 1).
    pub fn max_concurrent_workflows(mut self, n: usize) -> Self {
        self.max_concurrent = Some(n.max(1));
        self
    }

    /// Registers a resource that effect nodes fetch by type with
    /// [`Context::resource`](crate::Context::resource). A second resource of the same type
    /// replaces the first.
    pub fn resource<T: Any + Send + Sync>(mut self, resource: T) -> Self {
        self.resources.insert(TypeId::of::<T>(), Arc::new(resource));
        self
    }

    /// Guards calls to nodes of type `node_type` with a circuit breaker shared by all runs.
    pub fn circuit_breaker(mut self, node_type: impl Into<String>, policy: CircuitBreaker) -> Self {
        self.breakers.insert(node_type.into(), policy);
        self
    }

    /// How many compute outputs the cache keeps (least recently used go first).
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// The blocking pool's size unless set: 64 threads.
    pub const DEFAULT_BLOCKING_THREADS: usize = 64;

    /// How many threads the blocking pool runs (0 is treated as 1).
    ///
    /// Synchronous calls that have a timeout run on this pool, not on the rayon pool that
    /// compute steps use: a synchronous call cannot be stopped when its timeout fires, so a
    /// hung one keeps its thread until it returns, and this bounds how many threads hung
    /// calls can hold. Threads start on demand and stop after 10 s without work. When all
    /// of them are busy (with hung calls or not), a call waits for a thread, first come
    /// first served, **and its timeout counts while it waits**: one whose timeout passes
    /// before a thread frees up fails with `Timeout` without running. Calls still running
    /// when their run ends are reported as stuck (`WorkflowReport::stuck_calls`).
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_runtime::{Runtime, RuntimeBuilder};
    /// let rt = Runtime::builder().blocking_threads(8).build();
    /// assert_eq!(rt.blocking_threads(), 8);
    /// assert_eq!(Runtime::default().blocking_threads(), RuntimeBuilder::DEFAULT_BLOCKING_THREADS);
    /// ```
    pub fn blocking_threads(mut self, threads: usize) -> Self {
        self.blocking_threads = threads;
        self
    }

    /// Builds the runtime.
    pub fn build(self) -> Runtime {
        crate::exec::warm_up_clock();
        Runtime {
            inner: Arc::new(Inner {
                permits: self.max_concurrent.map(Semaphore::new),
                max_concurrent: self.max_concurrent,
                resources: self.resources,
                running: AtomicUsize::new(0),
                peak_running: AtomicUsize::new(0),
                breakers: self
                    .breakers
                    .into_iter()
                    .map(|(node, policy)| (node, Circuit::new(policy)))
                    .collect(),
                cache: Cache::new(self.cache_capacity),
                blocking: crate::exec::BlockingPool::new(self.blocking_threads),
            }),
        }
    }
}
