//! The slots of one run of a `workflow!`: a struct with one [`Slot`] per input and step,
//! dropped through a table of its fields instead of drop code per field.
//!
//! The compiler's drop glue for a struct calls each field's drop in turn and, should one
//! panic, drops the rest from a cleanup block of its own: code per step, in every crate that
//! declares a workflow. A table of each field's
//! size, alignment and drop function is data instead, read by one loop compiled once in
//! this crate. The struct is `#[repr(C)]`, so the loop finds each field from the sizes and
//! alignments before it: a table of offsets (`offset_of!`) would cost a constant
//! evaluation per field at compile time.
//!
//! Over 500 lines with its tests (the unsafe drop loop is checked under valgrind for
//! zero-sized, over-aligned and panicking fields); the code is about 300.

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

use crate::store::{MapSlot, Slot};

/// A run's slots: the fields struct `workflow!` declares (through [`slot_fields!`]), dropped
/// through its [`SlotFields`].
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{RunSlots, Slot, slot_fields};
/// slot_fields!(Fields { a: Slot<String>, b: Slot<u64>, });
/// let s = RunSlots::new(Fields { a: Slot::filled(String::from("in")), b: Slot::EMPTY });
/// s.b.put(7);
/// assert_eq!(s.a.get().map(String::as_str), Some("in"));
/// assert_eq!(s.b.get(), Some(&7));
/// drop(s); // drops the `String` once, through the table
/// ```
///
/// [`slot_fields!`]: crate::__private::slot_fields
pub struct RunSlots<F: SlotFields>(ManuallyDrop<F>);

impl<F: SlotFields> RunSlots<F> {
    /// Owns `fields`, to drop them through their table.
    #[inline(always)]
    pub const fn new(fields: F) -> Self {
        RunSlots(ManuallyDrop::new(fields))
    }
}

impl<F: SlotFields> Deref for RunSlots<F> {
    type Target = F;
    #[inline(always)]
    fn deref(&self) -> &F {
        &self.0
    }
}

impl<F: SlotFields> DerefMut for RunSlots<F> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut F {
        &mut self.0
    }
}

impl<F: SlotFields> Drop for RunSlots<F> {
    #[inline]
    fn drop(&mut self) {
        if F::NEEDS_DROP {
            let base = (&mut *self.0 as *mut F).cast::<u8>();
            // SAFETY: `drop_fields` needs a live `#[repr(C)]` struct at `base` whose fields
            // `F::DROPS` lists in order, each entry made for its field's type: that is
            // `SlotFields`'s contract, upheld by whoever wrote the `unsafe impl` (`slot_fields!`,
            // which declares the struct and the table together from one list of fields).
            // `self.0` is live (`RunSlots` hands out only `&F`/`&mut F`, never moves it out)
            // and is never used again: this is `RunSlots`' drop, and `ManuallyDrop` keeps the
            // compiler from dropping the fields a second time.
            unsafe { drop_fields(base, F::DROPS) }
        }
    }
}

/// A struct of slots with the table to drop its fields.
///
/// # Safety
///
/// `Self` is `#[repr(C)]`, and `DROPS` holds one entry per field of `Self`, in the order the
/// fields are declared, and nothing else, each the [`SlotKind::ENTRY`] of the field's own
/// type. The [`slot_fields!`] macro declares the struct and its table together, so they cannot
/// disagree; and since [`SlotKind`] is sealed (only [`Slot`] and [`MapSlot`] implement it,
/// with entries this crate computes), an entry always describes its own type.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Slot, SlotFields, slot_fields};
/// slot_fields!(Fields { a: Slot<String>, b: Slot<u64>, });
/// assert_eq!(Fields::DROPS.len(), 2);
/// assert!(Fields::NEEDS_DROP); // the `String`
/// ```
///
/// [`slot_fields!`]: crate::__private::slot_fields
pub unsafe trait SlotFields {
    /// One entry per field.
    const DROPS: &'static [FieldDrop];
    /// Whether any field holds a value that needs dropping (a chain of `u64` steps does
    /// not: its slots then drop for free).
    const NEEDS_DROP: bool = any_drop(Self::DROPS);
}

