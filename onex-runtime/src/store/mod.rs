//! Where step outputs live during a run: one write-once [`Slot`] per step (a [`MapSlot`]
//! for a `map` step), in a struct `workflow!` declares and [`Slots`](table::RunSlots) drops
//! through a table of its fields; and where a lean batch's outputs land
//! ([`dense::DenseOutputs`]).
//!
//! The runtime's only `unsafe` code is here; every block says why it is sound, and the
//! tests of both files run under valgrind in `.ci/run` (`CONTRIBUTING.md` has the Miri
//! recipe).

pub(crate) mod dense;
mod map_slot;
mod slot;
pub(crate) mod table;

pub use map_slot::MapSlot;
pub use slot::Slot;

/// Where a step's output goes: a [`Slot`] for a plain step, a [`MapSlot`] (one item per
/// element) for a `map` step.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{MapSlot, Slot, Store};
/// let plain = Slot::new();
/// plain.store(7, "ignored item index");
/// assert_eq!(plain.stored(0), Some(&"ignored item index"));
/// assert!(<Slot<&str> as Store<&str>>::CACHEABLE && !<MapSlot<&str> as Store<&str>>::CACHEABLE);
/// ```
pub trait Store<T>: Sync {
    /// Whether calls storing here can be cached (`map` items are not).
    const CACHEABLE: bool;
    /// Stores the output of call `item`.
    fn store(&self, item: usize, value: T);
    /// The stored output of call `item`.
    fn stored(&self, item: usize) -> Option<&T>;
}
