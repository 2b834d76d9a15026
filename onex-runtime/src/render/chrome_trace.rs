//! [`WorkflowReport::to_chrome_trace`]: a run's timeline in the Trace Event format that
//! Perfetto (<https://ui.perfetto.dev>) and `chrome://tracing` open.
//!
//! Over 500 lines with its tests, which draw whole timelines and are most of the rest;
//! the renderer is about 400.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::model::StepState;
use crate::model::{StepRecord, WorkflowReport};

/// The pid of a lone report; [`chrome_trace`] numbers several reports from 1 too.
const FIRST_PID: usize = 1;

impl WorkflowReport {
    /// The run's timeline as Trace Event JSON, ready to save as `trace.json` and open in
    /// Perfetto or `chrome://tracing`.
    ///
    /// See [`to_chrome_trace_value`](Self::to_chrome_trace_value) for what it contains.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use onex::{NodeKind, StepRecord, StepState, WorkflowReport};
    ///
    /// let mut report = WorkflowReport::empty("etl");
    /// let mut fetch = StepRecord::new("fetch", "NodeDataFetcherEffect", NodeKind::Effect, 0);
    /// fetch.state = StepState::Completed;
    /// fetch.attempts = 1;
    /// fetch.started = Some(Duration::from_millis(1));
    /// fetch.finished = Some(Duration::from_millis(4));
    /// report.steps.push(fetch);
    ///
    /// let json = report.to_chrome_trace();
    /// // std::fs::write("trace.json", &json)?;   then open it in https://ui.perfetto.dev
    /// let trace: serde_json::Value = serde_json::from_str(&json).unwrap();
    /// let fetch = trace["traceEvents"]
    ///     .as_array()
    ///     .unwrap()
    ///     .iter()
    ///     .find(|e| e["name"] == "fetch")
    ///     .unwrap();
    /// assert_eq!(fetch["ph"], "X");
    /// assert_eq!(fetch["ts"], 1000.0); // microseconds
    /// assert_eq!(fetch["dur"], 3000.0);
    /// ```
    pub fn to_chrome_trace(&self) -> String {
        self.to_chrome_trace_value().to_string()
    }

    /// The run's timeline as a Trace Event JSON value (`{"traceEvents": [...]}`).
    ///
    /// Times are microseconds from the start of the run. The process is the run, named
    /// after the workflow and its `workflow_id`. Lane (thread) 0 holds one event spanning
    /// the whole run; steps are packed greedily onto lanes 1, 2, ... so that events that
    /// overlap in time never share a lane, and steps that ran concurrently sit side by side.
    ///
    /// - Every attempt is a complete event (`"ph": "X"`) with its attempt number in `args`.
    ///   A failed attempt (from [`StepRecord::failed_attempts`]) is named
    ///   `"<step> attempt N failed"`, colored `terrible`, and carries its error and `map`
    ///   item.
    /// - The last attempt is named after the step. The report does not record when it
    ///   started, only when the step started and when each failed attempt ended, so a
    ///   retried step's last attempt is drawn from the end of its last failed attempt: the
    ///   backoff delay is counted in it. A `map` step's calls run side by side, so its last
    ///   event spans the whole step. A step whose every attempt is among its failed ones
    ///   (the last failure is recorded there) gets no extra event. A step that recovered
    ///   after retries is colored `good`, one that failed otherwise `terrible`, a cancelled
    ///   one `grey`; a step still running when the run ended is drawn to the run's end.
    /// - A skipped step is an instant event (`"ph": "i"`) named `"<step> skipped"` with the
    ///   reason in `args`. Its time is when it ended if recorded, otherwise the end of the
    ///   latest step of an earlier wave (when the executor could first decide to skip it).
    /// - A compensation is a complete event named `"<step> compensation"`, category
    ///   `compensation`, colored `yellow` (`terrible` when it failed).
    /// - Metadata events (`"ph": "M"`) name the process and the lanes and keep lanes in
    ///   order.
    ///
    /// Steps that never started (pending, or cancelled before they ran) are not drawn.
    /// With records off (`RunOptions::records(false)`) only the run itself is drawn.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::WorkflowReport;
    ///
    /// let trace = WorkflowReport::empty("etl").to_chrome_trace_value();
    /// let events = trace["traceEvents"].as_array().unwrap();
    /// assert!(events.iter().any(|e| e["ph"] == "M" && e["name"] == "process_name"));
    /// assert!(events.iter().any(|e| e["ph"] == "X" && e["name"] == "etl"));
    /// ```
    pub fn to_chrome_trace_value(&self) -> Value {
        let mut events = Vec::new();
        push_report(&mut events, self, FIRST_PID, Duration::ZERO);
        trace_document(events)
    }
}