/// One field of a [`SlotFields`]: its size and alignment (which place it in a `#[repr(C)]`
/// struct), and how to drop it.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{SlotKind, Slot};
/// assert!(<Slot<String> as SlotKind>::ENTRY.needs_drop());
/// assert!(!<Slot<u64> as SlotKind>::ENTRY.needs_drop());
/// ```
///
/// Entries come only from [`SlotKind::ENTRY`]: there is no public constructor, so an entry
/// cannot be made for one type and used for a field of another.
#[derive(Clone, Copy, Debug)]
pub struct FieldDrop {
    size: usize,
    align: usize,
    drop: Option<unsafe fn(*mut u8)>,
}

impl FieldDrop {
    /// The entry of a field of type `S`: crate-private, as an entry handed to the drop
    /// loop must describe the field it is listed for.
    const fn of<S: SlotKind>() -> Self {
        FieldDrop {
            size: size_of::<S>(),
            align: align_of::<S>(),
            drop: if S::NEEDS_DROP {
                Some(drop_at::<S>)
            } else {
                None
            },
        }
    }

    /// Whether dropping the field does anything.
    pub const fn needs_drop(&self) -> bool {
        self.drop.is_some()
    }
}

/// The slot types a [`SlotFields`] holds, with whether dropping one does anything.
///
/// Sealed: [`Slot`] and [`MapSlot`] are its only implementations. [`slot_fields!`] builds its
/// table from the `ENTRY` of each field's type, so an implementation whose `ENTRY`
/// described another type would make safe code drop a value as the wrong type.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{SlotKind, MapSlot, Slot};
/// assert!(!<Slot<u64> as SlotKind>::NEEDS_DROP);
/// assert!(<MapSlot<u64> as SlotKind>::NEEDS_DROP); // its list
/// ```
///
/// [`slot_fields!`]: crate::__private::slot_fields
pub trait SlotKind: Sized + seal::OnlySlots {
    /// Whether dropping the slot can do anything.
    const NEEDS_DROP: bool;
    /// Its entry in a [`SlotFields`]: a constant of the type, evaluated once per type
    /// rather than once per field.
    const ENTRY: FieldDrop = FieldDrop::of::<Self>();
}

/// The seal of [`SlotKind`]: a trait no other crate can name, so none can implement it.
mod seal {
    pub trait OnlySlots {}
    impl<T> OnlySlots for crate::store::Slot<T> {}
    impl<T> OnlySlots for crate::store::MapSlot<T> {}
}

impl<T> SlotKind for Slot<T> {
    const NEEDS_DROP: bool = std::mem::needs_drop::<T>();
}

impl<T> SlotKind for MapSlot<T> {
    const NEEDS_DROP: bool = std::mem::needs_drop::<MapSlot<T>>();
}

const fn any_drop(table: &[FieldDrop]) -> bool {
    let mut i = 0;
    while i < table.len() {
        if table[i].needs_drop() {
            return true;
        }
        i += 1;
    }
    false
}

/// # Safety
///
/// `field` points to a live, aligned `S`, not dropped before and not used after.
unsafe fn drop_at<S>(field: *mut u8) {
    // SAFETY: exactly `drop_in_place`'s requirements (valid, aligned, dropped once), which
    // this fn's caller upholds: `drop_fields`, through its entry for an `S` field.
    unsafe { std::ptr::drop_in_place(field.cast::<S>()) }
}

/// The fields of a `#[repr(C)]` struct at `base`, from its table: each entry with the
/// address of its field, found as the compiler lays such a struct out (each field at the
/// first multiple of its alignment after the one before it).
struct Fields<'t> {
    base: *mut u8,
    offset: usize,
    rest: std::slice::Iter<'t, FieldDrop>,
}

impl<'t> Fields<'t> {
    fn new(base: *mut u8, table: &'t [FieldDrop]) -> Self {
        Fields {
            base,
            offset: 0,
            rest: table.iter(),
        }
    }
}

impl<'t> Iterator for Fields<'t> {
    type Item = (*mut u8, &'t FieldDrop);

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.rest.next()?;
        let at = self.offset.next_multiple_of(entry.align);
        self.offset = at + entry.size;
        Some((self.base.wrapping_add(at), entry))
    }
}

