//! A run's records, kept unless `RunOptions::records(false)`: a compact log written on the
//! hot path, which the report's [`RecordList`]s build thunks and step records from when
//! they are first read.
//!
//! Per call the log holds its step, item and clock reading; per step its state, counts and
//! clock readings, with what is rare (an error, a skip reason, failed attempts, a
//! compensation) in a side vector; the steps a straight line ran, as the raw clock readings
//! it took. Names, node types, policies and dependencies come from the graph, and thunk ids
//! from one random base per run, when the values are built: a report dropped unread never
//! builds them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use crate::model::{
    AttemptRecord, BuildRecords, CompensationRecord, NodeError, RecordList, SkipReason, StepRecord,
    StepState, Thunk, ThunkIds,
};
use crate::program::erased::Erased;
use crate::run::clock::Start;

/// Thunks and step records of one run, as a compact log.
pub(crate) struct Records {
    pub(crate) steps: Vec<StepLog>,
    /// The rare parts of the steps that have them (see [`Records::rare`]).
    rares: Vec<Rare>,
    thunks: Vec<ThunkLog>,
    /// The captured input of a call, by thunk index, in emission order (input capture).
    captured: Vec<(u32, serde_json::Value)>,
    program: Arc<Erased>,
    started_at: SystemTime,
    /// Thunk `i`'s id is this plus `i`, as a uuid v4 (see [`Records::thunk_id`]).
    id_base: u128,
    /// The steps a straight line ran, as it left them.
    line: Option<Line>,
}

/// The steps a straight line ran at the start of a fresh run: the first `len` of the order,
/// completed, one call each, whose thunks are the run's first `len`.
struct Line {
    len: usize,
    /// Raw readings of `start`'s clock at each one's end.
    ends: Vec<AtomicU64>,
    start: Start,
    /// When the first started.
    begin: Duration,
}

impl Line {
    /// When the step at `position` in the order started and ended.
    fn span(&self, position: usize) -> (Duration, Duration) {
        let end = |i: usize| {
            self.ends
                .get(i)
                .map_or(self.begin, |e| self.start.offset(e.load(Ordering::Relaxed)))
        };
        let started = match position {
            0 => self.begin,
            p => end(p - 1),
        };
        (started, end(position))
    }
}

/// One step's record, as the run writes it. Plain data: a run's logs drop as one
/// allocation.
#[derive(Clone, Copy)]
pub(crate) struct StepLog {
    pub(crate) state: StepState,
    pub(crate) attempts: u32,
    pub(crate) max_attempts: u32,
    pub(crate) output_attempt: Option<u32>,
    pub(crate) calls: u32,
    pub(crate) cache_hits: u32,
    pub(crate) started: Option<Duration>,
    pub(crate) finished: Option<Duration>,
    /// Where its calls' thunks are in the run's thunks.
    thunks: (u32, u32),
    /// Its rare parts: `rares[rare - 1]`, none when 0.
    rare: u32,
}

/// What most steps never have.
#[derive(Default)]
pub(crate) struct Rare {
    pub(crate) error: Option<NodeError>,
    pub(crate) skip_reason: Option<SkipReason>,
    pub(crate) failed_attempts: Vec<AttemptRecord>,
    pub(crate) compensation: Option<CompensationRecord>,
}

/// One call's thunk, as the run writes it.
#[derive(Clone, Copy)]
struct ThunkLog {
    step: u32,
    item: u32,
    /// When it was emitted, from the start of the run.
    created: Duration,
}

impl StepLog {
    const PENDING: StepLog = StepLog {
        state: StepState::Pending,
        attempts: 0,
        max_attempts: 0,
        output_attempt: None,
        calls: 0,
        cache_hits: 0,
        started: None,
        finished: None,
        thunks: (0, 0),
        rare: 0,
    };

    /// How long it ran (see [`StepRecord::duration`]).
    pub(crate) fn duration(&self) -> Option<Duration> {
        Some(self.finished?.saturating_sub(self.started?))
    }
}

impl Records {
    /// Empty records of a run of `program` started at `started_at`: every step pending, no
    /// thunk.
    pub(crate) fn new(program: &Arc<Erased>, started_at: SystemTime) -> Self {
        let n = program.graph().steps().len();
        Records {
            steps: vec![StepLog::PENDING; n],
            rares: Vec::new(),
            // Grown as calls start: a straight line's thunks are not pushed here.
            thunks: Vec::new(),
            captured: Vec::new(),
            program: program.clone(),
            started_at,
            id_base: fastrand::u128(..),
            line: None,
        }
    }

    /// The rare parts of `step`, made on first use.
    pub(crate) fn rare(&mut self, step: usize) -> &mut Rare {
        let log = &mut self.steps[step];
        if log.rare == 0 {
            self.rares.push(Rare::default());
            log.rare = self.rares.len() as u32;
        }
        &mut self.rares[log.rare as usize - 1]
    }

