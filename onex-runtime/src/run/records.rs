//! A run's records: the thunks it emitted and one record per step, kept unless
//! `RunOptions::records(false)`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::model::Graph;
use crate::model::StepSpec;
use crate::model::{StepRecord, StepState, Thunk, ThunkIds, thunk_id};

/// Thunks and step records, kept unless `RunOptions::records(false)`.
pub(crate) struct Records {
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) thunks: Vec<Thunk>,
    /// Where each step's thunks sit in `thunks` (they are emitted together).
    thunk_range: Vec<(u32, u32)>,
}

impl Records {
    /// Empty records of a run of `graph`: one pending record per step, no thunk.
    pub(crate) fn new(graph: &Graph) -> Self {
        let n = graph.steps().len();
        Records {
            steps: graph
                .steps()
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    StepRecord::new(
                        s.name.clone(),
                        s.node_type.clone(),
                        s.kind,
                        graph.wave_of(i),
                    )
                })
                .collect(),
            thunks: Vec::with_capacity(n),
            thunk_range: vec![(0, 0); n],
        }
    }

    /// Emits the thunk of one call of `spec`. It depends on every thunk of the steps the
    /// step reads.
    pub(crate) fn push_thunk(
        &mut self,
        spec: &StepSpec,
        operation_data: serde_json::Value,
        metadata: BTreeMap<String, serde_json::Value>,
        created_at: SystemTime,
    ) {
        let mut dependencies = ThunkIds::new();
        for &d in spec.deps.iter() {
            let (from, to) = self.thunk_range[d];
            // Pushed one by one: `SmallVec::extend` reserves first, which cost more than the
            // usual single id.
            for t in &self.thunks[from as usize..to as usize] {
                dependencies.push(t.thunk_id);
            }
        }
        // Built in place in the vector: a `Thunk` is large, and a move is a copy of it.
        self.thunks.push(Thunk {
            thunk_id: thunk_id(),
            thunk_type: spec.kind.thunk_type(),
            target_node_type: spec.node_type.clone(),
            operation_data,
            dependencies,
            priority: spec.policy.priority,
            timeout: spec.policy.timeout,
            retry_count: spec.policy.retries,
            metadata,
            created_at,
        });
    }

    /// The thunk of call `item` of `step`, once the step started.
    pub(crate) fn thunk_of(&self, step: usize, item: usize) -> Option<&Thunk> {
        let (from, to) = *self.thunk_range.get(step)?;
        self.thunks[from as usize..to as usize].get(item)
    }

    /// Marks `step` running since `elapsed`, with `calls` calls whose thunks are those
    /// emitted from `first` on.
    pub(crate) fn start_step(
        &mut self,
        step: usize,
        first: usize,
        elapsed: Duration,
        calls: usize,
    ) {
        let last = self.thunks.len();
        self.thunk_range[step] = (first as u32, last as u32);
        let record = &mut self.steps[step];
        record.state = StepState::Running;
        record.started = Some(elapsed);
        record.calls = calls;
        record.thunks = first..last;
    }
}
