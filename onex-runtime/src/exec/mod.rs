//! Scheduling: which calls run when, and where. The execution modes differ only here.
//!
//! - [`sequential`]: one step after another, on the executor's thread (stretches of plain
//!   steps back to back, [`direct`]).
//! - [`waves`]: `Parallel` and `Batch`, wave by wave; the calls of a wave run together
//!   ([`concurrent`]; a wave of plain steps as one rayon job, [`direct_wave`]).
//! - [`lockstep`]: `run_batch`, every input step by step, one rayon job per node type.
//! - [`fused`]: `run_batch` of an all-plain graph, each input start to end on a worker.
//! - [`lean`]: `run_batch_lean` of an all-plain graph, typed, one report for the batch.
//!
//! A call itself, with its policies, is [`crate::call`]'s; what it did is applied to its
//! run's [`RunState`].

mod concurrent;
mod direct;
mod direct_wave;
pub(crate) mod fused;
pub(crate) mod lean;
mod lockstep;
mod sequential;
mod waves;

use std::sync::Arc;

use crate::context::Runtime;
use crate::model::Graph;
use crate::model::{ExecutionMode, RunOptions};
use crate::run::execution::Execution;
use crate::run::state::RunState;

/// Runs the runs of `states` to their end (or until each stops): one run in its mode, or
/// several (a `run_batch`) in lock-step.
pub(crate) async fn schedule(rt: &Runtime, sh: &Arc<Execution>, states: &mut [RunState]) {
    match states {
        [state] => match sh.mode {
            ExecutionMode::Sequential => sequential::run(rt, sh, state).await,
            ExecutionMode::Parallel { max_parallel } => {
                waves::run(rt, sh, state, Some(max_parallel)).await
            }
            ExecutionMode::Batch => waves::run(rt, sh, state, None).await,
        },
        states => lockstep::run(rt, sh, states).await,
    }
}

/// Whether plain steps may run back to back ([`direct::run_direct`]): nothing is told,
/// captured or handed to a step driver (`driven`) per step, so nothing but the call and
/// its records happens per step.
pub(crate) fn direct_allowed(rt: &Runtime, options: &RunOptions, driven: bool) -> bool {
    options.observer.is_none()
        && !options.cache_all
        && !options.capture_inputs
        && rt.inner.breakers.is_empty()
        && !driven
        && !tracing::level_enabled!(tracing::Level::DEBUG)
}

/// Whether every step of `graph` is plain and synchronous, in one stretch.
pub(crate) fn all_plain(graph: &Graph) -> bool {
    graph.direct_stretches().first().map(|&n| n as usize) == Some(graph.order().len())
}
