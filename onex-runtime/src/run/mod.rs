//! The state of runs: what the calls of one execution share, each run's step states and
//! records, the outcomes applied to them, the stragglers and compensations a run settles
//! at its end, and the report it becomes.

pub(crate) mod clock;
pub(crate) mod driven;
pub(crate) mod execution;
pub(crate) mod outcome;
pub(crate) mod records;
pub(crate) mod result;
pub(crate) mod saga;
pub(crate) mod setup;
pub(crate) mod state;
pub(crate) mod straggler;
