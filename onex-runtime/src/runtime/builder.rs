//! [`RuntimeBuilder`]: configures a [`Runtime`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use tokio::sync::Semaphore;

use crate::context::{Runtime, Services};
use crate::driver::StepDriver;
use crate::journal::{Journal, Retention};
use crate::policy::blocking::BlockingPool;
use crate::policy::cache::{BuildKey, Cache};
use crate::policy::circuit::Circuit;
use crate::policy::{CachePolicy, CircuitBreaker};
use std::time::Duration;

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
    journal: Option<Arc<dyn Journal>>,
    lease_ttl: Duration,
    holder: Option<String>,
    retention: Option<Retention>,
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
            journal: None,
            lease_ttl: crate::durable::DEFAULT_LEASE_TTL,
            holder: None,
            retention: None,
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

    /// Makes the runs of durable workflows durable: each step call is journaled in
    /// `journal` before and after it runs, so a crashed run resumes in a new process
    /// ([`Runtime::resume`], [`Runtime::recover`]); see [`crate::durable`]. Composes with
    /// [`step_driver`](Self::step_driver): the journal records, and a call it does not
    /// answer from the journal is made as the step driver routes it. Runs of workflows
    /// that do not serialize their input are not journaled.
    ///
    /// ```
    /// use onex::journal::MemoryJournal;
    /// let rt = onex::Runtime::builder().journal(MemoryJournal::new()).build();
    /// assert!(rt.journal().is_some());
    /// ```
    pub fn journal(self, journal: impl Journal + 'static) -> Self {
        self.shared_journal(Arc::new(journal))
    }

    /// [`journal`](Self::journal), with a journal shared with other runtimes or code (an
    /// operator's tool, a test that reads it).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use onex::journal::{Journal, MemoryJournal};
    /// let journal: Arc<dyn Journal> = Arc::new(MemoryJournal::new());
    /// let rt = onex::Runtime::builder().shared_journal(journal.clone()).build();
    /// ```
    pub fn shared_journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// How long a durable run's lease lasts unless renewed (renewed every third of it):
    /// how long a crashed process's runs wait before another process may resume them.
    /// [`DEFAULT_LEASE_TTL`](crate::durable::DEFAULT_LEASE_TTL) unless set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = onex::Runtime::builder().lease_ttl(Duration::from_secs(10)).build();
    /// ```
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// The lease holder id this runtime's durable runs are leased under:
    /// [`holder_id`](crate::durable::holder_id) (unique per process) unless set. Two
    /// runtimes with different ids on one journal behave as two processes.
    ///
    /// ```
    /// let rt = onex::Runtime::builder().holder_id("worker-a").build();
    /// ```
    pub fn holder_id(mut self, holder: impl Into<String>) -> Self {
        self.holder = Some(holder.into());
        self
    }

    /// Prunes finished runs from the journal by `retention` each time a durable run
    /// finishes (unfinished runs are never pruned).
    ///
    /// ```
    /// use std::time::Duration;
    /// use onex::journal::{MemoryJournal, Retention};
    /// let rt = onex::Runtime::builder()
    ///     .journal(MemoryJournal::new())
    ///     .retention(Retention::default().keep_last(10_000).max_age(Duration::from_secs(7 * 86_400)))
    ///     .build();
    /// ```
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = Some(retention);
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
                durable: self.journal.map(|journal| {
                    Arc::new(crate::durable::Durable {
                        journal,
                        holder: Arc::from(
                            self.holder
                                .unwrap_or_else(|| crate::durable::holder_id().to_owned()),
                        ),
                        ttl: self.lease_ttl,
                        retention: self.retention,
                    })
                }),
            }),
        }
    }
}
