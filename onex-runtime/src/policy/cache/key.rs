//! What a cached node's inputs and output must be, and how the code `#[node]` generates
//! hashes, keeps and compares them.
//!
//! The generated code works on the concrete types of one node, through autoref
//! specialization (as [`Capture`](crate::capture::Capture) does): `(&&CacheInput(a)).key()`
//! picks the [`CacheKey`] impl when the input type has the bounds and a fallback that
//! caches nothing otherwise. So a type without the bounds breaks none of that code: the one
//! error is the check `#[node]` emits on the parameter's type ([`CachedInput`]), whose
//! message names the type and the bounds.

use std::any::Any;
use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// What a cached node's inputs must be: `Hash + Eq + Clone + Send + Sync + 'static`, the
/// bounds of a `HashMap` key that a runtime shared by threads can keep a copy of.
///
/// Implemented for every such type (and for unsized ones, like `str` and `[T]`, whose
/// owned form is, through [`ToOwned`]); never implement it yourself. The cache keeps a
/// copy of each call's inputs and answers a later call from it only if the inputs are
/// equal (`==`), so `Eq` must agree with `Hash`, as for any `HashMap` key.
///
/// # Examples
///
/// ```
/// use onex::CacheKey;
/// fn cacheable<T: CacheKey + ?Sized>() {}
/// cacheable::<u64>();
/// cacheable::<str>();
/// cacheable::<Vec<String>>();
/// // cacheable::<f64>(); // not `Eq`, nor `Hash`
/// ```
pub trait CacheKey: Hash + Eq + ToOwned<Owned: Send + Sync + 'static> {}

impl<T> CacheKey for T where T: Hash + Eq + ToOwned<Owned: Send + Sync + 'static> + ?Sized {}

/// The copy of one input an entry keeps: an `Option<T::Owned>` (`None` for an
/// `Option<&T>` parameter whose step was skipped).
pub type StoredInput = Box<dyn Any + Send + Sync>;

/// One input of a cached call, as the node's shim receives it.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{CacheInput, CacheInputKey, NotCacheInputKey};
/// struct Opaque;
/// let key = (&&CacheInput(Some(&7_u64))).key().expect("u64 is a cache key");
/// assert!((&&CacheInput(Some(&7_u64))).matches(&key));
/// assert!(!(&&CacheInput(Some(&8_u64))).matches(&key));
/// assert!((&&CacheInput(Some(&Opaque))).key().is_none());
/// ```
pub struct CacheInput<'a, T: ?Sized>(pub Option<&'a T>);

/// Chosen when the input is a [`CacheKey`].
pub trait CacheInputKey {
    /// Feeds the input to `h`; `false` when it cannot be cached.
    fn hash_into(&self, h: &mut dyn Hasher) -> bool;
    /// An owned copy of the input, to keep in an entry.
    fn key(&self) -> Option<StoredInput>;
    /// Whether `key` is a copy of an input equal to this one.
    fn matches(&self, key: &StoredInput) -> bool;
}

impl<T: CacheKey + ?Sized> CacheInputKey for &CacheInput<'_, T> {
    fn hash_into(&self, mut h: &mut dyn Hasher) -> bool {
        self.0.hash(&mut h);
        true
    }
    fn key(&self) -> Option<StoredInput> {
        Some(Box::new(self.0.map(T::to_owned)))
    }
    fn matches(&self, key: &StoredInput) -> bool {
        match key.downcast_ref::<Option<T::Owned>>() {
            Some(kept) => kept.as_ref().map(Borrow::borrow) == self.0,
            None => false,
        }
    }
}

/// Chosen otherwise: nothing is cached (and [`CachedInput`] reports why).
pub trait NotCacheInputKey {
    /// `false`.
    fn hash_into(&self, h: &mut dyn Hasher) -> bool {
        let _ = h;
        false
    }
    /// `None`.
    fn key(&self) -> Option<StoredInput> {
        None
    }
    /// `false`.
    fn matches(&self, key: &StoredInput) -> bool {
        let _ = key;
        false
    }
}

impl<T: ?Sized> NotCacheInputKey for &&CacheInput<'_, T> {}

/// The output of a cached call.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{CacheOutput, CacheOutputCopy, NotCacheOutputCopy};
/// struct Opaque;
/// assert_eq!((&&CacheOutput(&String::from("out"))).copy().as_deref(), Some("out"));
/// assert!((&&CacheOutput(&Opaque)).copy().is_none());
/// ```
pub struct CacheOutput<'a, T>(pub &'a T);

/// Chosen when the output can be copied into the cache.
pub trait CacheOutputCopy<T> {
    /// A copy of the output.
    fn copy(&self) -> Option<T>;
}

impl<T: Clone + Send + Sync + 'static> CacheOutputCopy<T> for &CacheOutput<'_, T> {
    fn copy(&self) -> Option<T> {
        Some(self.0.clone())
    }
}

/// Chosen otherwise: nothing is cached (and [`CachedOutput`] reports why).
pub trait NotCacheOutputCopy<T> {
    /// `None`.
    fn copy(&self) -> Option<T> {
        None
    }
}