/// One timeline for several runs (for example the results of `run_batch`): each run is a
/// process of its own (pid 1, 2, ... in the given order), placed on a shared clock by its
/// [`WorkflowReport::started_at`] so that runs that overlapped in time overlap on screen.
///
/// Each process looks like [`WorkflowReport::to_chrome_trace_value`].
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use onex::{WorkflowReport, chrome_trace};
///
/// let mut first = WorkflowReport::empty("etl");
/// first.started_at = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
/// let mut second = first.clone();
/// second.started_at += Duration::from_millis(5);
///
/// let trace = chrome_trace([&first, &second]);
/// let runs: Vec<(u64, f64)> = trace["traceEvents"]
///     .as_array()
///     .unwrap()
///     .iter()
///     .filter(|e| e["ph"] == "X")
///     .map(|e| (e["pid"].as_u64().unwrap(), e["ts"].as_f64().unwrap()))
///     .collect();
/// assert_eq!(runs, vec![(1, 0.0), (2, 5000.0)]);
/// ```
pub fn chrome_trace<'a>(reports: impl IntoIterator<Item = &'a WorkflowReport>) -> Value {
    let reports: Vec<&WorkflowReport> = reports.into_iter().collect();
    let epoch = reports
        .iter()
        .map(|r| r.started_at)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut events = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        // A clock that went backwards between runs must not make a negative timestamp.
        let offset = report.started_at.duration_since(epoch).unwrap_or_default();
        push_report(&mut events, report, FIRST_PID + i, offset);
    }
    trace_document(events)
}

pub(super) fn trace_document(events: Vec<Value>) -> Value {
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

/// Something to draw on a lane: a complete event, or an instant when `end` is `None`.
pub(super) struct Span {
    pub(super) name: String,
    pub(super) cat: &'static str,
    pub(super) start: Duration,
    pub(super) end: Option<Duration>,
    pub(super) cname: Option<&'static str>,
    pub(super) args: Map<String, Value>,
}

impl Span {
    pub(super) fn last(&self) -> Duration {
        self.end.unwrap_or(self.start)
    }
}

fn push_report(events: &mut Vec<Value>, report: &WorkflowReport, pid: usize, offset: Duration) {
    let mut spans = Vec::new();
    for record in &report.steps {
        step_spans(&mut spans, report, record);
    }
    let (placed, lanes) = pack(spans);

    let name = format!("{} {}", report.workflow, report.workflow_id);
    push_process(events, pid, &name, "run", lanes);
    events.push(json!({
        "name": report.workflow, "cat": "workflow", "ph": "X",
        "ts": micros(offset), "dur": micros(report.processing_time), "pid": pid, "tid": 0,
        "args": {
            "workflow_id": report.workflow_id.to_string(),
            "operation_id": report.operation_id.to_string(),
            "state": report.state,
            "mode": report.mode,
            "failure_strategy": report.failure_strategy,
            "steps_completed": report.steps_completed,
            "steps_failed": report.steps_failed,
            "steps_skipped": report.steps_skipped,
            "steps_cancelled": report.steps_cancelled,
            "parallel_executions": report.parallel_executions,
            "load_balanced_operations": report.load_balanced_operations,
            "cache_hits": report.cache_hits,
            "records": report.records,
        },
    }));
    let placed = placed.into_iter().map(|(span, lane)| (span, lane + 1));
    push_spans(events, pid, offset, placed.collect());
}

/// The metadata events naming process `pid` and its lanes (thread 0 is `lane_0`, then
/// `lane 1` .. `lane {lanes}`), which also keep them in order.
pub(super) fn push_process(
    events: &mut Vec<Value>,
    pid: usize,
    name: &str,
    lane_0: &str,
    lanes: usize,
) {
    events.push(json!({
        "name": "process_name", "ph": "M", "pid": pid, "tid": 0,
        "args": { "name": name },
    }));
    events.push(json!({
        "name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0,
        "args": { "sort_index": pid },
    }));
    for tid in 0..=lanes {
        let name = if tid == 0 {
            lane_0.to_owned()
        } else {
            format!("lane {tid}")
        };
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
            "args": { "name": name },
        }));
        events.push(json!({
            "name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
            "args": { "sort_index": tid },
        }));
    }
}