    /// The rare parts of `step`, if it has any.
    pub(crate) fn rare_mut(&mut self, step: usize) -> Option<&mut Rare> {
        match self.steps[step].rare {
            0 => None,
            i => self.rares.get_mut(i as usize - 1),
        }
    }

    /// Sets the final error of `step` (or none).
    pub(crate) fn set_error(&mut self, step: usize, error: Option<NodeError>) {
        match (error, self.rare_mut(step)) {
            (None, None) => {}
            (None, Some(rare)) => rare.error = None,
            (Some(e), _) => self.rare(step).error = Some(e),
        }
    }

    /// The record of `step`, a plain synchronous call made inline at `started`, completed
    /// at `finished` at its first attempt, and its thunk: the sequential hot path's one
    /// write per step.
    #[inline]
    pub(crate) fn completed_inline(&mut self, step: usize, started: Duration, finished: Duration) {
        let first = self.thunk_count() as u32;
        self.thunks.push(ThunkLog {
            step: step as u32,
            item: 0,
            created: started,
        });
        let log = &mut self.steps[step];
        *log = StepLog {
            state: StepState::Completed,
            attempts: 1,
            max_attempts: 1,
            output_attempt: Some(1),
            calls: 1,
            started: Some(started),
            finished: Some(finished),
            thunks: (first, first + 1),
            ..*log
        };
    }

    /// Makes room for `n` more thunks: a wave's, written one by one.
    pub(crate) fn reserve_thunks(&mut self, n: usize) {
        self.thunks.reserve(n);
    }

    /// Records the steps a straight line ran at the start of a fresh run: the first
    /// `len` steps of the order, all completed, their calls plain and inline, the first
    /// started at `begin`, each ending at its raw reading in `ends` (`start`'s clock) and
    /// the next starting then; their thunks are the run's first. Kept as the line left
    /// them, turned into records when the report is read. Returns the last step's end.
    pub(crate) fn completed_line(
        &mut self,
        len: usize,
        ends: Vec<AtomicU64>,
        start: Start,
        begin: Duration,
    ) -> Duration {
        debug_assert!(self.thunks.is_empty() && self.line.is_none());
        let last = match len.checked_sub(1).and_then(|i| ends.get(i)) {
            Some(end) => start.offset(end.load(Ordering::Relaxed)),
            None => begin,
        };
        self.line = Some(Line {
            len,
            ends,
            start,
            begin,
        });
        last
    }

    /// The number of thunks emitted so far.
    #[inline]
    pub(crate) fn thunk_count(&self) -> usize {
        self.line_len() + self.thunks.len()
    }

    /// How many steps (and thunks) the straight line recorded.
    fn line_len(&self) -> usize {
        self.line.as_ref().map_or(0, |l| l.len)
    }

    /// Emits the thunk of call `item` of `step`, at `created` from the run's start, with
    /// the call's captured input if there is one. It depends on every thunk of the steps
    /// the step reads (derived from the graph when built).
    #[inline]
    pub(crate) fn push_thunk(
        &mut self,
        step: usize,
        item: usize,
        operation_data: Option<serde_json::Value>,
        created: Duration,
    ) {
        if let Some(data) = operation_data {
            self.captured.push((self.thunk_count() as u32, data));
        }
        self.thunks.push(ThunkLog {
            step: step as u32,
            item: item as u32,
            created,
        });
    }

    /// The thunk of call `item` of `step`, once the step started.
    pub(crate) fn thunk_of(&self, step: usize, item: usize) -> Option<Thunk> {
        let (from, to) = self.thunk_range(step)?;
        let index = from as usize + item;
        (index < to as usize).then(|| self.thunk(index))
    }

    /// The position in the order of `step` if the straight line ran it.
    fn line_position(&self, step: usize) -> Option<usize> {
        let len = self.line_len();
        let order = self.program.graph().order();
        order[..len.min(order.len())]
            .iter()
            .position(|&s| s == step)
    }

    /// Where the thunks of `step` are.
    fn thunk_range(&self, step: usize) -> Option<(u32, u32)> {
        match self.line_position(step) {
            Some(p) => Some((p as u32, p as u32 + 1)),
            None => Some(self.steps.get(step)?.thunks),
        }
    }

    /// Every step's thunk range, the straight line's included.
    fn thunk_ranges(&self) -> Vec<(u32, u32)> {
        let mut ranges: Vec<_> = self.steps.iter().map(|s| s.thunks).collect();
        let order = self.program.graph().order();
        for (p, &step) in order.iter().take(self.line_len()).enumerate() {
            ranges[step] = (p as u32, p as u32 + 1);
        }
        ranges
    }

