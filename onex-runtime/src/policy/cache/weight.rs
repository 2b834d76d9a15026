//! [`CacheWeight`]: how many bytes a cached value keeps alive, for the cache's bound on bytes.
//!
//! An estimate, made once per stored entry, from the most precise source a type offers, in
//! this order (autoref specialization in the code `#[node]` generates, [`Weigh`]):
//!
//! 1. [`CacheWeight`], implemented here for the standard types (numbers, strings, boxes,
//!    vectors, maps, sets, options, tuples, arrays, JSON values) and by you for your own:
//!    its inline size plus what it holds on the heap, counted by capacity;
//! 2. otherwise, for a `Serialize` type: its inline size plus the length of its JSON form,
//!    a proxy for its heap (within a small factor for typical records; numbers and `Vec`s of
//!    small numbers count lower than they weigh, strings about right);
//! 3. otherwise its inline size alone (`size_of_val`), which misses any heap it owns: give
//!    such a type a `CacheWeight` impl (or `Serialize`) if it holds much.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// How many bytes a value holds on the heap, for the cache's bound on bytes.
///
/// The cache weighs each entry's inputs and output once, when it stores them, with the
/// most precise estimate their types offer: this trait if they implement it (the standard
/// types do: numbers, strings, boxes, vectors, maps, sets, options, tuples, arrays, JSON
/// values); else, for a `Serialize` type, its inline size plus the length of its JSON form
/// (a proxy within a small factor for typical records); else its inline size alone, which
/// misses any heap memory the value owns. Implement it for an input or output type of a
/// cached node that holds much heap memory. Count capacity, not length, where the two
/// differ: that is what the memory costs.
///
/// # Examples
///
/// ```
/// use onex::CacheWeight;
///
/// struct Image {
///     width: u32,
///     pixels: Vec<u8>,
/// }
///
/// impl CacheWeight for Image {
///     fn heap_bytes(&self) -> usize {
///         self.pixels.heap_bytes()
///     }
/// }
///
/// let image = Image { width: 2, pixels: vec![0; 1 << 20] };
/// assert_eq!(image.heap_bytes(), 1 << 20);
/// assert_eq!(image.cache_weight(), size_of::<Image>() + (1 << 20));
/// assert_eq!(String::from("abc").heap_bytes(), 3);
/// assert_eq!(vec![String::from("ab"), String::from("c")].heap_bytes(), 2 * size_of::<String>() + 3);
/// ```
pub trait CacheWeight {
    /// Bytes held on the heap (not counting the value's own inline size).
    fn heap_bytes(&self) -> usize;

    /// Inline size plus heap bytes: what a copy of the value costs.
    fn cache_weight(&self) -> usize {
        size_of_val(self) + self.heap_bytes()
    }
}

/// Types that own no heap memory.
macro_rules! no_heap {
    ($($t:ty),* $(,)?) => {$(
        impl CacheWeight for $t {
            #[inline]
            fn heap_bytes(&self) -> usize {
                0
            }
        }
    )*};
}

no_heap!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    Duration,
    &'static str
);

impl CacheWeight for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

impl<T: CacheWeight> CacheWeight for [T] {
    fn heap_bytes(&self) -> usize {
        self.iter().map(T::heap_bytes).sum()
    }
}

impl<T: CacheWeight, const N: usize> CacheWeight for [T; N] {
    fn heap_bytes(&self) -> usize {
        self.as_slice().heap_bytes()
    }
}

impl<T: CacheWeight> CacheWeight for Vec<T> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * size_of::<T>() + self.as_slice().heap_bytes()
    }
}

impl<T: CacheWeight> CacheWeight for VecDeque<T> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * size_of::<T>() + self.iter().map(T::heap_bytes).sum::<usize>()
    }
}

impl<T: CacheWeight + ?Sized> CacheWeight for Box<T> {
    fn heap_bytes(&self) -> usize {
        (**self).cache_weight()
    }
}

// Shared pointers count what they point to in full: the cache keeps it alive.
impl<T: CacheWeight + ?Sized> CacheWeight for Arc<T> {
    fn heap_bytes(&self) -> usize {
        (**self).cache_weight() + 2 * size_of::<usize>()
    }
}

impl<T: CacheWeight + ?Sized> CacheWeight for Rc<T> {
    fn heap_bytes(&self) -> usize {
        (**self).cache_weight() + 2 * size_of::<usize>()
    }
}

impl<T: CacheWeight> CacheWeight for Option<T> {
    fn heap_bytes(&self) -> usize {
        self.as_ref().map_or(0, T::heap_bytes)
    }
}

impl<T: CacheWeight, E: CacheWeight> CacheWeight for Result<T, E> {
    fn heap_bytes(&self) -> usize {
        match self {
            Ok(t) => t.heap_bytes(),
            Err(e) => e.heap_bytes(),
        }
    }
}

impl<K: CacheWeight, V: CacheWeight, S> CacheWeight for HashMap<K, V, S> {
    fn heap_bytes(&self) -> usize {
        // A hash table holds `capacity` buckets plus one control byte each.
        self.capacity() * (size_of::<(K, V)>() + 1)
            + self
                .iter()
                .map(|(k, v)| k.heap_bytes() + v.heap_bytes())
                .sum::<usize>()
    }
}

