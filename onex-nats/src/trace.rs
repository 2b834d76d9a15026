//! Trace context across processes: the `traceparent` a remote call carries, the spans
//! workers report back, and a Perfetto timeline of a run with its workers' tracks.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use onex_runtime::WorkflowReport;
use serde_json::{Value, json};
use uuid::Uuid;

/// One attempt of a remote call, as the worker that ran it reported it.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use onex_nats::RemoteSpan;
///
/// let span = RemoteSpan {
///     step: "charge".into(),
///     item: 0,
///     attempt: 1,
///     node_type: "Charge".into(),
///     thunk_id: uuid::Uuid::new_v4(),
///     worker: "host-b-311".into(),
///     delivery: 1,
///     started_at: SystemTime::now(),
///     duration: Duration::from_millis(3),
///     traceparent: None,
/// };
/// assert_eq!(span.worker, "host-b-311");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpan {
    /// The step's name.
    pub step: String,
    /// The element of a `map` step (0 for other steps).
    pub item: usize,
    /// The step's attempt, as the run's report counts them.
    pub attempt: u32,
    /// The node type the worker ran.
    pub node_type: String,
    /// The attempt's thunk.
    pub thunk_id: Uuid,
    /// The worker that ran it (its track in the trace).
    pub worker: String,
    /// The server's delivery that settled it: more than 1 after a worker died holding it.
    pub delivery: u32,
    /// When the node started, on the worker's clock.
    pub started_at: SystemTime,
    /// How long the node ran.
    pub duration: Duration,
    /// The W3C trace context the worker received with the thunk.
    pub traceparent: Option<String>,
}

/// The W3C `traceparent` of a remote call: version 00, the run's id as the trace id, the
/// thunk's first 8 bytes as the parent span id, sampled.
pub(crate) fn traceparent(workflow_id: Uuid, thunk_id: Uuid) -> String {
    let span = &thunk_id.simple().to_string()[..16];
    format!("00-{}-{span}-01", workflow_id.simple())
}

/// The run's timeline ([`WorkflowReport::to_chrome_trace_value`]) with its workers'
/// spans: one process per worker, after the run's (pid 1), named `worker <name>`, its
/// spans packed onto lanes so that overlapping ones sit side by side. Each span is named
/// after its step (`step[item]` for a `map` element) and carries the thunk, node type,
/// attempt and delivery in `args`. Times are placed by the run's `started_at`, so they are
/// as exact as the worker's clock agrees with the orchestrator's.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use onex_nats::{RemoteSpan, chrome_trace};
/// use onex_runtime::WorkflowReport;
///
/// let report = WorkflowReport::empty("orders");
/// let span = RemoteSpan {
///     step: "charge".into(),
///     item: 0,
///     attempt: 1,
///     node_type: "Charge".into(),
///     thunk_id: uuid::Uuid::new_v4(),
///     worker: "w1".into(),
///     delivery: 1,
///     started_at: report.started_at + Duration::from_millis(2),
///     duration: Duration::from_millis(3),
///     traceparent: None,
/// };
/// let trace = chrome_trace(&report, &[span]);
/// let events = trace["traceEvents"].as_array().unwrap();
/// let charge = events.iter().find(|e| e["name"] == "charge").unwrap();
/// assert_eq!((charge["pid"].as_u64(), charge["ts"].as_f64()), (Some(2), Some(2000.0)));
/// assert!(events.iter().any(|e| e["args"]["name"] == "worker w1"));
/// ```
pub fn chrome_trace(report: &WorkflowReport, spans: &[RemoteSpan]) -> Value {
    let mut trace = report.to_chrome_trace_value();
    let mut by_worker: BTreeMap<&str, Vec<&RemoteSpan>> = BTreeMap::new();
    for span in spans {
        by_worker.entry(&span.worker).or_default().push(span);
    }
    let Some(events) = trace["traceEvents"].as_array_mut() else {
        return trace;
    };
    for (i, (worker, mut spans)) in by_worker.into_iter().enumerate() {
        let pid = 2 + i;
        events.push(json!({
            "name": "process_name", "ph": "M", "pid": pid, "tid": 0,
            "args": { "name": format!("worker {worker}") },
        }));
        events.push(json!({
            "name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0,
            "args": { "sort_index": pid },
        }));
        spans.sort_by_key(|s| s.started_at);
        // Greedy lanes: a span goes on the first lane free at its start.
        let mut free_at: Vec<SystemTime> = Vec::new();
        for span in spans {
            let lane = match free_at.iter().position(|&f| f <= span.started_at) {
                Some(lane) => lane,
                None => {
                    free_at.push(span.started_at);
                    free_at.len() - 1
                }
            };
            free_at[lane] = span.started_at + span.duration;
            let offset = span
                .started_at
                .duration_since(report.started_at)
                .unwrap_or_default();
            let name = if span.item > 0 || report.step(&span.step).is_some_and(|s| s.calls > 1) {
                format!("{}[{}]", span.step, span.item)
            } else {
                span.step.clone()
            };
            events.push(json!({
                "name": name, "cat": "remote", "ph": "X",
                "ts": micros(offset), "dur": micros(span.duration), "pid": pid, "tid": lane,
                "args": {
                    "thunk_id": span.thunk_id.to_string(),
                    "node_type": span.node_type,
                    "attempt": span.attempt,
                    "delivery": span.delivery,
                },
            }));
        }
    }
    trace
}

fn micros(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_is_w3c_shaped_with_the_run_as_the_trace() {
        let run = Uuid::new_v4();
        let parent = traceparent(run, Uuid::new_v4());
        let parts: Vec<&str> = parent.split('-').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!((parts[0], parts[3]), ("00", "01"));
        assert_eq!(parts[1], run.simple().to_string());
        assert_eq!(parts[2].len(), 16);
    }
}
