//! `runs show ID`: a run's step calls and journaled payloads.

use std::fmt::Write as _;

use clap::Args;
use onex_runtime::journal::{Intent, Outcome, RunSnapshot, StepEntry};
use serde_json::{Value, json};

use super::{Opened, payload};
use crate::cli::{CliError, to_json};

#[derive(Args)]
pub(super) struct ShowArgs {
    /// The run id.
    id: String,
    /// Print everything journaled as one JSON document instead.
    #[arg(long)]
    json: bool,
}

/// The step table, the input and each completed call's output; or with `--json` all of
/// it, times and errors included, as one document.
pub(super) fn execute(journal: &Opened, args: &ShowArgs) -> Result<String, CliError> {
    let run = journal.run(&args.id)?;
    if args.json {
        let mut text = to_json(&document(&run));
        text.push('\n');
        return Ok(text);
    }
    let mut text = format!("{run}\ninput: {}\n", compact(&payload(&run.input)));
    let outputs: Vec<&StepEntry> = run.steps.iter().filter(|e| e.output().is_some()).collect();
    if !outputs.is_empty() {
        text.push_str("outputs:\n");
        for entry in outputs {
            let output = payload(entry.output().unwrap_or_default());
            let _ = writeln!(text, "  {}: {}", entry.step.call_name(), compact(&output));
        }
    }
    Ok(text)
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("<not JSON: {e}>"))
}

/// Everything journaled about the run, as JSON.
fn document(run: &RunSnapshot) -> Value {
    let record = &run.record;
    let lease = record.lease.holder.as_deref().map(|holder| {
        json!({ "holder": holder, "token": record.lease.token, "until": utc(record.lease.until) })
    });
    json!({
        "run_id": record.run_id,
        "workflow": record.workflow,
        "status": record.status,
        "created_at": utc(record.created_at),
        "updated_at": utc(record.updated_at),
        "lease": lease,
        "fingerprint": run.fingerprint.digest,
        "input": payload(&run.input),
        "steps": run.steps.iter().map(step).collect::<Vec<_>>(),
    })
}

fn step(entry: &StepEntry) -> Value {
    let mut value = json!({
        "index": entry.step.index,
        "step": entry.step.name.as_ref(),
        "item": entry.step.item,
        "state": entry.state(),
        "intent": entry.intent.as_ref().map(intent),
        "outcome": entry.outcome.as_ref().map(|o| outcome(o, o.result.as_ref().ok().map(|b| payload(b)))),
    });
    if let Some(i) = &entry.compensation_intent {
        value["compensation"] = json!({
            "intent": intent(i),
            "outcome": entry.compensation_outcome.as_ref().map(|o| outcome(o, None)),
        });
    }
    value
}

fn intent(intent: &Intent) -> Value {
    json!({ "attempt": intent.attempt, "at": utc(intent.at), "holder": intent.holder.as_deref() })
}

fn outcome<T>(outcome: &Outcome<T>, output: Option<Value>) -> Value {
    let mut value = json!({ "attempts": outcome.attempts, "at": utc(outcome.at) });
    match &outcome.result {
        Ok(_) => {
            if let Some(output) = output {
                value["output"] = output;
            }
        }
        Err(error) => value["error"] = json!(error),
    }
    value
}

/// Times in JSON keep their milliseconds, which is what the journal stores.
fn utc(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}
