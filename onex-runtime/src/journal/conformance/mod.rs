//! The checks every [`Journal`] backend must pass, so that the executors can rely on one
//! behaviour whatever the store.
//!
//! Each check is a public async function taking a [`JournalFactory`]; the
//! [`journal_conformance_tests!`](crate::journal_conformance_tests) macro turns all of
//! them into `#[test]`s. Lease expiry is checked by moving a [`ManualClock`], never by
//! sleeping, so the suite is fast and deterministic.
//!
//! # Examples
//!
//! A backend's test file:
//!
//! ```
//! use onex_runtime::journal::conformance::JournalFactory;
//! use onex_runtime::journal::{ManualClock, MemoryJournal};
//!
//! struct Memory;
//!
//! impl JournalFactory for Memory {
//!     type Journal = MemoryJournal;
//!     fn create(&self, clock: ManualClock) -> MemoryJournal {
//!         MemoryJournal::with_clock(clock)
//!     }
//!     fn reopen(&self, journal: &MemoryJournal, _clock: ManualClock) -> MemoryJournal {
//!         journal.clone()
//!     }
//! }
//!
//! onex_runtime::journal_conformance_tests!(Memory);
//! # fn main() {}
//! ```

mod compensation;
mod leases;
mod retention;
mod runs;
mod steps;

pub use compensation::{
    compensation_is_journaled_once, resolve_settles_in_doubt_calls,
    resolve_settles_in_doubt_compensations,
};
pub use leases::{
    expired_lease_refuses_writes_until_renewed, lease_expires_and_is_taken_over,
    lease_is_exclusive_across_handles, release_lets_another_holder_in, renewal_extends_the_lease,
    stale_token_is_refused_on_every_write,
};
pub use retention::{list_runs_filters_and_orders, prune_by_age, prune_by_count};
pub use runs::{
    finishing_releases_and_freezes_the_run, start_attaches_to_an_unfinished_run,
    start_records_a_new_run, start_refuses_another_workflow, start_refuses_while_leased,
    start_returns_a_finished_run, status_changes_are_journaled, unknown_runs_are_reported,
};
pub use steps::{
    a_batch_is_all_or_nothing, a_forgotten_step_runs_again,
    a_refused_write_leaves_concurrent_writes_alone, a_second_handle_sees_every_commit,
    concurrent_runs_are_all_journaled, fused_outcome_and_intent_is_one_write,
    intent_then_outcome_completes_a_step, intent_without_outcome_is_in_doubt,
    intents_name_their_holder, large_payloads_round_trip, map_items_are_separate_calls,
    step_changes_follow_the_rules,
};

use std::future::Future;
use std::time::Duration;

use super::{Journal, Lease, ManualClock, NewRun, StepKey, Write};

/// Makes the stores a backend is checked on.
///
/// # Examples
///
/// See the [module documentation](self).
pub trait JournalFactory {
    /// The backend checked.
    type Journal: Journal + 'static;

    /// A new, empty store reading time from `clock`.
    fn create(&self, clock: ManualClock) -> Self::Journal;

    /// A second handle on `journal`'s store, opened the way another process would open it
    /// (its own connections), reading time from `clock`.
    fn reopen(&self, journal: &Self::Journal, clock: ManualClock) -> Self::Journal;
}

