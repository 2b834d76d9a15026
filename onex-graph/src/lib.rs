//! Dependency-graph algorithms shared by the onex macros (at compile time) and the
//! onex runtime (for graphs built at run time).
//!
//! A graph here is a list of nodes `0..n`, each with the list of nodes it depends on.
//! Data flows from a dependency to its dependent, so an edge `d -> i` means "`d` feeds `i`".
//!
//! ```
//! use onex_graph::{levels, Levels};
//!
//! // a -> b, a -> c, (b, c) -> d: the diamond.
//! let deps: Vec<Vec<usize>> = vec![vec![], vec![0], vec![0], vec![1, 2]];
//! let levels: Levels = levels(&deps).unwrap();
//! assert_eq!(levels.waves().collect::<Vec<_>>(), vec![&[0][..], &[1, 2], &[3]]);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cycles;
mod levels;
pub mod suggest;

pub use cycles::{Cycle, find_cycles};
pub use levels::{Levels, levels};