impl<T: CacheWeight, S> CacheWeight for HashSet<T, S> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * (size_of::<T>() + 1) + self.iter().map(T::heap_bytes).sum::<usize>()
    }
}

impl<K: CacheWeight, V: CacheWeight> CacheWeight for BTreeMap<K, V> {
    fn heap_bytes(&self) -> usize {
        // B-tree nodes are at least half full: up to twice the entries' size.
        2 * self.len() * size_of::<(K, V)>()
            + self
                .iter()
                .map(|(k, v)| k.heap_bytes() + v.heap_bytes())
                .sum::<usize>()
    }
}

impl<T: CacheWeight> CacheWeight for BTreeSet<T> {
    fn heap_bytes(&self) -> usize {
        2 * self.len() * size_of::<T>() + self.iter().map(T::heap_bytes).sum::<usize>()
    }
}

impl CacheWeight for serde_json::Value {
    fn heap_bytes(&self) -> usize {
        use serde_json::Value;
        match self {
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
            Value::String(s) => s.heap_bytes(),
            Value::Array(items) => items.heap_bytes(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    2 * (size_of::<String>() + size_of::<Value>()) + k.heap_bytes() + v.heap_bytes()
                })
                .sum(),
        }
    }
}

/// Tuples weigh their fields.
macro_rules! tuples {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: CacheWeight),+> CacheWeight for ($($t,)+) {
            fn heap_bytes(&self) -> usize {
                0 $(+ self.$i.heap_bytes())+
            }
        }
    )*};
}

tuples!(
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
);

/// A value to weigh, by the first of [`CacheWeight`], `Serialize` or its inline size that
/// its type offers: `(&&&Weigh(v)).weigh()` on a concrete type.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Weigh, WeighExact, WeighSerialized, WeighShallow};
/// #[derive(serde::Serialize)]
/// struct Row { name: String }
/// struct Opaque(#[allow(dead_code)] Vec<u8>);
///
/// assert_eq!((&&&Weigh(&String::from("abc"))).weigh(), size_of::<String>() + 3);
/// let row = Row { name: "abc".into() };
/// assert_eq!((&&&Weigh(&row)).weigh(), size_of::<Row>() + r#"{"name":"abc"}"#.len());
/// assert_eq!((&&&Weigh(&Opaque(vec![0; 100]))).weigh(), size_of::<Opaque>());
/// ```
pub struct Weigh<'a, T: ?Sized>(pub &'a T);

/// Chosen when the type is [`CacheWeight`].
pub trait WeighExact {
    /// The value's [`CacheWeight::cache_weight`].
    fn weigh(&self) -> usize;
}

impl<T: CacheWeight + ?Sized> WeighExact for &&Weigh<'_, T> {
    fn weigh(&self) -> usize {
        self.0.cache_weight()
    }
}

/// Chosen when the type is `Serialize` but not [`CacheWeight`].
pub trait WeighSerialized {
    /// Inline size plus the length of the value's JSON form.
    fn weigh(&self) -> usize;
}

impl<T: Serialize + ?Sized> WeighSerialized for &Weigh<'_, T> {
    fn weigh(&self) -> usize {
        let mut count = Count(0);
        // A value that fails to serialize counts what was written before the failure.
        let _ = serde_json::to_writer(&mut count, self.0);
        size_of_val(self.0) + count.0
    }
}

/// Chosen otherwise.
pub trait WeighShallow {
    /// The value's inline size.
    fn weigh(&self) -> usize;
}

impl<T: ?Sized> WeighShallow for Weigh<'_, T> {
    fn weigh(&self) -> usize {
        size_of_val(self.0)
    }
}

/// A writer that counts bytes and keeps none.
struct Count(usize);

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_bytes_follow_capacity() {
        let mut v: Vec<u64> = Vec::with_capacity(100);
        v.push(1);
        assert_eq!(v.heap_bytes(), 800);
        let nested = vec![vec![1_u8; 10], vec![2_u8; 20]];
        assert_eq!(nested.heap_bytes(), 2 * size_of::<Vec<u8>>() + 30);
        assert_eq!(Some(String::from("abcd")).heap_bytes(), 4);
        assert_eq!((String::from("ab"), 7_u8).heap_bytes(), 2);
        assert_eq!(Box::new([0_u8; 64]).heap_bytes(), 64);
        let json = serde_json::json!({"k": "vvvv", "list": [1, 2]});
        assert!(
            json.heap_bytes() >= "vvvv".len() + "list".len() + 2 * size_of::<serde_json::Value>()
        );
    }

    #[test]
    fn a_megabyte_output_weighs_a_megabyte() {
        let out = vec![0_u8; 1 << 20];
        assert!((&&&Weigh(&out)).weigh() >= 1 << 20);
        let text = "x".repeat(1 << 20);
        assert!((&&&Weigh(&text)).weigh() >= 1 << 20);
    }
}
