//! The [`Runtime`] handle and the services every run of one runtime shares.
//!
//! Only the handle is declared here, beside the [`Context`](super::Context) that carries
//! it to every call: the programs' side (a `Call` holds a `&Context`) then names it
//! without depending on the executors. What a runtime does — `impl Runtime`, its builder,
//! running a program — is in `runtime/`.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use tokio::sync::Semaphore;

use crate::driver::StepDriver;
use crate::journal::{Journal, Retention};
use crate::policy::blocking::BlockingPool;
use crate::policy::cache::Cache;
use crate::policy::circuit::Circuit;
use std::time::Duration;

/// Runs workflows. Cheap to clone: clones share one runtime.
///
/// # Examples
///
/// ```
/// use onex::Runtime;
/// let rt = Runtime::builder().max_concurrent_workflows(5).build();
/// assert_eq!(rt.max_concurrent_workflows(), Some(5));
/// assert_eq!(Runtime::default().max_concurrent_workflows(), None);
/// ```
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Services>,
}

/// What every run of one runtime shares: admission, resources, circuit breakers, the
/// cache and the blocking pool.
pub(crate) struct Services {
    /// Run slots, when the number of concurrent runs is bounded.
    pub(crate) permits: Option<Semaphore>,
    pub(crate) max_concurrent: Option<usize>,
    pub(crate) resources: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    pub(crate) running: AtomicUsize,
    pub(crate) peak_running: AtomicUsize,
    /// One circuit per guarded node type.
    pub(crate) breakers: HashMap<String, Circuit>,
    pub(crate) cache: Cache,
    pub(crate) blocking: BlockingPool,
    /// Where step calls run and are recorded, if not only here and nowhere.
    pub(crate) driver: Option<Arc<dyn StepDriver>>,
    /// Where durable runs are journaled, if anywhere.
    pub(crate) durable: Option<Arc<Durable>>,
}

/// A runtime's journal and how its runs use it.
pub(crate) struct Durable {
    pub(crate) journal: Arc<dyn Journal>,
    /// This process's lease holder id.
    pub(crate) holder: Arc<str>,
    /// How long a lease lasts unless renewed.
    pub(crate) ttl: Duration,
    /// Finished runs pruned after each run finishes, if set.
    pub(crate) retention: Option<Retention>,
}

impl Services {
    /// The resource of type `T`, if one was registered.
    pub(crate) fn resource<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.resources
            .get(&TypeId::of::<T>())
            .and_then(|r| r.downcast_ref::<T>())
    }
}