/// The events of spans on threads of process `pid` (each with its thread id: a [`pack`]ed
/// lane `n` is thread `n + 1`), `offset` after the trace's start.
pub(super) fn push_spans(
    events: &mut Vec<Value>,
    pid: usize,
    offset: Duration,
    placed: Vec<(Span, usize)>,
) {
    for (span, tid) in placed {
        let mut event = Map::new();
        event.insert("name".into(), span.name.into());
        event.insert("cat".into(), span.cat.into());
        match span.end {
            Some(end) => {
                event.insert("ph".into(), "X".into());
                event.insert("ts".into(), micros(offset + span.start).into());
                event.insert("dur".into(), micros(end.saturating_sub(span.start)).into());
            }
            None => {
                event.insert("ph".into(), "i".into());
                event.insert("s".into(), "t".into());
                event.insert("ts".into(), micros(offset + span.start).into());
            }
        }
        event.insert("pid".into(), pid.into());
        event.insert("tid".into(), tid.into());
        if let Some(cname) = span.cname {
            event.insert("cname".into(), cname.into());
        }
        event.insert("args".into(), span.args.into());
        events.push(Value::Object(event));
    }
}

/// The spans one step record contributes (see `to_chrome_trace_value` for the rules).
fn step_spans(spans: &mut Vec<Span>, report: &WorkflowReport, record: &StepRecord) {
    let base = || {
        let mut args = Map::new();
        args.insert("step".into(), record.step.as_ref().into());
        args.insert("node_type".into(), record.node_type.as_ref().into());
        args.insert("kind".into(), record.kind.as_str().into());
        args.insert("wave".into(), record.wave.into());
        args
    };
    let cat = record.kind.as_str();

    if record.state == StepState::Skipped {
        let mut args = base();
        if let Some(reason) = &record.skip_reason {
            args.insert("reason".into(), reason.to_string().into());
        }
        spans.push(Span {
            name: format!("{} skipped", record.step),
            cat: "skip",
            start: record
                .finished
                .or(record.started)
                .unwrap_or_else(|| earlier_waves_end(report, record.wave)),
            end: None,
            cname: Some("grey"),
            args,
        });
        return;
    }

    let Some(started) = record.started else {
        return;
    };
    let finished = record
        .finished
        .unwrap_or(report.processing_time)
        .max(started);

    for failure in &record.failed_attempts {
        let mut args = base();
        args.insert("attempt".into(), failure.attempt.into());
        args.insert("item".into(), failure.item.into());
        args.insert("error".into(), failure.error.to_string().into());
        args.insert("transient".into(), failure.error.is_transient().into());
        spans.push(Span {
            name: format!("{} attempt {} failed", record.step, failure.attempt),
            cat,
            start: failure.started,
            end: Some(failure.finished.max(failure.started)),
            cname: Some("terrible"),
            args,
        });
    }

    let all_attempts_failed = !record.failed_attempts.is_empty()
        && record.attempts as usize <= record.failed_attempts.len();
    if all_attempts_failed && record.state == StepState::Failed {
        return;
    }
    let is_map = record.calls > 1 || record.failed_attempts.iter().any(|a| a.item > 0);
    let start = if is_map {
        started
    } else {
        record
            .failed_attempts
            .iter()
            .map(|a| a.finished)
            .max()
            .map_or(started, |f| f.max(started))
            .min(finished)
    };
    let (name, cname) = match record.state {
        StepState::Failed => (format!("{} failed", record.step), Some("terrible")),
        StepState::Cancelled => (format!("{} cancelled", record.step), Some("grey")),
        StepState::Running | StepState::Pending => {
            (format!("{} unfinished", record.step), Some("grey"))
        }
        _ if !record.failed_attempts.is_empty() => (record.step.to_string(), Some("good")),
        _ => (record.step.to_string(), None),
    };
    let mut args = base();
    args.insert(
        "state".into(),
        serde_json::to_value(record.state).unwrap_or(Value::Null),
    );
    if !is_map {
        // A map step's last event covers all its calls, so no single attempt number fits.
        args.insert("attempt".into(), record.attempts.max(1).into());
    }
    args.insert("attempts".into(), record.attempts.into());
    args.insert("calls".into(), record.calls.into());
    args.insert("cache_hits".into(), record.cache_hits.into());
    if let Some(error) = &record.error {
        args.insert("error".into(), error.to_string().into());
    }
    spans.push(Span {
        name,
        cat,
        start,
        end: Some(finished),
        cname,
        args,
    });

    if let Some(compensation) = &record.compensation {
        let mut args = base();
        args.insert(
            "state".into(),
            serde_json::to_value(compensation.state).unwrap_or(Value::Null),
        );
        if let Some(error) = &compensation.error {
            args.insert("error".into(), error.to_string().into());
        }
        let failed = compensation.state == StepState::Failed;
        spans.push(Span {
            name: format!("{} compensation", record.step),
            cat: "compensation",
            start: compensation.started,
            end: Some(compensation.finished.max(compensation.started)),
            cname: Some(if failed { "terrible" } else { "yellow" }),
            args,
        });
    }
}

