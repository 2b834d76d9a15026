//! Typed per-run storage for step outputs, used by the code `workflow!` generates.
//!
//! Unsafe code: its tests run under valgrind in `.ci/run`; `CONTRIBUTING.md` has the Miri
//! recipe.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering};

use super::Store;
use crate::model::NodeError;

/// The output of one step in one run: written once, then read by reference.
///
/// A write-once cell: one compare-and-swap to claim it, one release store to publish the
/// value, one acquire load to read it. (`OnceLock` does the same through `Once`, an
/// out-of-line closure call per store, which a run of trivial steps feels: BENCHMARKS.md,
/// design notes.)
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
pub struct Slot<T> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

const EMPTY: u8 = 0;
const WRITING: u8 = 1;
const FULL: u8 = 2;

/// The state of a filled slot, as a constant (a fresh one at each use) rather than a call
/// to `AtomicU8::new`.
#[allow(
    clippy::declare_interior_mutable_const,
    reason = "a fresh state at each use is the point"
)]
const FILLED: AtomicU8 = AtomicU8::new(FULL);

// The state's operations as functions of their own: in a debug build the generic `Slot`
// methods call these, compiled once here, instead of each crate holding slots compiling
// its own copy of every atomic operation (they are `#[inline]`, and a debug build compiles
// an inline function in the crate that calls it, in a unit of its own). An optimized build
// inlines them as before.

/// Whether the slot holds a published value.
#[cfg_attr(not(debug_assertions), inline(always))]
fn is_full(state: &AtomicU8) -> bool {
    state.load(Ordering::Acquire) == FULL
}

/// Makes the caller the only writer, if the slot is empty.
#[cfg_attr(not(debug_assertions), inline(always))]
fn claim(state: &AtomicU8) -> bool {
    state
        .compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

/// Publishes the value the claiming writer wrote.
#[cfg_attr(not(debug_assertions), inline(always))]
fn publish(state: &AtomicU8) {
    state.store(FULL, Ordering::Release);
}

/// Waits until the writer that claimed the slot has published its value: the moment
/// between its claim and its publication is one move, which cannot panic.
#[cold]
fn wait_published(state: &AtomicU8) {
    while !is_full(state) {
        std::hint::spin_loop();
    }
}

/// Whether the slot held a value, leaving it empty.
#[cfg_attr(not(debug_assertions), inline(always))]
fn empty_out(state: &mut AtomicU8) -> bool {
    std::mem::replace(state.get_mut(), EMPTY) == FULL
}

/// Whether the slot holds a value, seen through `&mut`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn is_full_mut(state: &mut AtomicU8) -> bool {
    *state.get_mut() == FULL
}

// SAFETY: the value is written once, by the thread that won the `EMPTY -> WRITING` swap, and
// only read after the `FULL` store that publishes it (release/acquire), so a `Slot` is
// shared like `OnceLock`: `Sync` when `T` is `Sync + Send` (a shared slot hands out `&T`
// and takes a `T` from any thread). The methods of this module uphold it.
unsafe impl<T: Sync + Send> Sync for Slot<T> {}
// SAFETY: a `Slot` owns its `T` (or nothing), like `Option<T>`: sending it sends the `T`.
unsafe impl<T: Send> Send for Slot<T> {}

