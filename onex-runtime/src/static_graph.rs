//! Const helpers the `workflow!` macro uses to finish a graph at compile time.
//!
//! The macro computes the topological waves from the step names it sees; a node's priority
//! and the optional-ness of its parameters live in trait constants the macro cannot read, so
//! the last steps run in const evaluation. The runtime never sorts a static graph.

/// Sorts each wave of `order` by `(priority, index)`, exactly as [`Graph::new`](crate::Graph::new) does.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::order_by_priority;
/// const ORDER: [usize; 3] = order_by_priority([0, 1, 2], &[0, 1], &[0, 5, -1]);
/// assert_eq!(ORDER, [0, 2, 1]);
/// ```
pub const fn order_by_priority<const N: usize>(
    mut order: [usize; N],
    wave_starts: &[usize],
    priority: &[i32; N],
) -> [usize; N] {
    let mut w = 0;
    while w < wave_starts.len() {
        let start = wave_starts[w];
        let end = if w + 1 < wave_starts.len() {
            wave_starts[w + 1]
        } else {
            N
        };
        // Insertion sort: waves are short and this runs in const evaluation.
        let mut i = start + 1;
        while i < end {
            let mut j = i;
            while j > start && before(order[j], order[j - 1], priority) {
                let t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
                j -= 1;
            }
            i += 1;
        }
        w += 1;
    }
    order
}

const fn before<const N: usize>(a: usize, b: usize, priority: &[i32; N]) -> bool {
    priority[a] < priority[b] || (priority[a] == priority[b] && a < b)
}

/// Packs the dependencies flagged `optional` at the front: `(packed, how many)`.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::select_deps;
/// assert_eq!(select_deps([3, 5, 7], [false, true, true]), ([5, 7, 0], 2));
/// ```
pub const fn select_deps<const N: usize>(
    deps: [usize; N],
    optional: [bool; N],
) -> ([usize; N], usize) {
    let mut out = [0; N];
    let mut n = 0;
    let mut i = 0;
    while i < N {
        if optional[i] {
            out[n] = deps[i];
            n += 1;
        }
        i += 1;
    }
    (out, n)
}

/// Whether two orders are the same, in const evaluation: `workflow!` emits its straight-line
/// body in the order it computed and uses it only when priorities left that order alone.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::same_order;
/// assert!(same_order(&[0, 2, 1], &[0, 2, 1]));
/// assert!(!same_order(&[0, 1, 2], &[0, 2, 1]));
/// ```
pub const fn same_order<const N: usize>(a: &[usize; N], b: &[usize; N]) -> bool {
    let mut i = 0;
    while i < N {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