/// When the latest step of a wave before `wave` ended: the earliest moment the executor
/// could decide to skip a step of `wave`.
fn earlier_waves_end(report: &WorkflowReport, wave: usize) -> Duration {
    report
        .steps
        .iter()
        .filter(|r| r.wave < wave)
        .filter_map(|r| r.finished)
        .max()
        .unwrap_or_default()
}

/// Assigns lanes by greedy interval packing: spans in start order, each on the lowest lane
/// free by its start. Events on one lane then never overlap, which trace viewers need (they
/// nest overlapping events of a thread or draw them on top of each other). Returns the
/// spans with their lane, in start order, and the number of lanes used.
pub(super) fn pack(mut spans: Vec<Span>) -> (Vec<(Span, usize)>, usize) {
    // Stable: ties keep record order, so the output is deterministic.
    spans.sort_by_key(|s| s.start);
    let mut free_at: Vec<Duration> = Vec::new();
    let mut placed = Vec::with_capacity(spans.len());
    for span in spans {
        let lane = match free_at.iter().position(|&f| f <= span.start) {
            Some(lane) => lane,
            None => {
                free_at.push(Duration::ZERO);
                free_at.len() - 1
            }
        };
        free_at[lane] = span.last();
        placed.push((span, lane));
    }
    let lanes = free_at.len();
    (placed, lanes)
}