impl<T> Slot<T> {
    /// An empty slot, as a constant: the slots of a run are built from these, one store of
    /// a constant per step instead of a call.
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "a fresh empty slot at each use is the point"
    )]
    pub const EMPTY: Self = Self::new();

    /// An empty slot.
    pub const fn new() -> Self {
        Slot {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// A slot holding `value` (a workflow input).
    pub fn filled(value: T) -> Self {
        Slot {
            state: FILLED,
            value: UnsafeCell::new(MaybeUninit::new(value)),
        }
    }

    /// The value, once stored.
    #[inline]
    pub fn get(&self) -> Option<&T> {
        if is_full(&self.state) {
            // SAFETY: the acquire load saw `FULL`, which `put` stores (release) only after
            // writing the value and `filled` only with one: the value is initialized and
            // visible here. This module upholds that nothing writes, moves or drops it while
            // `&self` lives: `put` never writes a full slot, and `take`, `into_inner` and
            // `drop` need `&mut self` or `self`.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value, or an internal error naming the step when it is missing (an executor bug).
    #[inline]
    pub fn need(&self, step: &'static str) -> Result<&T, NodeError> {
        self.get().ok_or_else(|| {
            NodeError::internal(format!(
                "the output of step `{step}` was read before it was stored"
            ))
        })
    }

    /// Stores the value. A second store is ignored: it can only come from a timed-out
    /// attempt of a pure compute step finishing late, with an equal value. Either way the
    /// value is readable once `put` returns: a store that lost the race waits for the
    /// winner to publish (a move of the value away), so the step that made it may be marked
    /// done and its readers run.
    #[inline]
    pub fn put(&self, value: T) {
        if claim(&self.state) {
            // SAFETY: winning the `EMPTY -> WRITING` swap makes this call the only writer
            // (any other `put` loses the swap and waits), and no reader looks at the value
            // before `FULL` is stored below; `&self` excludes `take` and drop.
            unsafe { (*self.value.get()).write(value) };
            publish(&self.state);
        } else {
            wait_published(&self.state);
        }
    }

    /// Takes the value out, leaving the slot empty.
    ///
    /// Through `&mut`, so the slots of a run can hand out the output step's value and then
    /// be dropped as a whole (moving one field out of them would drop each other field on
    /// its own, in code generated per step).
    ///
    /// # Examples
    ///
    /// ```
    /// use onex_runtime::__private::Slot;
    /// let mut slot = Slot::filled(String::from("out"));
    /// assert_eq!(slot.take().as_deref(), Some("out"));
    /// assert_eq!(slot.take(), None);
    /// assert!(slot.get().is_none());
    /// ```
    #[inline]
    pub fn take(&mut self) -> Option<T> {
        if empty_out(&mut self.state) {
            // SAFETY: the state was `FULL`, so the value is initialized; `&mut self`
            // excludes every reader; the state now says empty, so neither `get` nor drop
            // reads it again: it is read once, here.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }

    /// Moves the value out.
    pub fn into_inner(self) -> Option<T> {
        let this = std::mem::ManuallyDrop::new(self);
        if is_full(&this.state) {
            // SAFETY: the state is `FULL`, so the value is initialized; `this` is owned and
            // `ManuallyDrop`, so `Slot::drop` never runs and the value is read once, here.
            Some(unsafe { (*this.value.get()).assume_init_read() })
        } else {
            None
        }
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        if is_full_mut(&mut self.state) {
            // SAFETY: the state is `FULL` (seen through `&mut`, no race), so the value is
            // initialized; the slot ends here, so it is dropped once.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Slot").field(&self.get()).finish()
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot::new()
    }
}

impl<T: Send + Sync> Store<T> for Slot<T> {
    const CACHEABLE: bool = true;
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn store(&self, _: usize, value: T) {
        self.put(value);
    }
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn stored(&self, _: usize) -> Option<&T> {
        self.get()
    }
}

#[cfg(test)]
mod tests {
    use super::Slot;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_second_put_is_ignored() {
        let slot = Slot::new();
        slot.put(String::from("first"));
        slot.put(String::from("second"));
        assert_eq!(slot.get().map(String::as_str), Some("first"));
        assert_eq!(Slot::<u8>::new().into_inner(), None);
        assert_eq!(Slot::filled(3).into_inner(), Some(3));
    }

    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn values_are_dropped_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        drop(Slot::filled(Counted(drops.clone())));
        let slot = Slot::new();
        slot.put(Counted(drops.clone()));
        slot.put(Counted(drops.clone())); // ignored, dropped at once
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        let inner = slot.into_inner();
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        drop(inner);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        drop(Slot::<Counted>::new());
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        // Taken values are the caller's: the emptied slot does not drop them again.
        let mut slot = Slot::filled(Counted(drops.clone()));
        let taken = slot.take();
        drop(slot);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        drop(taken);
        assert_eq!(drops.load(Ordering::SeqCst), 4);
        let mut empty = Slot::<Counted>::EMPTY;
        assert!(empty.take().is_none());
    }

    /// Counts its drops; zero-sized, so a slot of it holds no bytes of value at all.
    struct ZeroSized(&'static AtomicUsize);
    impl Drop for ZeroSized {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Over-aligned, with a heap part, so a misplaced read or drop is seen by valgrind.
    #[repr(align(64))]
    struct Wide(Box<u64>);

    #[test]
    fn zero_sized_values_are_stored_and_dropped_once() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        let slot = Slot::new();
        slot.put(());
        assert_eq!(slot.get(), Some(&()));
        let slot = Slot::new();
        slot.put(ZeroSized(&DROPS));
        slot.put(ZeroSized(&DROPS)); // ignored, dropped at once
        assert_eq!(DROPS.load(Ordering::SeqCst), 1);
        drop(slot);
        assert_eq!(DROPS.load(Ordering::SeqCst), 2);
        let mut slot = Slot::filled(ZeroSized(&DROPS));
        let taken = slot.take();
        drop(slot);
        assert_eq!(DROPS.load(Ordering::SeqCst), 2);
        drop(taken);
        assert_eq!(DROPS.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn over_aligned_values_are_stored_aligned() {
        assert_eq!(align_of::<Slot<Wide>>(), 64);
        let slots: Vec<Slot<Wide>> = (0..4).map(|_| Slot::new()).collect();
        for (i, slot) in slots.iter().enumerate() {
            slot.put(Wide(Box::new(i as u64)));
            let value = slot.get().expect("stored");
            assert_eq!(std::ptr::from_ref(value) as usize % 64, 0);
            assert_eq!(*value.0, i as u64);
        }
        let mut first = Slot::filled(Wide(Box::new(7)));
        assert_eq!(first.take().map(|w| *w.0), Some(7));
        assert_eq!(slots.into_iter().filter_map(Slot::into_inner).count(), 4);
    }

    #[test]
    fn racing_puts_of_heap_values_keep_one_and_drop_the_rest() {
        for _ in 0..50 {
            let drops = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(Slot::new());
            let threads: Vec<_> = (0..4)
                .map(|i| {
                    let (slot, drops) = (Arc::clone(&slot), Arc::clone(&drops));
                    std::thread::spawn(move || {
                        slot.put((format!("writer {i}"), Counted(drops)));
                        slot.get().expect("stored").0.clone()
                    })
                })
                .collect();
            let seen: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            assert!(seen.iter().all(|v| *v == seen[0]), "{seen:?}");
            assert_eq!(drops.load(Ordering::SeqCst), 3, "the three losers");
            drop(slot);
            assert_eq!(drops.load(Ordering::SeqCst), 4, "and the winner, once");
        }
    }

    #[test]
    fn racing_puts_store_one_value() {
        for _ in 0..100 {
            let slot = Arc::new(Slot::new());
            let threads: Vec<_> = (0..4)
                .map(|i| {
                    let slot = Arc::clone(&slot);
                    std::thread::spawn(move || {
                        slot.put(i);
                        *slot.get().expect("stored")
                    })
                })
                .collect();
            let seen: Vec<i32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            assert!(seen.iter().all(|&v| v == seen[0]));
        }
    }
}
