//! Pictures of a journaled run ([`RunSnapshot`]): the step table `Display` prints, and
//! [`RunSnapshot::to_chrome_trace_value`], its timeline across the processes that worked
//! on it. They are drawn from the journal alone, so they work for a run whose process is
//! gone: the operator's view of durable runs (`runs show`, `runs trace`).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::chrome_trace::{Span, pack, push_process, push_spans, trace_document};
use super::table::{duration, write_columns};
use crate::journal::{CallState, Intent, RunSnapshot, StepEntry};

/// The call's state in the table's words, lower case like the report's.
fn state(entry: &StepEntry) -> &'static str {
    match entry.state() {
        CallState::Completed => "completed",
        CallState::Failed => "failed",
        CallState::InDoubt => "in doubt",
        CallState::ToRetry => "to retry",
    }
}

fn took(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// A time as operators read it in logs: RFC 3339 in UTC, to the second.
fn utc(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn note(entry: &StepEntry) -> String {
    let mut parts = Vec::new();
    if let Some(Err(error)) = entry.outcome.as_ref().map(|o| &o.result) {
        parts.push(error.to_string());
    }
    if let (Some(intent), None) = (&entry.intent, &entry.outcome) {
        parts.push(format!(
            "attempt {} started {}, no outcome",
            intent.attempt,
            utc(intent.at)
        ));
    }
    match (&entry.compensation_intent, &entry.compensation_outcome) {
        (_, Some(outcome)) => match &outcome.result {
            Ok(()) => parts.push(match &entry.compensation_intent {
                Some(intent) => format!("compensated in {}", duration(took(intent.at, outcome.at))),
                None => "compensated".to_owned(),
            }),
            Err(error) => parts.push(format!("compensation failed: {error}")),
        },
        (Some(_), None) => parts.push("compensation in doubt".to_owned()),
        (None, None) => {}
    }
    parts.join("; ")
}

/// The table of a journaled run's step calls in step order — index, step, state
/// (`completed`, `failed`, `in doubt`, `to retry`), attempts, duration (intent to outcome),
/// the holder that made the call, and a note with the error, the in-doubt attempt and the
/// compensation — laid out like a run's report, then a summary line with the status, the
/// counts, the times and the lease.
///
/// # Examples
///
/// ```
/// use onex::journal::{Journal, MemoryJournal, NewRun, StepKey};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), onex::journal::JournalError> {
/// let journal = MemoryJournal::new();
/// let started = journal.start_run(NewRun::new("r1", "Orders", vec![]), "host-a", Duration::from_secs(30)).await?;
/// let lease = started.lease().unwrap();
/// journal.record_intent(lease, StepKey::new(0, "charge"), 1).await?;
///
/// let table = journal.load_run("r1").await?.unwrap().to_string();
/// assert!(table.starts_with("#  step    state     attempts  duration  holder  note\n0  charge  in doubt         1         -  host-a  attempt 1 started "));
/// assert!(table.contains("Orders r1 RUNNING: 0 steps completed, 0 failed, 1 in doubt; created "));
/// # Ok(()) }
/// ```
impl fmt::Display for RunSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = [
            "#", "step", "state", "attempts", "duration", "holder", "note",
        ];
        let mut lines: Vec<Vec<String>> = vec![header.map(String::from).to_vec()];
        for entry in &self.steps {
            let attempts = entry
                .outcome
                .as_ref()
                .map(|o| o.attempts)
                .or(entry.intent.as_ref().map(|i| i.attempt));
            let took = match (&entry.intent, &entry.outcome) {
                (Some(intent), Some(outcome)) => duration(took(intent.at, outcome.at)),
                _ => "-".to_owned(),
            };
            lines.push(vec![
                entry.step.index.to_string(),
                entry.step.call_name(),
                state(entry).to_owned(),
                attempts.map_or_else(|| "-".to_owned(), |a| a.to_string()),
                took,
                holder(entry.intent.as_ref()).to_owned(),
                note(entry),
            ]);
        }
        if lines.iter().skip(1).all(|l| l[6].is_empty()) {
            for line in &mut lines {
                line.pop();
            }
        }
        write_columns(f, &lines, &[true, false, false, true, true, false, false])?;

        let count = |s: CallState| self.steps.iter().filter(|e| e.state() == s).count();
        let completed = count(CallState::Completed);
        let record = &self.record;
        write!(
            f,
            "{} {} {}: {} {} completed, {} failed, {} in doubt; created {}, updated {}",
            record.workflow,
            record.run_id,
            record.status,
            completed,
            if completed == 1 { "step" } else { "steps" },
            count(CallState::Failed),
            count(CallState::InDoubt),
            utc(record.created_at),
            utc(record.updated_at),
        )?;
        if let Some(holder) = record.lease.holder.as_deref()
            && !record.status.is_finished()
        {
            write!(f, "; leased to {holder} until {}", utc(record.lease.until))?;
        }
        Ok(())
    }
}