    /// Marks `step` running since `elapsed`, with `calls` calls whose thunks are those
    /// emitted from `first` on.
    #[inline]
    pub(crate) fn start_step(
        &mut self,
        step: usize,
        first: usize,
        elapsed: Duration,
        calls: usize,
    ) {
        let last = self.thunk_count();
        let record = &mut self.steps[step];
        record.thunks = (first as u32, last as u32);
        record.state = StepState::Running;
        record.started = Some(elapsed);
        record.calls = calls as u32;
    }

    /// The report's lists, built from these records when first read.
    pub(crate) fn into_lists(self) -> (RecordList<StepRecord>, RecordList<Thunk>) {
        let log = Arc::new(self);
        (RecordList::from_log(log.clone()), RecordList::from_log(log))
    }

    /// Thunk `i`'s id: the run's random base plus `i`, as a uuid v4. The ids of one run
    /// are `n < 2^32` consecutive numbers, so any two differ in a bit below 32, which the
    /// uuid's version and variant bits (48 and up) leave alone: they are unique in the run,
    /// and across runs as unlikely to meet as random ids.
    fn thunk_id(&self, i: usize) -> Uuid {
        let bits = self.id_base.wrapping_add(i as u128);
        uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid()
    }

    /// Thunk `i`, built.
    fn thunk(&self, i: usize) -> Thunk {
        self.thunk_with(i, &self.thunk_ranges())
    }

    /// Thunk `i`, built, with every step's thunk range.
    fn thunk_with(&self, i: usize, ranges: &[(u32, u32)]) -> Thunk {
        let graph = self.program.graph();
        let log = match (&self.line, i.checked_sub(self.line_len())) {
            (Some(line), None) => ThunkLog {
                step: graph.order()[i] as u32,
                item: 0,
                created: line.span(i).0,
            },
            (_, Some(j)) => self.thunks[j],
            (None, None) => unreachable!("no line, so no thunk before it"),
        };
        let spec = graph.step(log.step as usize);
        let mut dependencies = ThunkIds::new();
        for &d in spec.deps.iter() {
            let (from, to) = ranges[d];
            for t in from..to {
                dependencies.push(self.thunk_id(t as usize));
            }
        }
        let mut metadata = BTreeMap::new();
        if spec.map {
            metadata.insert("item".into(), (log.item as usize).into());
        }
        let operation_data = match self.captured.binary_search_by_key(&(i as u32), |c| c.0) {
            Ok(at) => self.captured[at].1.clone(),
            Err(_) => serde_json::Value::Null,
        };
        Thunk {
            thunk_id: self.thunk_id(i),
            thunk_type: spec.kind.thunk_type(),
            target_node_type: spec.node_type.clone(),
            operation_data,
            dependencies,
            priority: spec.policy.priority,
            timeout: spec.policy.timeout,
            retry_count: spec.policy.retries,
            metadata,
            created_at: self.started_at + log.created,
        }
    }
}

impl BuildRecords<Thunk> for Records {
    fn build(&self) -> Vec<Thunk> {
        let ranges = self.thunk_ranges();
        (0..self.thunk_count())
            .map(|i| self.thunk_with(i, &ranges))
            .collect()
    }
}

impl BuildRecords<StepRecord> for Records {
    fn build(&self) -> Vec<StepRecord> {
        let graph = self.program.graph();
        let mut records: Vec<StepRecord> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, log)| {
                let spec = graph.step(i);
                let mut record = StepRecord::new(
                    spec.name.clone(),
                    spec.node_type.clone(),
                    spec.kind,
                    graph.wave_of(i),
                );
                record.state = log.state;
                record.attempts = log.attempts;
                record.max_attempts = log.max_attempts;
                record.calls = log.calls as usize;
                record.output_attempt = log.output_attempt;
                record.cache_hits = log.cache_hits as usize;
                record.started = log.started;
                record.finished = log.finished;
                record.thunks = log.thunks.0 as usize..log.thunks.1 as usize;
                if let Some(rare) = log
                    .rare
                    .checked_sub(1)
                    .and_then(|i| self.rares.get(i as usize))
                {
                    record.error = rare.error.clone();
                    record.skip_reason = rare.skip_reason.clone();
                    record.failed_attempts = rare.failed_attempts.clone();
                    record.compensation = rare.compensation.clone();
                }
                record
            })
            .collect();
        if let Some(line) = &self.line {
            for (p, &step) in graph.order().iter().take(line.len).enumerate() {
                let (started, finished) = line.span(p);
                let record = &mut records[step];
                record.state = StepState::Completed;
                record.attempts = 1;
                record.max_attempts = 1;
                record.calls = 1;
                record.output_attempt = Some(1);
                record.started = Some(started);
                record.finished = Some(finished);
                record.thunks = p..p + 1;
            }
        }
        records
    }
}
