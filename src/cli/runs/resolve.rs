//! `runs resolve ID STEP (--done JSON | --retry | --abort [REASON])`: an operator settles
//! a call in doubt.

use std::time::Duration;

use clap::Args;
use onex_runtime::journal::{Journal, Resolution, RunSnapshot, StepEntry};

use super::Opened;
use crate::cli::CliError;

/// How long the command holds the run's lease: enough for two writes, short enough that
/// an executor resuming right after waits little if the command dies.
const LEASE: Duration = Duration::from_secs(10);

#[derive(Args)]
#[command(group = clap::ArgGroup::new("resolution").required(true).multiple(false))]
pub(super) struct ResolveArgs {
    /// The run id.
    id: String,
    /// The step: its name or index, with `[item]` for an element of a `map` step.
    step: String,
    /// The call did happen and produced this output (JSON).
    #[arg(long, value_name = "JSON", group = "resolution", value_parser = parse_json)]
    done: Option<serde_json::Value>,
    /// The call did not happen: make it again on resume.
    #[arg(long, group = "resolution")]
    retry: bool,
    /// Give up on the call: it fails (and compensates, under that strategy) on resume.
    #[arg(
        long,
        value_name = "REASON",
        group = "resolution",
        num_args = 0..=1,
        default_missing_value = "aborted by an operator"
    )]
    abort: Option<String>,
}

fn parse_json(s: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not JSON: {e}"))
}

/// Takes the run's lease (so no live executor is racing), journals the resolution,
/// gives the lease back.
pub(super) fn execute(journal: &Opened, args: &ResolveArgs) -> Result<String, CliError> {
    let run = journal.run(&args.id)?;
    let entry = find_step(&run, &args.step)?;
    // The journal settles the forward call if it is in doubt, else its compensation.
    let compensation = !entry.is_in_doubt() && entry.is_compensation_in_doubt();
    let (resolution, said) = match (&args.done, args.retry, &args.abort) {
        (Some(output), _, _) => (
            Resolution::Done(serde_json::to_vec(output).unwrap_or_default()),
            if compensation {
                "marked done"
            } else {
                "marked done with the given output"
            },
        ),
        (None, true, _) => (Resolution::Retry, "cleared: it is made again on resume"),
        (None, false, Some(reason)) => (
            Resolution::Abort(reason.clone()),
            if compensation {
                "aborted: journaled as failed"
            } else {
                "aborted: it fails on resume"
            },
        ),
        (None, false, None) => unreachable!("clap requires one resolution"),
    };
    let what = if compensation {
        format!("the compensation of {}", entry.step)
    } else {
        entry.step.to_string()
    };
    let holder = format!("onex-cli:{}", std::process::id());
    let lease = journal.wait(|j| j.acquire_lease(&args.id, &holder, LEASE))?;
    let resolved = journal.wait(|j| j.resolve(&lease, entry.step.clone(), resolution));
    // Give the run back either way, so an executor may resume it at once.
    let released = journal.wait(|j| j.release_lease(&lease));
    resolved?;
    released?;
    Ok(format!("run `{}`: {what} {said}\n", args.id))
}

/// The journaled call `given` names: `charge`, `2`, `fetch[3]` or `1[3]`.
fn find_step<'r>(run: &'r RunSnapshot, given: &str) -> Result<&'r StepEntry, CliError> {
    let unknown = |why: String| CliError::UnknownStep {
        run_id: run.record.run_id.clone(),
        step: given.to_owned(),
        why,
    };
    let (name, item) = match given.strip_suffix(']').and_then(|s| s.split_once('[')) {
        Some((name, item)) => {
            let item = item
                .parse::<u32>()
                .map_err(|_| unknown(format!("`{item}` is not an item number")))?;
            (name, Some(item))
        }
        None => (given, None),
    };
    let index = name.parse::<u32>().ok();
    let named = |e: &&StepEntry| Some(e.step.index) == index || &*e.step.name == name;
    let matching: Vec<&StepEntry> = run.steps.iter().filter(named).collect();
    if matching.is_empty() {
        let known: Vec<String> = run.steps.iter().map(|e| e.step.to_string()).collect();
        return Err(unknown(if known.is_empty() {
            "the run has no journaled calls".to_owned()
        } else {
            format!("journaled calls: {}", known.join(", "))
        }));
    }
    let calls: Vec<&StepEntry> = match item {
        Some(item) => matching
            .into_iter()
            .filter(|e| e.step.item == Some(item))
            .collect(),
        // A `map` step: the one element in doubt, if there is one.
        None if matching.len() > 1 => {
            let in_doubt: Vec<&StepEntry> = matching
                .iter()
                .copied()
                .filter(|e| e.is_in_doubt() || e.is_compensation_in_doubt())
                .collect();
            if in_doubt.len() == 1 {
                in_doubt
            } else {
                matching
            }
        }
        None => matching,
    };
    match calls.as_slice() {
        [one] => Ok(one),
        [] => Err(unknown("no such item is journaled".to_owned())),
        many => {
            let names: Vec<String> = many.iter().map(|e| e.step.to_string()).collect();
            Err(unknown(format!(
                "it names several calls ({}); add `[item]`",
                names.join(", ")
            )))
        }
    }
}
