//! Running a reducer node over its list: sequentially, or in parallel chunks when the node
//! has a `merge` and the run is in batch mode.

use rayon::prelude::*;

use crate::model::ExecutionMode;

/// Folds `items` into a fresh accumulator with `fold`.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::fold_items;
/// fn add(acc: &mut u64, x: &u64) { *acc += x; }
/// assert_eq!(fold_items(&[1, 2, 3], add), 6);
/// ```
pub fn fold_items<Item, Acc: Default>(items: &[Item], fold: impl Fn(&mut Acc, &Item)) -> Acc {
    let mut acc = Acc::default();
    for item in items {
        fold(&mut acc, item);
    }
    acc
}

/// Folds `items` like [`fold_items`]; in [`ExecutionMode::Batch`] the items are split into
/// chunks folded on the rayon pool, and the partial accumulators combined with `merge`.
///
/// # Examples
///
/// ```
/// use onex_runtime::ExecutionMode;
/// use onex_runtime::__private::fold_items_merge;
/// fn add(acc: &mut u64, x: &u64) { *acc += x; }
/// fn merge(into: &mut u64, from: u64) { *into += from; }
/// let items: Vec<u64> = (1..=10_000).collect();
/// assert_eq!(fold_items_merge(&items, ExecutionMode::Batch, add, merge), 50_005_000);
/// ```
pub fn fold_items_merge<Item, Acc>(
    items: &[Item],
    mode: ExecutionMode,
    fold: impl Fn(&mut Acc, &Item) + Sync,
    merge: impl Fn(&mut Acc, Acc) + Sync,
) -> Acc
where
    Item: Sync,
    Acc: Default + Send,
{
    // Below this a parallel fold costs more in task overhead than it saves.
    const MIN_CHUNK: usize = 1024;
    if mode != ExecutionMode::Batch || items.len() < 2 * MIN_CHUNK {
        return fold_items(items, fold);
    }
    let chunk = items
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(MIN_CHUNK);
    items
        .par_chunks(chunk)
        .map(|part| fold_items(part, &fold))
        .reduce(Acc::default, |mut into, from| {
            merge(&mut into, from);
            into
        })
}
