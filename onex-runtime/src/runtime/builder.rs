//! [`RuntimeBuilder`]: configures a [`Runtime`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use tokio::sync::Semaphore;

use crate::context::{Runtime, Services};
use crate::driver::StepDriver;
use crate::policy::blocking::BlockingPool;
use crate::policy::cache::{BuildKey, Cache};
use crate::policy::circuit::Circuit;
use crate::policy::{CachePolicy, CircuitBreaker};

/// Configures a [`Runtime`].
///
/// # Examples
///
/// ```
/// use onex::Runtime;
/// struct Db;
/// let rt = Runtime::builder().max_concurrent_workflows(8).resource(Db).build();
/// ```
pub struct RuntimeBuilder {
    max_concurrent: Option<usize>,
    resources: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    breakers: HashMap<String, CircuitBreaker>,
    /// Breakers keyed by a string, checked against the known node types at `build`.
    breakers_by_name: Vec<String>,
    cache: CachePolicy,
    cache_per_node: HashMap<String, CachePolicy>,
    cache_hasher: Option<Box<dyn BuildKey>>,
    blocking_threads: usize,
    driver: Option<Arc<dyn StepDriver>>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            max_concurrent: None,
            resources: HashMap::new(),
            breakers: HashMap::new(),
            breakers_by_name: Vec::new(),
            cache: CachePolicy::DEFAULT,
            cache_per_node: HashMap::new(),
            cache_hasher: None,
            blocking_threads: RuntimeBuilder::DEFAULT_BLOCKING_THREADS,
            driver: None,
        }
    }
}

impl RuntimeBuilder {
    /// The cache capacity unless set: 1024 entries ([`CachePolicy::DEFAULT`]).
    pub const DEFAULT_CACHE_CAPACITY: usize = CachePolicy::DEFAULT.max_entries;

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

    /// Guards calls to the node `N` with a circuit breaker shared by all runs. `N` is the
    /// node's function name: `#[node]` gives every node a type of that name.
    ///
    /// ```
    /// use std::time::Duration;
    /// use onex::prelude::*;
    ///
    /// #[node(effect, name = "NodePaymentService")]
    /// async fn charge_card(cents: &u64) -> Result<String, NodeError> {
    ///     Ok(format!("charged {cents}"))
    /// }
    ///
    /// let rt = Runtime::builder()
    ///     .circuit_breaker_for::<charge_card>(CircuitBreaker::new(3, Duration::from_secs(30)))
    ///     .build();
    /// assert!(rt.circuit_state("NodePaymentService").is_some());
    /// ```
    pub fn circuit_breaker_for<N: crate::program::node::Node>(
        mut self,
        policy: CircuitBreaker,
    ) -> Self {
        self.breakers.insert(N::NAME.to_owned(), policy);
        self
    }

    /// Guards calls to nodes of type `node_type` (their `target_node_type`) with a circuit
    /// breaker shared by all runs: for node types known only by name, such as those of a
    /// spec `NodeRegistry` (`onex::dynamic`). A name that no `#[node]` compiled into the
    /// program and no `NodeRegistry` made so far has is logged as a `tracing` warning when
    /// the runtime is built, with the closest known name: such a breaker guards nothing.
    /// [`circuit_breaker_for`](Self::circuit_breaker_for) cannot be misspelt.
    pub fn circuit_breaker(mut self, node_type: impl Into<String>, policy: CircuitBreaker) -> Self {
        let node_type = node_type.into();
        self.breakers_by_name.push(node_type.clone());
        self.breakers.insert(node_type, policy);
        self
    }

