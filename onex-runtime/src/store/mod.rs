//! Where step outputs live during a run: one write-once [`Slot`] per step (a [`MapSlot`]
//! for a `map` step), in a struct `workflow!` declares and [`Slots`](table::Slots) drops
//! through a table of its fields.
//!
//! The runtime's only `unsafe` code is here; every block says why it is sound, and the
//! tests of both files run under valgrind in `.ci/run` (`CONTRIBUTING.md` has the Miri
//! recipe).

mod slot;
pub(crate) mod table;

pub use slot::{MapSlot, Slot};
