//! [`CacheEntry`], what the cache keeps per call, and [`KeyHasher`], how a call's inputs
//! become the hash it is found by.

use std::any::Any;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

use super::BuildKey;

/// One cached call: a copy of its inputs (checked against the next call's before its output
/// is used), a copy of its output, and an estimate of the bytes both keep alive.
///
/// Made by [`Program::cache_store`](crate::Program::cache_store) and read back by
/// [`Program::cache_load`](crate::Program::cache_load); `#[node(compute, cache)]` writes
/// both for you.
///
/// # Examples
///
/// ```
/// use onex::CacheEntry;
/// let entry = CacheEntry::new(21_u64, 42_u64, 16);
/// assert_eq!(entry.inputs::<u64>(), Some(&21));
/// assert_eq!(entry.output::<u64>(), Some(&42));
/// assert_eq!(entry.output::<String>(), None); // another type
/// assert_eq!(entry.weight(), 16);
/// ```
pub struct CacheEntry {
    inputs: Box<dyn Any + Send + Sync>,
    output: Box<dyn Any + Send + Sync>,
    weight: usize,
}

impl CacheEntry {
    /// An entry for a call on `inputs` that returned `output`, weighing `weight` bytes
    /// (both values, inline and on the heap; see [`CacheWeight`](crate::CacheWeight)).
    pub fn new<I, O>(inputs: I, output: O, weight: usize) -> Self
    where
        I: Any + Send + Sync,
        O: Any + Send + Sync,
    {
        CacheEntry {
            inputs: Box::new(inputs),
            output: Box::new(output),
            weight,
        }
    }

    /// The inputs the entry was made for, if they are an `I`.
    pub fn inputs<I: Any>(&self) -> Option<&I> {
        self.inputs.downcast_ref()
    }

    /// The cached output, if it is an `O`.
    pub fn output<O: Any>(&self) -> Option<&O> {
        self.output.downcast_ref()
    }

    /// The estimated bytes of inputs and output.
    pub fn weight(&self) -> usize {
        self.weight
    }
}

impl fmt::Debug for CacheEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheEntry")
            .field("weight", &self.weight)
            .finish_non_exhaustive()
    }
}

/// Hashes a call's inputs with the runtime's cache hasher, after the node type, so that
/// calls of different nodes on equal inputs are told apart.
///
/// Given to [`Program::input_hash`](crate::Program::input_hash).
///
/// # Examples
///
/// ```
/// use std::hash::RandomState;
/// use onex::KeyHasher;
/// let keys = RandomState::new();
/// let square = KeyHasher::new(&keys, "Square");
/// assert_eq!(square.hash_one(&7_u64), square.hash_one(&7_u64));
/// assert_ne!(square.hash_one(&7_u64), KeyHasher::new(&keys, "Cube").hash_one(&7_u64));
/// // `None` when the inputs cannot be hashed:
/// assert_eq!(square.hash_with(|_| false), None);
/// ```
#[derive(Clone, Copy)]
pub struct KeyHasher<'a> {
    build: &'a dyn BuildKey,
    node_type: &'a str,
}

impl<'a> KeyHasher<'a> {
    /// Hashes for `node_type` with hashers built by `build`.
    pub fn new<B: BuildHasher + Send + Sync>(build: &'a B, node_type: &'a str) -> Self {
        KeyHasher { build, node_type }
    }

    pub(crate) fn of(build: &'a dyn BuildKey, node_type: &'a str) -> Self {
        KeyHasher { build, node_type }
    }

    /// The hash of the node type and what `write` writes, or `None` when `write` returns
    /// `false` (the inputs cannot be cached).
    pub fn hash_with(self, write: impl FnOnce(&mut dyn Hasher) -> bool) -> Option<u64> {
        let mut write = Some(write);
        let node_type = self.node_type;
        self.build.hash_dyn(&mut |h| {
            h.write(node_type.as_bytes());
            h.write_u8(0xff);
            write.take().is_some_and(|write| write(h))
        })
    }

    /// The hash of the node type and `value`.
    pub fn hash_one<T: Hash + ?Sized>(self, value: &T) -> u64 {
        self.hash_with(|mut h| {
            value.hash(&mut h);
            true
        })
        .unwrap_or_default()
    }
}

impl fmt::Debug for KeyHasher<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyHasher")
            .field("node_type", &self.node_type)
            .finish_non_exhaustive()
    }
}