/// Drops every field of `table` at `base`. Should one drop panic, the others are still
/// dropped while unwinding, as the compiler's drop glue does.
///
/// # Safety
///
/// See [`SlotFields`]: `base` is a live `#[repr(C)]` struct whose fields the table lists in
/// order, each dropped here once.
unsafe fn drop_fields(base: *mut u8, table: &[FieldDrop]) {
    struct Rest<'t>(Fields<'t>);
    impl Rest<'_> {
        fn drop_next(&mut self) -> bool {
            let Some((field, entry)) = self.0.next() else {
                return false;
            };
            if let Some(drop) = entry.drop {
                // SAFETY: `drop` is `drop_at::<S>` for the `S` this entry was made for
                // (`FieldDrop::of`, crate-private), and `field` is the address of that field:
                // `drop_fields`' caller guarantees a live `#[repr(C)]` struct whose fields
                // the table lists in order, and `Fields` computes each offset as `repr(C)`
                // lays them out. The iterator hands out each entry once, so each field is
                // dropped once.
                unsafe { drop(field) }
            }
            true
        }
    }
    impl Drop for Rest<'_> {
        fn drop(&mut self) {
            // Only reached with entries left when a drop panicked.
            while self.drop_next() {}
        }
    }
    let mut rest = Rest(Fields::new(base, table));
    while rest.drop_next() {}
}

/// Declares the fields struct of a run's slots (`#[repr(C)]`) and its [`SlotFields`]
/// together, one entry per field, in order, for the field's own type (which is what makes
/// the table sound).
///
/// `workflow!` emits one call: the inputs' and steps' slots as `name: type` pairs.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{MapSlot, Slot, SlotFields, slot_fields};
/// slot_fields!(Fields { input: Slot<Vec<u8>>, each: MapSlot<u8>, });
/// assert_eq!(Fields::DROPS.len(), 2);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __onex_slot_fields {
    ($name:ident { $($field:ident: $ty:ty,)* }) => {
        #[doc(hidden)]
        #[repr(C)]
        pub struct $name {
            $($field: $ty,)*
        }
        // SAFETY: `SlotFields`'s contract holds by construction: the struct above is
        // `#[repr(C)]`, and the table lists one entry per field, in declaration order,
        // each the `ENTRY` of that field's own type (`SlotKind` is sealed, so every
        // `ENTRY` is the one the runtime computes for its type).
        unsafe impl $crate::__private::SlotFields for $name {
            const DROPS: &'static [$crate::__private::FieldDrop] = &[
                $(<$ty as $crate::__private::SlotKind>::ENTRY,)*
            ];
        }
    };
}

