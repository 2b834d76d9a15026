//! Typed per-run storage for step outputs, used by the code `workflow!` generates.

use std::sync::{Mutex, OnceLock};

use crate::error::NodeError;

/// The output of one step in one run: written once, then read by reference.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::Slot;
/// let slot = Slot::new();
/// assert!(slot.get().is_none());
/// slot.put(41_u64 + 1);
/// assert_eq!(slot.get(), Some(&42));
/// assert_eq!(slot.into_inner(), Some(42));
/// ```
#[derive(Debug)]
pub struct Slot<T>(OnceLock<T>);

impl<T> Slot<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        Slot(OnceLock::new())
    }

    /// A slot holding `value` (a workflow input).
    pub fn filled(value: T) -> Self {
        Slot(OnceLock::from(value))
    }

    /// The value, once stored.
    #[inline]
    pub fn get(&self) -> Option<&T> {
        self.0.get()
    }

    /// The value, or an internal error naming the step when it is missing (an executor bug).
    #[inline]
    pub fn need(&self, step: &'static str) -> Result<&T, NodeError> {
        self.0.get().ok_or_else(|| {
            NodeError::internal(format!(
                "the output of step `{step}` was read before it was stored"
            ))
        })
    }

    /// Stores the value. A second store is ignored: it can only come from a timed-out
    /// attempt of a pure compute step finishing late, with an equal value.
    #[inline]
    pub fn put(&self, value: T) {
        let _ = self.0.set(value);
    }

    /// Moves the value out.
    pub fn into_inner(self) -> Option<T> {
        self.0.into_inner()
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot::new()
    }
}

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
        let items = std::mem::take(&mut *self.items.lock().unwrap_or_else(|e| e.into_inner()));
        let collected: Option<Vec<T>> = items.into_iter().collect();
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

    /// Moves the collected output out.
    pub fn into_inner(self) -> Option<Vec<T>> {
        self.out.into_inner()
    }
}

impl<T> Default for MapSlot<T> {
    fn default() -> Self {
        MapSlot::new()
    }
}
