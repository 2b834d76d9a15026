//! [`DenseOutputs`]: a batch's outputs written in place by input index from rayon's
//! workers, then closed up over the inputs that produced none; [`DenseInputs`]: its inputs,
//! taken out of their `Vec` by index.
//!
//! Both let a lean batch hand rayon ranges of indices, each range one plain loop of the
//! batch's own code over its inputs: the compiler sees the loop whole (a loop body left
//! behind a closure call loses optimizations that span iterations) wherever the caller's
//! code is split into codegen units.
//!
//! `run_batch_lean` returns the completed inputs' outputs as one dense `Vec`, as a
//! hand-written `par_iter().map().collect()` would: collecting an `Option` per input and
//! dropping the `None`s would hold twice the memory of a `u64` output and copy every
//! output once more. Here each worker writes an output straight into its input's place in
//! the final buffer; the places of failed inputs are left empty, and the outputs after each
//! gap are moved down over it at the end.

use std::marker::PhantomData;

/// A buffer of `len` places, each written at most once, by index, from any thread.
///
/// Until [`finish`](Self::finish) the buffer's length is 0, so if a worker panics out of
/// the batch the outputs written so far are leaked rather than read or dropped twice.
pub(crate) struct DenseOutputs<T> {
    values: Vec<T>,
    len: usize,
}

/// What the workers write through: the buffer's base pointer. `Copy`, so that a loop
/// keeps it in a register rather than reading it through a reference at every write.
pub(crate) struct Writer<'a, T> {
    base: *mut T,
    len: usize,
    _buffer: PhantomData<&'a mut Vec<T>>,
}

impl<T> Clone for Writer<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Writer<'_, T> {}

// SAFETY: a `Writer` only moves `T`s into distinct places of the buffer (`write`'s
// contract), so sharing it across threads shares no `T`; sending the `T`s needs `T: Send`.
unsafe impl<T: Send> Send for Writer<'_, T> {}
// SAFETY: as above: `&Writer` allows nothing but writes to distinct places.
unsafe impl<T: Send> Sync for Writer<'_, T> {}

impl<T> DenseOutputs<T> {
    /// Room for `len` outputs, none written.
    pub(crate) fn with_len(len: usize) -> Self {
        DenseOutputs {
            values: Vec::with_capacity(len),
            len,
        }
    }

    /// The handle the workers write through.
    pub(crate) fn writer(&mut self) -> Writer<'_, T> {
        Writer {
            base: self.values.as_mut_ptr(),
            len: self.len,
            _buffer: PhantomData,
        }
    }

    /// The written outputs, in index order, with the places in `missing` closed up.
    ///
    /// # Safety
    ///
    /// `missing` is strictly increasing and below the length, and every other index
    /// below the length was written exactly once through [`writer`](Self::writer).
    pub(crate) unsafe fn finish(mut self, missing: impl IntoIterator<Item = usize>) -> Vec<T> {
        let base = self.values.as_mut_ptr();
        // Outputs are moved down over each gap: the first `kept` places are final, `next`
        // is the first place not looked at yet; each gap ends a run of written places.
        let (mut kept, mut next) = (0, 0);
        for end in missing.into_iter().chain([self.len]) {
            let run = end - next;
            if kept != next && run > 0 {
                // SAFETY: places `next..end` were written (none is missing) and lie in the
                // allocation; `kept < next`, so the copy moves them down (`copy` allows
                // overlap), and the places it leaves behind are no longer counted.
                unsafe { std::ptr::copy(base.add(next), base.add(kept), run) };
            }
            kept += run;
            next = end + 1;
        }
        // SAFETY: the first `kept` places hold the written outputs, each once.
        unsafe { self.values.set_len(kept) };
        self.values
    }
}

impl<T> Writer<'_, T> {
    /// Moves `value` into place `index`.
    ///
    /// # Safety
    ///
    /// `index` is below the length, and no other write to it happens, before or at the
    /// same time.
    #[inline(always)]
    pub(crate) unsafe fn write(&self, index: usize, value: T) {
        debug_assert!(index < self.len);
        // SAFETY: in bounds of the allocation (`index < len <= capacity`), and no other
        // thread touches this place (the caller's contract).
        unsafe { self.base.add(index).write(value) }
    }
}

