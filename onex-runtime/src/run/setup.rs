//! How the parts of each run of one `run` or `run_batch` call are made.

use std::borrow::Cow;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::clock;
use super::execution::Execution;
use super::state::RunState;
use crate::context::{Context, Runtime};
use crate::driver::RunDriver;
use crate::model::{ExecutionMode, RunOptions};
use crate::program::erased::{AnySlots, Erased};

/// What every run of one `run` or `run_batch` call shares, and how each run's parts are
/// made from it.
pub(crate) struct Setup<'a> {
    pub(crate) rt: &'a Runtime,
    pub(crate) program: Arc<Erased>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) options: &'a RunOptions,
    pub(crate) mode: ExecutionMode,
    /// The id of the first input's run (`RunOptions::workflow_id` if set).
    pub(crate) first_id: Uuid,
    /// The correlation id set by the options or the enclosing run; otherwise one per run.
    pub(crate) operation_id: Option<Uuid>,
    pub(crate) cancel: Arc<CancellationToken>,
}

impl Setup<'_> {
    /// The context of input `i`.
    pub(crate) fn context(&self, i: usize) -> Context {
        let workflow_id = if i == 0 {
            self.first_id
        } else {
            Uuid::new_v4()
        };
        Context::new(
            self.rt.clone(),
            self.name.clone(),
            workflow_id,
            self.operation_id.unwrap_or_else(Uuid::new_v4),
            self.cancel.clone(),
            self.mode,
        )
    }

    /// What the calls of the runs with these slots and contexts share.
    pub(crate) fn shared(
        &self,
        slots: Vec<AnySlots>,
        contexts: Vec<Context>,
        direct: bool,
        start: clock::Start,
        drivers: Vec<Box<dyn RunDriver>>,
    ) -> Execution {
        let options = self.options;
        Execution {
            program: Arc::clone(&self.program),
            slots,
            direct,
            abort: (0..contexts.len())
                .map(|_| AtomicBool::new(false))
                .collect(),
            leftovers: (0..contexts.len()).map(|_| Mutex::default()).collect(),
            contexts,
            mode: self.mode,
            cache_all: options.cache_all,
            capture: options.capture_inputs,
            observer: options.observer.clone(),
            timing: !options.records_off,
            start,
            deadline: options.timeout,
            handoffs: if drivers.is_empty() {
                Vec::new()
            } else {
                drivers.iter().map(|_| Mutex::default()).collect()
            },
            drivers,
        }
    }

    /// Run `run` (an index into its `Execution`), not started, started at `started_at` (one
    /// clock reading for every input of a batch: they start together).
    pub(crate) fn run_state(&self, run: usize, started_at: std::time::SystemTime) -> RunState {
        RunState::new(
            &self.program,
            run,
            self.options.failure_strategy,
            !self.options.records_off,
            started_at,
        )
    }
}