/// Microseconds, the unit of `ts` and `dur`, with the nanoseconds kept as a fraction.
pub(super) fn micros(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use proptest::prelude::*;
    use serde_json::Value;

    use super::{Span, pack};
    use crate::model::NodeError;
    use crate::model::NodeKind;
    use crate::model::StepState;
    use crate::model::{AttemptRecord, CompensationRecord, StepRecord};
    use crate::render::fixtures::etl_report;

    fn events(json: &str) -> Vec<Value> {
        let trace: Value = serde_json::from_str(json).expect("the trace is valid JSON");
        trace["traceEvents"]
            .as_array()
            .expect("traceEvents is an array")
            .clone()
    }

    fn named<'a>(events: &'a [Value], name: &str) -> &'a Value {
        events
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no event named {name}"))
    }

    fn us(d: Option<Duration>) -> f64 {
        d.expect("recorded").as_micros() as f64
    }

    /// Complete events of one lane never overlap, whatever the lane.
    fn assert_lanes_disjoint(events: &[Value]) {
        let mut lanes: BTreeMap<(u64, u64), Vec<(f64, f64)>> = BTreeMap::new();
        for e in events.iter().filter(|e| e["ph"] == "X") {
            let key = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
            let ts = e["ts"].as_f64().unwrap();
            lanes
                .entry(key)
                .or_default()
                .push((ts, ts + e["dur"].as_f64().unwrap()));
        }
        for (lane, mut spans) in lanes {
            spans.sort_by(|a, b| a.0.total_cmp(&b.0));
            for pair in spans.windows(2) {
                assert!(pair[0].1 <= pair[1].0, "lane {lane:?} overlaps: {pair:?}");
            }
        }
    }

    #[test]
    fn etl_trace_matches_the_report() {
        let report = etl_report();
        let events = events(&report.to_chrome_trace());

        // 2 process + 3 lanes × 2 metadata, the run, and: valid, records' failed and last
        // attempts, quality, the skip of fast, totals.
        assert_eq!(events.len(), 15);
        assert_eq!(events.iter().filter(|e| e["ph"] == "M").count(), 8);
        assert!(events.iter().all(|e| e["pid"] == 1));

        let run = named(&events, "etl");
        assert_eq!(
            (run["ph"].as_str(), run["tid"].as_u64()),
            (Some("X"), Some(0))
        );
        assert_eq!(run["dur"], 7500.0);
        assert_eq!(run["args"]["state"], "COMPLETED");

        for record in report.steps.iter().filter(|r| r.failed_attempts.is_empty()) {
            if record.state == StepState::Skipped {
                continue;
            }
            let e = named(&events, &record.step);
            assert_eq!(e["ph"], "X");
            assert_eq!(e["ts"], us(record.started), "{}", record.step);
            assert_eq!(e["dur"], us(record.duration()), "{}", record.step);
            assert_eq!(e["args"]["attempt"], 1);
            assert_eq!(e["cat"], record.kind.as_str());
        }

        let records = report.step("records").unwrap();
        let failed = named(&events, "records attempt 1 failed");
        let failure = &records.failed_attempts[0];
        assert_eq!(failed["ts"], failure.started.as_micros() as f64);
        assert_eq!(
            failed["dur"],
            (failure.finished - failure.started).as_micros() as f64
        );
        assert_eq!(failed["cname"], "terrible");
        assert_eq!(failed["args"]["attempt"], 1);
        assert_eq!(
            failed["args"]["error"],
            "RESOURCE_UNAVAILABLE: connection reset"
        );
        // The last attempt starts where the failed one ended and ends with the step.
        let last = named(&events, "records");
        assert_eq!(last["ts"], failure.finished.as_micros() as f64);
        assert_eq!(
            last["ts"].as_f64().unwrap() + last["dur"].as_f64().unwrap(),
            us(records.finished)
        );
        assert_eq!(last["args"]["attempt"], 2);
        assert_eq!(last["cname"], "good");

        // `quality` ran while `records` did: side by side, not on one lane.
        let quality = named(&events, "quality");
        assert_ne!(quality["tid"], failed["tid"]);
        assert_ne!(quality["tid"], last["tid"]);

        let skip = named(&events, "fast skipped");
        assert_eq!(skip["ph"], "i");
        assert_eq!(skip["s"], "t");
        assert_eq!(skip["args"]["reason"], "condition was false");
        // Decided once wave 1 was over, i.e. when `records` ended.
        assert_eq!(skip["ts"], us(records.finished));

        assert_lanes_disjoint(&events);
        // Every lane used has a name.
        for e in events.iter().filter(|e| e["ph"] != "M") {
            assert!(
                events
                    .iter()
                    .any(|m| m["ph"] == "M" && m["name"] == "thread_name" && m["tid"] == e["tid"]),
                "lane {} has no name",
                e["tid"]
            );
        }
    }

    #[test]
    fn failed_steps_maps_compensations_and_cancellations() {
        let mut report = etl_report();
        let ms = Duration::from_millis;

        // Both attempts failed and are recorded: no third event.
        let mut save = StepRecord::new("save", "save", NodeKind::Effect, 3);
        save.state = StepState::Failed;
        save.attempts = 2;
        save.started = Some(ms(8));
        save.finished = Some(ms(11));
        save.error = Some(NodeError::transient("busy"));
        for (attempt, (from, to)) in [(1, (8, 9)), (2, (10, 11))] {
            save.failed_attempts.push(AttemptRecord {
                attempt,
                item: 0,
                started: ms(from),
                finished: ms(to),
                error: NodeError::transient("busy"),
                straggler: None,
            });
        }
        // A map whose item 2 failed once: its last event spans the whole step.
        let mut pages = StepRecord::new("pages", "fetch_page", NodeKind::Effect, 1);
        pages.state = StepState::Completed;
        pages.attempts = 4;
        pages.calls = 3;
        pages.started = Some(ms(2));
        pages.finished = Some(ms(5));
        pages.failed_attempts.push(AttemptRecord {
            attempt: 1,
            item: 2,
            started: ms(2),
            finished: ms(3),
            error: NodeError::transient("429"),
            straggler: None,
        });
        pages.compensation = Some(CompensationRecord {
            state: StepState::Completed,
            started: ms(12),
            finished: ms(13),
            error: None,
        });
        // Cancelled before it started: nothing to draw.
        let mut late = StepRecord::new("late", "late", NodeKind::Compute, 4);
        late.state = StepState::Cancelled;
        report.steps.extend([save, pages, late]);

        let events = events(&report.to_chrome_trace());
        assert_eq!(
            events
                .iter()
                .filter(|e| e["args"]["step"] == "save")
                .count(),
            2
        );
        assert!(events.iter().all(|e| e["name"] != "save failed"));

        let pages = named(&events, "pages");
        assert_eq!(
            (pages["ts"].as_f64(), pages["dur"].as_f64()),
            (Some(2000.0), Some(3000.0))
        );
        assert_eq!(pages["args"]["calls"], 3);
        assert!(pages["args"].get("attempt").is_none());
        assert_eq!(named(&events, "pages attempt 1 failed")["args"]["item"], 2);

        let undo = named(&events, "pages compensation");
        assert_eq!(
            (undo["ts"].as_f64(), undo["dur"].as_f64()),
            (Some(12000.0), Some(1000.0))
        );
        assert_eq!(undo["cat"], "compensation");
        assert_eq!(undo["cname"], "yellow");

        assert!(events.iter().all(|e| e["args"]["step"] != "late"));
        assert_lanes_disjoint(&events);
    }

    #[test]
    fn records_off_draws_the_run_only() {
        let mut report = etl_report();
        report.records = false;
        report.steps.clear();
        let events = events(&report.to_chrome_trace());
        let drawn: Vec<&Value> = events.iter().filter(|e| e["ph"] != "M").collect();
        assert_eq!(drawn.len(), 1);
        assert_eq!(drawn[0]["name"], "etl");
    }

    fn span(start: u64, len: u64) -> Span {
        Span {
            name: String::new(),
            cat: "test",
            start: Duration::from_micros(start),
            end: Some(Duration::from_micros(start + len)),
            cname: None,
            args: Default::default(),
        }
    }

    proptest! {
        /// Greedy packing in start order is optimal for intervals: it never overlaps two
        /// spans on a lane and uses as many lanes as the most spans alive at once. (Instants,
        /// the only empty spans, may take a lane of their own; they are not generated.)
        #[test]
        fn packing_never_overlaps_and_uses_the_fewest_lanes(
            raw in prop::collection::vec((0u64..1_000, 1u64..200), 0..60)
        ) {
            let spans: Vec<Span> = raw.iter().map(|&(s, l)| span(s, l)).collect();
            let (placed, lanes) = pack(spans);
            let mut by_lane: BTreeMap<usize, Vec<(Duration, Duration)>> = BTreeMap::new();
            for (span, lane) in &placed {
                by_lane.entry(*lane).or_default().push((span.start, span.last()));
            }
            for spans in by_lane.values_mut() {
                spans.sort();
                for pair in spans.windows(2) {
                    prop_assert!(pair[0].1 <= pair[1].0);
                }
            }
            let deepest = raw
                .iter()
                .map(|&(t, _)| raw.iter().filter(|&&(s, l)| s <= t && t < s + l).count())
                .max()
                .unwrap_or(0);
            prop_assert_eq!(lanes, deepest);
        }
    }
}