impl<T> NotCacheOutputCopy<T> for &&CacheOutput<'_, T> {}

/// A type `#[node]` checks for the bounds `cache` needs, on the parameter or return type
/// the user wrote, so that a missing bound is one error there: the probe answers whether
/// the type has the bounds, and [`CachedInput`] (or [`CachedOutput`]) holds for the type
/// only with a "yes" answer.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{
///     CacheProbe, ProbeCacheKey, ProbeCacheOutput, ProbeNotCacheKey, ProbeNotCacheOutput,
/// };
/// use onex::policy::{CachedInput, CachedOutput};
/// let answer = (&&CacheProbe::<String>::new()).probe();
/// <String as CachedInput<_>>::check(answer);
/// let answer = (&&CacheProbe::<String>::new()).probe_output();
/// <String as CachedOutput<_>>::check(answer);
/// ```
pub struct CacheProbe<T: ?Sized>(PhantomData<fn() -> *const T>);

impl<T: ?Sized> CacheProbe<T> {
    /// The probe of `T`.
    pub const fn new() -> Self {
        CacheProbe(PhantomData)
    }
}

impl<T: ?Sized> Default for CacheProbe<T> {
    fn default() -> Self {
        CacheProbe::new()
    }
}

/// The answer of a probe whose type has the input bounds.
#[derive(Debug)]
pub struct HashEqClone;
/// The answer of a probe whose type lacks an input bound.
#[derive(Debug)]
pub struct NotHashEqClone;
/// The answer of a probe whose type has the output bounds.
#[derive(Debug)]
pub struct Cloneable;
/// The answer of a probe whose type lacks an output bound.
#[derive(Debug)]
pub struct NotCloneable;
/// An answer no probe gives. Its impls make the answer in `<T as CachedInput<_>>` one
/// that type inference cannot guess, so it is read from the probe.
#[derive(Debug)]
pub enum NoAnswer {}

/// Chosen when the probed type is a [`CacheKey`].
pub trait ProbeCacheKey {
    /// [`HashEqClone`].
    fn probe(&self) -> HashEqClone {
        HashEqClone
    }
}
impl<T: CacheKey + ?Sized> ProbeCacheKey for &CacheProbe<T> {}

/// Chosen otherwise.
pub trait ProbeNotCacheKey {
    /// [`NotHashEqClone`].
    fn probe(&self) -> NotHashEqClone {
        NotHashEqClone
    }
}
impl<T: ?Sized> ProbeNotCacheKey for &&CacheProbe<T> {}

/// Chosen when the probed type can be copied into the cache.
pub trait ProbeCacheOutput {
    /// [`Cloneable`].
    fn probe_output(&self) -> Cloneable {
        Cloneable
    }
}
impl<T: Clone + Send + Sync + 'static> ProbeCacheOutput for &CacheProbe<T> {}

/// Chosen otherwise.
pub trait ProbeNotCacheOutput {
    /// [`NotCloneable`].
    fn probe_output(&self) -> NotCloneable {
        NotCloneable
    }
}
impl<T: ?Sized> ProbeNotCacheOutput for &&CacheProbe<T> {}

/// Holds for an input type of a cached node when its probe answered [`HashEqClone`]:
/// `<T as CachedInput<_>>::check(answer)` is the one error a type without the bounds gets,
/// on the type, with a message naming it and the bounds.
#[diagnostic::on_unimplemented(
    message = "`cache` needs the input type `{Self}` to be `Hash + Eq + Clone + Send + Sync + 'static`",
    label = "not `Hash + Eq + Clone + Send + Sync + 'static`",
    note = "a cached call keeps a copy of its inputs and answers a later call only if its inputs are equal: derive `Hash`, `PartialEq`, `Eq` and `Clone` for `{Self}`, or remove `cache`"
)]
pub trait CachedInput<OpAnswer> {
    /// Compiles when the answer says the type has the bounds.
    fn check(answer: OpAnswer) {
        let _ = answer;
    }
}

#[diagnostic::do_not_recommend]
impl<T: ?Sized> CachedInput<HashEqClone> for T {}
#[diagnostic::do_not_recommend]
impl<T: ?Sized> CachedInput<NoAnswer> for T {}

/// Holds for the output type of a cached node when its probe answered [`Cloneable`].
#[diagnostic::on_unimplemented(
    message = "`cache` needs the output type `{Self}` to be `Clone + Send + Sync + 'static`",
    label = "not `Clone + Send + Sync + 'static`",
    note = "the cache keeps a copy of each output and hands out clones of it: derive `Clone` for `{Self}`, or remove `cache`"
)]
pub trait CachedOutput<OpAnswer> {
    /// Compiles when the answer says the type has the bounds.
    fn check(answer: OpAnswer) {
        let _ = answer;
    }
}

#[diagnostic::do_not_recommend]
impl<T: ?Sized> CachedOutput<Cloneable> for T {}
#[diagnostic::do_not_recommend]
impl<T: ?Sized> CachedOutput<NoAnswer> for T {}