fn holder(intent: Option<&Intent>) -> &str {
    intent.and_then(|i| i.holder.as_deref()).unwrap_or("-")
}

impl RunSnapshot {
    /// The run's timeline as Trace Event JSON (`{"traceEvents": [...]}`) for Perfetto or
    /// `chrome://tracing`, drawn from the journal: one process per holder that made calls
    /// of the run (in the order they first did), so a run resumed by another process after
    /// a crash shows both.
    ///
    /// Times are microseconds from the run's creation. In each holder's process, thread 0
    /// spans its calls from the first start to the last end, and the calls are packed on
    /// lanes 1, 2, ... so that calls that overlapped sit side by side:
    ///
    /// - a call with an outcome is a complete event (`"ph": "X"`) from its intent to its
    ///   outcome, named after the step (`step[item]` for a `map` element), `"<step> failed"`
    ///   and colored `terrible` when it failed; `args` hold the step index, the attempt
    ///   and the error;
    /// - a call in doubt is an instant event (`"ph": "i"`) `"<step> in doubt"` at its intent;
    /// - a compensation is a complete event `"<step> compensation"`, category
    ///   `compensation`, on the process of the holder that made it.
    ///
    /// The journal keeps each call's latest attempt, so earlier attempts are not drawn.
    /// Intents journaled before holders were recorded are drawn under `unknown holder`.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::journal::{Journal, MemoryJournal, NewRun, StepKey};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), onex::journal::JournalError> {
    /// let journal = MemoryJournal::new();
    /// let ttl = Duration::from_secs(30);
    /// let lease = journal.start_run(NewRun::new("r1", "Orders", vec![]), "host-a", ttl).await?.lease().unwrap().clone();
    /// journal.record_intent(&lease, StepKey::new(0, "charge"), 1).await?;
    /// journal.record_outcome(&lease, StepKey::new(0, "charge"), Ok(b"1".to_vec()), 1).await?;
    ///
    /// let trace = journal.load_run("r1").await?.unwrap().to_chrome_trace_value();
    /// let events = trace["traceEvents"].as_array().unwrap();
    /// assert!(events.iter().any(|e| e["name"] == "process_name" && e["args"]["name"] == "Orders r1 · host-a"));
    /// assert!(events.iter().any(|e| e["name"] == "charge" && e["ph"] == "X"));
    /// # Ok(()) }
    /// ```
    pub fn to_chrome_trace_value(&self) -> Value {
        let epoch = self.record.created_at;
        let at = |t: SystemTime| took(epoch, t);
        // Holders in the order they first started a call.
        let mut holders: Vec<(Option<Arc<str>>, Vec<Span>)> = Vec::new();
        let mut calls: Vec<(&Intent, Span)> = Vec::new();
        for entry in &self.steps {
            let mut args = Map::new();
            args.insert("step".into(), entry.step.name.as_ref().into());
            args.insert("index".into(), entry.step.index.into());
            if let Some(item) = entry.step.item {
                args.insert("item".into(), item.into());
            }
            if let Some(intent) = &entry.intent {
                let mut args = args.clone();
                args.insert("attempt".into(), intent.attempt.into());
                let (name, end, cname) = match &entry.outcome {
                    Some(outcome) => {
                        args.insert("attempts".into(), outcome.attempts.into());
                        match &outcome.result {
                            Ok(_) => (entry.step.call_name(), Some(at(outcome.at)), None),
                            Err(error) => {
                                args.insert("error".into(), error.to_string().into());
                                let name = format!("{} failed", entry.step.call_name());
                                (name, Some(at(outcome.at)), Some("terrible"))
                            }
                        }
                    }
                    None => (
                        format!("{} in doubt", entry.step.call_name()),
                        None,
                        Some("yellow"),
                    ),
                };
                let start = at(intent.at);
                let span = Span {
                    name,
                    cat: "call",
                    start,
                    end: end.map(|e| e.max(start)),
                    cname,
                    args,
                };
                calls.push((intent, span));
            }
            if let Some(intent) = &entry.compensation_intent {
                let mut args = args;
                args.insert("attempt".into(), intent.attempt.into());
                let (end, cname) = match &entry.compensation_outcome {
                    Some(outcome) => {
                        if let Err(error) = &outcome.result {
                            args.insert("error".into(), error.to_string().into());
                        }
                        let failed = outcome.result.is_err();
                        let cname = if failed { "terrible" } else { "yellow" };
                        (Some(at(outcome.at)), cname)
                    }
                    None => (None, "yellow"),
                };
                let start = at(intent.at);
                let span = Span {
                    name: format!("{} compensation", entry.step.call_name()),
                    cat: "compensation",
                    start,
                    end: end.map(|e| e.max(start)),
                    cname: Some(cname),
                    args,
                };
                calls.push((intent, span));
            }
        }
        calls.sort_by_key(|(intent, _)| intent.at);
        for (intent, span) in calls {
            match holders.iter_mut().find(|(h, _)| *h == intent.holder) {
                Some((_, spans)) => spans.push(span),
                None => holders.push((intent.holder.clone(), vec![span])),
            }
        }

        let mut events = Vec::new();
        for (pid, (holder, spans)) in holders.into_iter().enumerate() {
            let pid = pid + 1;
            let holder = holder.as_deref().unwrap_or("unknown holder");
            let first = spans.iter().map(|s| s.start).min().unwrap_or_default();
            let last = spans.iter().map(Span::last).max().unwrap_or_default();
            let (placed, lanes) = pack(spans);
            let name = format!("{} {} · {holder}", self.record.workflow, self.record.run_id);
            push_process(&mut events, pid, &name, "holder", lanes);
            let mut args = Map::new();
            args.insert("holder".into(), holder.into());
            args.insert("run_id".into(), self.record.run_id.as_str().into());
            args.insert("status".into(), self.record.status.as_str().into());
            let whole = Span {
                name: holder.to_owned(),
                cat: "holder",
                start: first,
                end: Some(last),
                cname: None,
                args,
            };
            push_spans(&mut events, pid, Duration::ZERO, vec![(whole, 0)]);
            let placed = placed.into_iter().map(|(span, lane)| (span, lane + 1));
            push_spans(&mut events, pid, Duration::ZERO, placed.collect());
        }
        trace_document(events)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use crate::NodeError;
    use crate::journal::{Journal, ManualClock, MemoryJournal, NewRun, Resolution, StepKey};

    const TTL: Duration = Duration::from_secs(30);

    /// A run started by `host-a`, which completed `parse`, failed `check`, and crashed
    /// during `charge`; `host-b` took over, retried `charge` and compensated `parse`.
    async fn crashed_and_resumed(clock: &ManualClock) -> crate::journal::RunSnapshot {
        let journal = MemoryJournal::with_clock(clock.clone());
        let ms = Duration::from_millis;
        let a = journal
            .start_run(NewRun::new("r1", "Orders", vec![]), "host-a", TTL)
            .await
            .unwrap()
            .lease()
            .unwrap()
            .clone();
        let (parse, check, charge) = (
            StepKey::new(0, "parse"),
            StepKey::new(1, "check"),
            StepKey::new(2, "charge"),
        );
        journal.record_intent(&a, parse.clone(), 1).await.unwrap();
        clock.advance(ms(2));
        journal
            .record_outcome(&a, parse.clone(), Ok(b"1".to_vec()), 1)
            .await
            .unwrap();
        journal.record_intent(&a, check.clone(), 1).await.unwrap();
        journal.record_intent(&a, charge.clone(), 1).await.unwrap();
        clock.advance(ms(3));
        journal
            .record_outcome(&a, check, Err(NodeError::permanent("bad sku")), 1)
            .await
            .unwrap();
        // host-a dies; its lease expires.
        clock.advance(TTL + ms(1));
        let b = journal.acquire_lease("r1", "host-b", TTL).await.unwrap();
        journal
            .resolve(&b, charge.clone(), Resolution::Retry)
            .await
            .unwrap();
        journal.record_intent(&b, charge.clone(), 2).await.unwrap();
        clock.advance(ms(4));
        journal
            .record_outcome(&b, charge, Err(NodeError::permanent("declined")), 2)
            .await
            .unwrap();
        journal
            .record_compensation_intent(&b, parse.clone(), 1)
            .await
            .unwrap();
        clock.advance(ms(1));
        journal
            .record_compensation_outcome(&b, parse, Ok(()), 1)
            .await
            .unwrap();
        journal.load_run("r1").await.unwrap().unwrap()
    }

    fn snapshot() -> (ManualClock, crate::journal::RunSnapshot) {
        let clock = ManualClock::new();
        let run = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(crashed_and_resumed(&clock));
        (clock, run)
    }

    #[test]
    fn the_table_shows_each_call_with_its_holder() {
        let (_, run) = snapshot();
        let table = run.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[..4],
            [
                "#  step    state      attempts  duration  holder  note",
                "0  parse   completed         1    2.00ms  host-a  compensated in 1.00ms",
                "1  check   failed            1    3.00ms  host-a  OPERATION_FAILED: bad sku",
                "2  charge  failed            2    4.00ms  host-b  OPERATION_FAILED: declined",
            ]
        );
        assert!(
            lines[4].starts_with("Orders r1 RUNNING: 1 step completed, 2 failed, 0 in doubt; "),
            "{}",
            lines[4]
        );
        assert!(
            lines[4].contains("; leased to host-b until "),
            "{}",
            lines[4]
        );
    }

