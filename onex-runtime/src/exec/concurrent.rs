//! Calls in flight together: synchronous first attempts in rayon groups, everything else
//! (asynchronous calls, timed calls, retries) as futures on the executor's task.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rayon::prelude::*;
use tokio::sync::oneshot;

use crate::call::{Place, attempt_sync, drive, precheck, settle_first};
use crate::context::Runtime;
use crate::run::execution::{CallId, Execution};
use crate::run::outcome::{Attempt, Outcome};
use crate::run::state::RunState;

/// How many calls may be in flight at once.
#[derive(Debug, Clone, Copy)]
pub(super) enum Limit {
    /// At most this many calls of the wave at once (Parallel mode).
    Total(usize),
    /// Synchronous calls grouped by node type, one rayon job per group; no bound beyond
    /// the pool's (Batch mode, `run_batch`).
    GroupByNode,
}

/// Runs calls concurrently. Synchronous first attempts go to rayon in groups (one job per
/// group, not per call, so a wave of a thousand trivial steps costs one cross-thread round
/// trip); asynchronous calls, timed calls and retries are driven as futures on this task.
pub(super) async fn run_concurrent(
    rt: &Runtime,
    sh: &Arc<Execution>,
    states: &mut [RunState],
    calls: Vec<CallId>,
    limit: Limit,
) {
    let graph = sh.program.graph();
    let mut grouped: Vec<CallId> = Vec::new();
    let mut driven: VecDeque<(CallId, Option<Attempt>)> = VecDeque::new();
    for c in calls {
        if let Some(settled) = precheck(rt, sh, c) {
            states[c.run].apply(sh, settled);
            continue;
        }
        let spec = graph.step(c.step);
        if spec.is_async || spec.policy.timeout.is_some() || sh.by_driver(c) {
            driven.push_back((c, None));
        } else {
            grouped.push(c);
        }
    }

    // Split the bound: asynchronous calls (mostly waiting) get up to all but one slot,
    // synchronous ones the rest.
    let (driven_cap, groups) = match limit {
        Limit::Total(total) => {
            let driven_cap = if grouped.is_empty() {
                total
            } else {
                driven.len().min(total.saturating_sub(1))
            };
            let workers = total - driven_cap;
            let groups = if grouped.is_empty() {
                Vec::new()
            } else {
                vec![(grouped, workers)]
            };
            (driven_cap, groups)
        }
        Limit::GroupByNode => {
            let mut by_node: HashMap<&str, Vec<CallId>> = HashMap::new();
            let mut order = Vec::new();
            for c in grouped {
                let node = &*graph.step(c.step).node_type;
                by_node.entry(node).or_insert_with(|| {
                    order.push(node);
                    Vec::new()
                });
                if let Some(group) = by_node.get_mut(node) {
                    group.push(c);
                }
            }
            let groups = order
                .into_iter()
                .filter_map(|node| by_node.remove(node))
                .map(|group| {
                    let workers = group.len();
                    (group, workers)
                })
                .collect();
            (usize::MAX, groups)
        }
    };
    let sync_workers: usize = match limit {
        Limit::Total(_) => groups.iter().map(|(_, w)| *w).sum(),
        Limit::GroupByNode => 0,
    };

    let mut pending_groups: FuturesUnordered<_> = groups
        .into_iter()
        .map(|(group, workers)| spawn_group(sh, group, workers))
        .collect();
    let mut busy_sync = sync_workers;
    let mut running = FuturesUnordered::new();
    loop {
        // While a group runs, its workers hold their share of the bound.
        let cap = match limit {
            Limit::Total(total) => total - busy_sync.min(total),
            Limit::GroupByNode => usize::MAX,
        };
        debug_assert!(busy_sync == 0 || cap <= driven_cap.max(1));
        while running.len() < cap {
            let Some((c, first)) = driven.pop_front() else {
                break;
            };
            if states[c.run].stopped && first.is_none() {
                continue;
            }
            running.push(drive(rt, sh, c, first, Place::Pool));
        }
        if pending_groups.is_empty() && running.is_empty() {
            break;
        }
        tokio::select! {
            Some(results) = pending_groups.next(), if !pending_groups.is_empty() => {
                let results: Vec<(CallId, Attempt)> = results;
                if pending_groups.is_empty() {
                    busy_sync = 0;
                }
                for (c, made) in results {
                    // Most results settle here; retries, circuits and cache stores go
                    // through `drive`.
                    match settle_first(rt, sh, c, made) {
                        Ok(outcome) => states[c.run].apply(sh, outcome),
                        Err(made) => driven.push_front((c, Some(made))),
                    }
                }
            }
            Some(outcome) = running.next(), if !running.is_empty() => {
                let run = outcome.call.run;
                states[run].apply(sh, outcome);
            }
        }
        if states.iter().all(|s| s.stopped) && pending_groups.is_empty() {
            // Everything left belongs to stopped runs: drop it, which cancels it.
            let still_driven: Vec<_> = driven
                .drain(..)
                .filter(|(_, first)| first.is_some())
                .collect();
            drop(running);
            for (c, made) in still_driven {
                // Calls that already ran must be applied so a saga can undo them.
                if let Some(made) = made {
                    let outcome = Outcome {
                        call: c,
                        result: made.result,
                        attempts: 1,
                        failed: Vec::new(),
                        cache_hit: false,
                        recorded: false,
                    };
                    states[c.run].apply(sh, outcome);
                }
            }
            return;
        }
    }
}

type GroupResult = Vec<(CallId, Attempt)>;

/// Runs one group of synchronous first attempts on rayon with at most `workers` in flight.
fn spawn_group(
    sh: &Arc<Execution>,
    group: Vec<CallId>,
    workers: usize,
) -> impl std::future::Future<Output = GroupResult> {
    let (tx, rx) = oneshot::channel::<GroupResult>();
    let job = Arc::clone(sh);
    rayon::spawn(move || {
        let results: GroupResult = if workers >= group.len() {
            group
                .par_iter()
                .map(|&c| (c, attempt_sync(&job, c, 1, Place::Pool)))
                .collect()
        } else {
            // A bounded number of workers pulling the next call: never more than
            // `workers` calls in flight, and no idle worker while calls remain.
            let next = AtomicUsize::new(0);
            // Write-once cells: `Slot`, not `OnceLock`, whose `set` goes through `Once`
            // (see `Slot`).
            let done: Vec<crate::store::Slot<Attempt>> =
                (0..group.len()).map(|_| Default::default()).collect();
            rayon::scope(|s| {
                for _ in 0..workers.max(1) {
                    s.spawn(|_| {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&c) = group.get(i) else { break };
                            done[i].put(attempt_sync(&job, c, 1, Place::Pool));
                        }
                    });
                }
            });
            group
                .iter()
                .zip(done)
                .filter_map(|(&c, made)| Some((c, made.into_inner()?)))
                .collect()
        };
        drop(job);
        let _ = tx.send(results);
    });
    async move { rx.await.unwrap_or_default() }
}