#[cfg(test)]
mod tests {
    use super::RunSlots;
    use crate::store::{MapSlot, Slot};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Panics when dropped, after counting.
    struct Bomb(Arc<AtomicUsize>);
    impl Drop for Bomb {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
            panic!("bomb");
        }
    }

    crate::__onex_slot_fields!(Fields {
        a: Slot<Counted>,
        n: Slot<u64>,
        b: Slot<Counted>,
        m: MapSlot<Counted>,
        empty: Slot<Counted>,
    });

    crate::__onex_slot_fields!(Plain { x: Slot<u64>, y: Slot<u32>, });

    crate::__onex_slot_fields!(Mixed {
        a: Slot<u8>,
        b: Slot<u64>,
        c: Slot<u16>,
        d: MapSlot<u8>,
        e: Slot<(u8, [u32; 3])>,
        f: Slot<u8>,
        g: Slot<String>,
    });

    /// Zero-sized, counting its drops.
    struct Nothing(Arc<AtomicUsize>);
    impl Drop for Nothing {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Over-aligned, with a heap part: a field found at the wrong offset is a bad free.
    #[repr(align(32))]
    struct Aligned(String);

    // Zero-sized and over-aligned fields between small ones: the offsets the table
    // computes must skip the padding `repr(C)` puts before each.
    crate::__onex_slot_fields!(Odd {
        a: Slot<u8>,
        z: Slot<Nothing>,
        unit: Slot<()>,
        w: Slot<Aligned>,
        b: Slot<u16>,
        m: MapSlot<Aligned>,
        x: Slot<Aligned>,
        last: Slot<Nothing>,
    });

    crate::__onex_slot_fields!(Boom {
        first: Slot<Counted>,
        bomb: Slot<Bomb>,
        last: Slot<Counted>,
    });

    #[test]
    fn every_stored_value_is_dropped_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut s = RunSlots::new(Fields {
            a: Slot::filled(Counted(drops.clone())),
            n: Slot::filled(3),
            b: Slot::EMPTY,
            m: MapSlot::EMPTY,
            empty: Slot::EMPTY,
        });
        s.b.put(Counted(drops.clone()));
        s.m.prepare(2);
        s.m.put(0, Counted(drops.clone()));
        s.m.put(1, Counted(drops.clone()));
        s.m.finish("m").expect("both items");
        // Taken out: the caller's now, not dropped with the slots.
        let taken = s.b.take();
        drop(s);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        drop(taken);
        assert_eq!(drops.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn slots_of_plain_values_have_nothing_to_drop() {
        use super::SlotFields;
        const { assert!(!Plain::NEEDS_DROP) };
        const { assert!(Fields::NEEDS_DROP) };
        assert_eq!(Fields::DROPS.len(), 5);
        assert_eq!(Fields::DROPS.iter().filter(|d| d.needs_drop()).count(), 4);
    }

    #[test]
    fn the_table_finds_each_field_where_the_compiler_put_it() {
        use super::{Fields, SlotFields};
        use std::mem::{MaybeUninit, offset_of};
        let mut m = MaybeUninit::<Mixed>::uninit();
        let base = m.as_mut_ptr().cast::<u8>();
        let found: Vec<usize> = Fields::new(base, Mixed::DROPS)
            .map(|(field, _)| field as usize - base as usize)
            .collect();
        let expected = [
            offset_of!(Mixed, a),
            offset_of!(Mixed, b),
            offset_of!(Mixed, c),
            offset_of!(Mixed, d),
            offset_of!(Mixed, e),
            offset_of!(Mixed, f),
            offset_of!(Mixed, g),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn zero_sized_and_over_aligned_fields_are_found_and_dropped_once() {
        use super::{Fields, SlotFields};
        use std::mem::{MaybeUninit, offset_of};
        let mut m = MaybeUninit::<Odd>::uninit();
        let base = m.as_mut_ptr().cast::<u8>();
        let found: Vec<usize> = Fields::new(base, Odd::DROPS)
            .map(|(field, _)| field as usize - base as usize)
            .collect();
        let expected = [
            offset_of!(Odd, a),
            offset_of!(Odd, z),
            offset_of!(Odd, unit),
            offset_of!(Odd, w),
            offset_of!(Odd, b),
            offset_of!(Odd, m),
            offset_of!(Odd, x),
            offset_of!(Odd, last),
        ];
        assert_eq!(found, expected);

        let drops = Arc::new(AtomicUsize::new(0));
        let s = RunSlots::new(Odd {
            a: Slot::filled(1),
            z: Slot::filled(Nothing(drops.clone())),
            unit: Slot::filled(()),
            w: Slot::EMPTY,
            b: Slot::filled(2),
            m: MapSlot::EMPTY,
            x: Slot::filled(Aligned("x".repeat(100))),
            last: Slot::EMPTY,
        });
        s.w.put(Aligned("w".repeat(100)));
        s.last.put(Nothing(drops.clone()));
        s.m.prepare(2);
        s.m.put(0, Aligned("m0".into()));
        s.m.put(1, Aligned("m1".into()));
        s.m.finish("m").expect("both items");
        assert_eq!(s.w.get().map(|w| w.0.len()), Some(100));
        drop(s);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn slots_shared_across_threads_are_filled_once_each() {
        crate::__onex_slot_fields!(Shared {
            a: Slot<String>,
            b: Slot<Vec<u64>>,
            z: Slot<()>,
        });
        for _ in 0..20 {
            let s = Arc::new(RunSlots::new(Shared {
                a: Slot::EMPTY,
                b: Slot::EMPTY,
                z: Slot::EMPTY,
            }));
            let threads: Vec<_> = (0..4_u64)
                .map(|i| {
                    let s = Arc::clone(&s);
                    std::thread::spawn(move || {
                        s.a.put(format!("writer {i}"));
                        s.b.put(vec![i; 16]);
                        s.z.put(());
                    })
                })
                .collect();
            threads.into_iter().for_each(|t| t.join().unwrap());
            let b = s.b.get().expect("stored");
            assert!(b.iter().all(|v| *v == b[0]));
            assert!(s.a.get().is_some() && s.z.get().is_some());
        }
    }

    #[test]
    fn a_panicking_drop_still_drops_the_other_fields() {
        let drops = Arc::new(AtomicUsize::new(0));
        let s = RunSlots::new(Boom {
            first: Slot::filled(Counted(drops.clone())),
            bomb: Slot::filled(Bomb(drops.clone())),
            last: Slot::filled(Counted(drops.clone())),
        });
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(s)));
        assert!(caught.is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }
}