/// Runs one check on a fresh single-threaded tokio runtime (what the
/// [`journal_conformance_tests!`](crate::journal_conformance_tests) tests call).
///
/// # Examples
///
/// ```
/// # use onex_runtime::journal::conformance::JournalFactory;
/// # use onex_runtime::journal::{ManualClock, MemoryJournal};
/// # struct Memory;
/// # impl JournalFactory for Memory {
/// #     type Journal = MemoryJournal;
/// #     fn create(&self, clock: ManualClock) -> MemoryJournal { MemoryJournal::with_clock(clock) }
/// #     fn reopen(&self, j: &MemoryJournal, _: ManualClock) -> MemoryJournal { j.clone() }
/// # }
/// use onex_runtime::journal::conformance::{run, prune_by_age};
///
/// run(&Memory, prune_by_age);
/// ```
pub fn run<'f, F, Fut>(factory: &'f F, check: impl FnOnce(&'f F) -> Fut)
where
    F: JournalFactory,
    Fut: Future<Output = ()> + 'f,
{
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the journal conformance checks")
        .block_on(check(factory));
}

/// Expands to one `#[test]` per check of [`conformance`](crate::journal::conformance),
/// each run on the journals `$factory` (a [`JournalFactory`]) makes.
///
/// # Examples
///
/// See the [module documentation](crate::journal::conformance).
#[macro_export]
macro_rules! journal_conformance_tests {
    ($factory:expr) => {
        $crate::journal_conformance_tests!(@each $factory;
            start_records_a_new_run,
            start_attaches_to_an_unfinished_run,
            start_refuses_while_leased,
            start_returns_a_finished_run,
            start_refuses_another_workflow,
            unknown_runs_are_reported,
            status_changes_are_journaled,
            finishing_releases_and_freezes_the_run,
            lease_is_exclusive_across_handles,
            lease_expires_and_is_taken_over,
            renewal_extends_the_lease,
            expired_lease_refuses_writes_until_renewed,
            release_lets_another_holder_in,
            stale_token_is_refused_on_every_write,
            intent_then_outcome_completes_a_step,
            intent_without_outcome_is_in_doubt,
            intents_name_their_holder,
            fused_outcome_and_intent_is_one_write,
            step_changes_follow_the_rules,
            a_batch_is_all_or_nothing,
            a_forgotten_step_runs_again,
            a_refused_write_leaves_concurrent_writes_alone,
            map_items_are_separate_calls,
            large_payloads_round_trip,
            concurrent_runs_are_all_journaled,
            a_second_handle_sees_every_commit,
            compensation_is_journaled_once,
            resolve_settles_in_doubt_calls,
            resolve_settles_in_doubt_compensations,
            list_runs_filters_and_orders,
            prune_by_age,
            prune_by_count,
        );
    };
    (@each $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::journal::conformance::run(&$factory, $crate::journal::conformance::$check);
            }
        )*
    };
}

/// The lease length the checks use.
const TTL: Duration = Duration::from_secs(30);

/// A store and the clock it reads.
struct Setup<'f, F: JournalFactory> {
    factory: &'f F,
    clock: ManualClock,
    first: F::Journal,
}

impl<'f, F: JournalFactory> Setup<'f, F> {
    fn new(factory: &'f F) -> Self {
        let clock = ManualClock::new();
        let first = factory.create(clock.clone());
        Setup {
            factory,
            clock,
            first,
        }
    }

    /// The store, as the executors see it.
    fn journal(&self) -> &dyn Journal {
        &self.first
    }

    /// A second handle on the store, as another process.
    fn other(&self) -> F::Journal {
        self.factory.reopen(&self.first, self.clock.clone())
    }
}

/// The key of step `index`, named after it.
fn key(index: u32) -> StepKey {
    StepKey::new(index, format!("step{index}"))
}

/// A new run `run_id` of workflow `Wf`, leased to `holder-a`.
async fn create(journal: &dyn Journal, run_id: &str) -> Lease {
    let started = journal
        .start_run(
            NewRun::new(run_id, "Wf", format!("input of {run_id}").into_bytes()),
            "holder-a",
            TTL,
        )
        .await
        .unwrap_or_else(|e| panic!("starting new run `{run_id}`: {e}"));
    match started.lease() {
        Some(lease) if matches!(started, super::Started::Created(_)) => lease.clone(),
        _ => panic!("starting new run `{run_id}` gave {started:?}, not Created"),
    }
}

/// Journals `step` as called once and completed with `output` (one batch).
async fn complete(journal: &dyn Journal, lease: &Lease, step: StepKey, output: Vec<u8>) {
    let writes = vec![
        Write::intent(step.clone(), 1),
        Write::outcome(step.clone(), Ok(output), 1),
    ];
    journal
        .write(lease, writes)
        .await
        .unwrap_or_else(|e| panic!("completing {step}: {e}"));
}