    /// How many compute outputs the cache keeps for the nodes without a policy of their
    /// own (least recently used go first); 0 turns their caching off. Shorthand for
    /// [`cache_policy`](Self::cache_policy) with `max_entries`.
    ///
    /// ```
    /// use onex::Runtime;
    /// let no_cache = Runtime::builder().cache_capacity(0).build();
    /// ```
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache.max_entries = entries;
        self
    }

    /// The bounds of the cache for the nodes without a policy of their own (they share
    /// them): [`CachePolicy::DEFAULT`] unless set, 1,024 entries and 64 MiB, no time to live.
    ///
    /// ```
    /// use std::time::Duration;
    /// use onex::{CachePolicy, Runtime};
    /// let rt = Runtime::builder()
    ///     .cache_policy(CachePolicy::DEFAULT.max_bytes(8 << 20).ttl(Duration::from_secs(300)))
    ///     .build();
    /// ```
    pub fn cache_policy(mut self, policy: CachePolicy) -> Self {
        self.cache = policy;
        self
    }

    /// Gives the node type `node_type` a cache of its own, bounded by `policy`: its entries
    /// neither count toward nor are evicted by the other nodes' (use [`CachePolicy::OFF`]
    /// to turn its caching off).
    ///
    /// ```
    /// use std::time::Duration;
    /// use onex::{CachePolicy, Runtime};
    /// let rt = Runtime::builder()
    ///     .cache_policy_for("RenderReport", CachePolicy::DEFAULT.max_entries(16).ttl(Duration::from_secs(60)))
    ///     .cache_policy_for("Tokenize", CachePolicy::OFF)
    ///     .build();
    /// ```
    pub fn cache_policy_for(mut self, node_type: impl Into<String>, policy: CachePolicy) -> Self {
        self.cache_per_node.insert(node_type.into(), policy);
        self
    }

    /// The hasher the cache finds entries by. By default a `RandomState`, keyed at random
    /// per runtime, so that no one can craft inputs whose hashes collide; a hit also
    /// compares the inputs, so a collision costs a miss, never a wrong output. Tests set a
    /// hasher of their own to force collisions.
    ///
    /// ```
    /// use std::hash::{BuildHasherDefault, DefaultHasher};
    /// use onex::Runtime;
    /// // Fixed keys: the same hashes in every run of the program.
    /// let rt = Runtime::builder().cache_hasher(BuildHasherDefault::<DefaultHasher>::default()).build();
    /// ```
    pub fn cache_hasher(mut self, hasher: impl BuildHasher + Send + Sync + 'static) -> Self {
        self.cache_hasher = Some(Box::new(hasher));
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
    /// use onex::{Runtime, RuntimeBuilder};
    /// let rt = Runtime::builder().blocking_threads(8).build();
    /// assert_eq!(rt.blocking_threads(), 8);
    /// assert_eq!(Runtime::default().blocking_threads(), RuntimeBuilder::DEFAULT_BLOCKING_THREADS);
    /// ```
    pub fn blocking_threads(mut self, threads: usize) -> Self {
        self.blocking_threads = threads;
        self
    }

    /// Runs every step call of this runtime's runs through `driver`: the seam where a
    /// journal records calls and a remote backend takes them (see [`crate::driver`]).
    ///
    /// ```
    /// # use onex::driver::{CallEnd, CallStart, DriverFuture, Route, RunDriver, RunInfo, StepDriver};
    /// # #[derive(Debug)] struct Journal;
    /// # impl StepDriver for Journal {
    /// #     fn open<'a>(&'a self, _: &'a RunInfo<'a>) -> DriverFuture<'a, Box<dyn RunDriver>> {
    /// #         unimplemented!()
    /// #     }
    /// # }
    /// let rt = onex::Runtime::builder().step_driver(Journal).build();
    /// assert!(rt.has_step_driver());
    /// ```
    pub fn step_driver(mut self, driver: impl StepDriver) -> Self {
        self.driver = Some(Arc::new(driver));
        self
    }

    /// Builds the runtime.
    pub fn build(self) -> Runtime {
        crate::run::clock::warm_up();
        for node_type in &self.breakers_by_name {
            if let Err(suggestion) = crate::program::known_nodes::check(node_type) {
                tracing::warn!(
                    node_type = %node_type,
                    "circuit breaker for `{node_type}`: no node has this type, so it guards nothing{suggestion}"
                );
            }
        }
        Runtime {
            inner: Arc::new(Services {
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
                cache: Cache::new(self.cache, self.cache_per_node, self.cache_hasher),
                blocking: BlockingPool::new(self.blocking_threads),
                driver: self.driver,
            }),
        }
    }
}
