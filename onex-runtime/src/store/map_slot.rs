//! [`MapSlot`]: the output of a `map` step, one item per element of its list.

use std::sync::{Mutex, OnceLock};

use super::Store;
use crate::model::NodeError;

/// The output of a `map` step: one item per element, collected into a `Vec` when the step
/// finishes.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::MapSlot;
/// let slot = MapSlot::new();
/// slot.prepare(2);
/// slot.put(1, "b");
/// slot.put(0, "a");
/// slot.finish("fetch").unwrap();
/// assert_eq!(slot.get(), Some(&vec!["a", "b"]));
/// ```
#[derive(Debug)]
pub struct MapSlot<T> {
    items: Mutex<Vec<Option<T>>>,
    out: OnceLock<Vec<T>>,
}

impl<T> MapSlot<T> {
    /// An empty map slot, as a constant (see [`Slot::EMPTY`]).
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "a fresh empty slot at each use is the point"
    )]
    pub const EMPTY: Self = Self::new();

    /// An empty map slot.
    pub const fn new() -> Self {
        MapSlot {
            items: Mutex::new(Vec::new()),
            out: OnceLock::new(),
        }
    }

    /// Makes room for `width` items.
    pub fn prepare(&self, width: usize) {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.clear();
        items.resize_with(width, || None);
    }

    /// Stores item `index`; out-of-range indexes are ignored.
    pub fn put(&self, index: usize, value: T) {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = items.get_mut(index) {
            slot.get_or_insert(value);
        }
    }

    /// Collects the items into the step's output.
    ///
    /// # Errors
    ///
    /// An internal error when an item is missing (an executor bug).
    pub fn finish(&self, step: &'static str) -> Result<(), NodeError> {
        // The lock is held until the output is set, so `with_item` sees every item in one
        // place or the other.
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let collected: Option<Vec<T>> = std::mem::take(&mut *items).into_iter().collect();
        match collected {
            Some(values) => {
                let _ = self.out.set(values);
                Ok(())
            }
            None => Err(NodeError::internal(format!(
                "step `{step}` finished with an item missing"
            ))),
        }
    }

    /// `f` of item `index`, once stored: before the step finished as well as after (a
    /// durable run journals each item as its call ends).
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_runtime::__private::MapSlot;
    /// let slot = MapSlot::new();
    /// slot.prepare(2);
    /// slot.put(1, 10);
    /// assert_eq!(slot.with_item(1, |v| v + 1), Some(11));
    /// assert_eq!(slot.with_item(0, |v| v + 1), None);
    /// slot.put(0, 5);
    /// slot.finish("m").unwrap();
    /// assert_eq!(slot.with_item(0, |v| v + 1), Some(6));
    /// ```
    pub fn with_item<R>(&self, index: usize, f: impl FnOnce(&T) -> R) -> Option<R> {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        match self.out.get() {
            Some(out) => out.get(index).map(f),
            None => items.get(index)?.as_ref().map(f),
        }
    }

    /// The collected output.
    #[inline]
    pub fn get(&self) -> Option<&Vec<T>> {
        self.out.get()
    }

    /// The collected output, or an internal error naming the step.
    #[inline]
    pub fn need(&self, step: &'static str) -> Result<&Vec<T>, NodeError> {
        self.out.get().ok_or_else(|| {
            NodeError::internal(format!(
                "the output of step `{step}` was read before it was stored"
            ))
        })
    }

    /// Takes the collected output out, leaving the slot empty (see [`Slot::take`]).
    #[inline]
    pub fn take(&mut self) -> Option<Vec<T>> {
        self.out.take()
    }
}

impl<T> Default for MapSlot<T> {
    fn default() -> Self {
        MapSlot::new()
    }
}

impl<T: Send + Sync> Store<T> for MapSlot<T> {
    const CACHEABLE: bool = false;
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn store(&self, item: usize, value: T) {
        self.put(item, value);
    }
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn stored(&self, item: usize) -> Option<&T> {
        self.get().and_then(|items| items.get(item))
    }
}

#[cfg(test)]
mod tests {
    use super::MapSlot;
    use std::sync::Arc;

    #[test]
    fn racing_map_items_are_all_collected() {
        let slot = Arc::new(MapSlot::new());
        slot.prepare(64);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let slot = Arc::clone(&slot);
                std::thread::spawn(move || {
                    for i in (t..64).step_by(4) {
                        slot.put(i, i.to_string());
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        slot.finish("m").expect("every item");
        let items = slot.get().expect("collected");
        assert!(items.iter().enumerate().all(|(i, v)| *v == i.to_string()));
    }
}