/// A batch's inputs, each moved out once by index from any thread.
///
/// The `Vec`'s length is 0 from the start, so it frees its buffer without dropping the
/// elements: every input is taken (and moved into its run) exactly once, or, if a worker
/// panics out of the batch, those not taken are leaked rather than dropped twice.
pub(crate) struct DenseInputs<T> {
    values: Vec<T>,
    len: usize,
}

/// What the workers take inputs through. `Copy`, like [`Writer`].
pub(crate) struct Taker<'a, T> {
    base: *const T,
    len: usize,
    _buffer: PhantomData<&'a mut Vec<T>>,
}

impl<T> Clone for Taker<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Taker<'_, T> {}

// SAFETY: a `Taker` only moves `T`s out of distinct places (`take`'s contract), so sharing
// it shares no `T`; the `T`s it hands to other threads need `T: Send`.
unsafe impl<T: Send> Send for Taker<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Taker<'_, T> {}

impl<T> DenseInputs<T> {
    /// The inputs of `values`, none taken.
    pub(crate) fn new(mut values: Vec<T>) -> Self {
        let len = values.len();
        // SAFETY: 0 is within the capacity, and the elements past it stay initialized in
        // the buffer for `take` to move out; the `Vec` no longer drops them.
        unsafe { values.set_len(0) };
        DenseInputs { values, len }
    }

    /// How many inputs there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The handle the workers take inputs through.
    pub(crate) fn taker(&self) -> Taker<'_, T> {
        Taker {
            base: self.values.as_ptr(),
            len: self.len,
            _buffer: PhantomData,
        }
    }
}

impl<T> Taker<'_, T> {
    /// Moves input `index` out.
    ///
    /// # Safety
    ///
    /// `index` is below the length, and no other take of it happens, before or at the same
    /// time.
    #[inline(always)]
    pub(crate) unsafe fn take(&self, index: usize) -> T {
        debug_assert!(index < self.len);
        // SAFETY: in bounds and initialized (`DenseInputs::new`), and moved out only here,
        // once (the caller's contract).
        unsafe { self.base.add(index).read() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    /// Writes every index but `missing` (from rayon's workers), then finishes.
    fn dense(len: usize, missing: &[usize]) -> Vec<String> {
        let mut out = DenseOutputs::with_len(len);
        let writer = out.writer();
        (0..len)
            .into_par_iter()
            .filter(|i| !missing.contains(i))
            // SAFETY: each index once, below `len`.
            .for_each(|i| unsafe { writer.write(i, i.to_string()) });
        // SAFETY: every index but the sorted `missing` was written once.
        unsafe { out.finish(missing.iter().copied()) }
    }

    #[test]
    fn every_input_is_moved_out_once_and_the_buffer_freed() {
        let inputs = DenseInputs::new((0..100).map(|i| i.to_string()).collect::<Vec<_>>());
        let taker = inputs.taker();
        let taken: Vec<String> = (0..inputs.len())
            .into_par_iter()
            // SAFETY: each index once, below the length.
            .map(|i| unsafe { taker.take(i) })
            .collect();
        assert_eq!(taken[42], "42");
        assert_eq!(taken.len(), 100);
        drop(inputs);
    }

    #[test]
    fn gaps_are_closed_up_in_order() {
        let want = |skip: &[usize], len: usize| -> Vec<String> {
            (0..len)
                .filter(|i| !skip.contains(i))
                .map(|i| i.to_string())
                .collect()
        };
        for missing in [
            &[][..],
            &[0],
            &[9],
            &[0, 1, 2],
            &[3, 4, 8],
            &[1, 3, 5, 7, 9],
        ] {
            assert_eq!(dense(10, missing), want(missing, 10), "{missing:?}");
        }
        assert_eq!(dense(0, &[]), Vec::<String>::new());
        assert_eq!(dense(3, &[0, 1, 2]), Vec::<String>::new());
    }
}