    #[test]
    fn the_trace_has_a_process_per_holder() {
        let (_, run) = snapshot();
        let trace = run.to_chrome_trace_value();
        let events = trace["traceEvents"].as_array().unwrap();
        let process = |name: &str| {
            events
                .iter()
                .find(|e| e["name"] == "process_name" && e["args"]["name"] == name)
                .unwrap_or_else(|| panic!("no process {name}"))["pid"]
                .as_u64()
                .unwrap()
        };
        let (a, b) = (process("Orders r1 · host-a"), process("Orders r1 · host-b"));
        assert_ne!(a, b);
        let event = |name: &str| -> &Value {
            events
                .iter()
                .find(|e| e["name"] == name)
                .unwrap_or_else(|| panic!("no event {name}"))
        };
        let parse = event("parse");
        assert_eq!(
            (parse["pid"].as_u64(), parse["ts"].as_f64()),
            (Some(a), Some(0.0))
        );
        assert_eq!(parse["dur"], 2000.0);
        assert_eq!(event("check failed")["pid"].as_u64(), Some(a));
        assert_eq!(
            event("check failed")["args"]["error"],
            "OPERATION_FAILED: bad sku"
        );
        // `check` and the first `charge` overlapped on host-a; the retried charge is
        // host-b's, and host-a's in-doubt attempt is not kept.
        let charge = event("charge failed");
        assert_eq!(charge["pid"].as_u64(), Some(b));
        assert_eq!(charge["args"]["attempt"], 2);
        assert_eq!(charge["dur"], 4000.0);
        let undo = event("parse compensation");
        assert_eq!(
            (undo["pid"].as_u64(), undo["cat"].as_str()),
            (Some(b), Some("compensation"))
        );
        // Each holder's thread 0 spans its calls.
        let whole = event("host-b");
        assert_eq!(whole["tid"], 0);
        assert_eq!(whole["ts"], charge["ts"]);
    }

    #[test]
    fn an_in_doubt_call_is_an_instant() {
        let clock = ManualClock::new();
        let run = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let journal = MemoryJournal::with_clock(clock.clone());
                let lease = journal
                    .start_run(NewRun::new("r2", "Orders", vec![]), "host-a", TTL)
                    .await
                    .unwrap()
                    .lease()
                    .unwrap()
                    .clone();
                clock.advance(Duration::from_millis(5));
                journal
                    .record_intent(&lease, StepKey::new(0, "charge").item(3), 1)
                    .await
                    .unwrap();
                journal.load_run("r2").await.unwrap().unwrap()
            });
        let trace = run.to_chrome_trace_value();
        let doubt = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "charge[3] in doubt")
            .expect("the in-doubt call is drawn");
        assert_eq!(
            (doubt["ph"].as_str(), doubt["ts"].as_f64()),
            (Some("i"), Some(5000.0))
        );
        assert_eq!(doubt["args"]["item"], 3);
    }
}
