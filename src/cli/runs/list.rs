//! `runs list`: the runs in the journal, oldest first.

use clap::Args;
use onex_runtime::journal::{Journal, RunFilter, RunStatus};

use super::{Opened, utc};
use crate::cli::CliError;

#[derive(Args)]
pub(super) struct ListArgs {
    /// Only runs with this status: running, in_doubt, compensating, completed,
    /// partial_success, failed, cancelled.
    #[arg(long, value_name = "S", value_parser = parse_status)]
    status: Option<RunStatus>,
    /// Only runs of this workflow.
    #[arg(long, value_name = "W")]
    workflow: Option<String>,
    /// At most this many runs (the oldest).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

/// A status as the user types it: any case, `-` or `_`.
pub(super) fn parse_status(s: &str) -> Result<RunStatus, String> {
    s.to_ascii_uppercase()
        .replace('-', "_")
        .parse()
        .map_err(|e| format!("{e}"))
}

/// A table of id, workflow, status, started, updated and steps (calls done of those
/// journaled), or a line saying there is none.
pub(super) fn execute(journal: &Opened, args: &ListArgs) -> Result<String, CliError> {
    let mut filter = RunFilter::all();
    filter.workflow.clone_from(&args.workflow);
    match args.status {
        // The journal filters by finished or not; the status itself is checked here, so
        // the limit applies after it.
        Some(status) => filter.unfinished_only = !status.is_finished(),
        None => filter.limit = args.limit,
    }
    let mut runs = journal.wait(|j| j.list_runs(&filter))?;
    if let Some(status) = args.status {
        runs.retain(|r| r.status == status);
        runs.truncate(args.limit.unwrap_or(usize::MAX));
    }
    if runs.is_empty() {
        return Ok(format!("no runs in {}\n", journal.path.display()));
    }
    let mut lines =
        vec![["id", "workflow", "status", "started", "updated", "steps"].map(String::from)];
    for record in runs {
        // A run pruned between the listing and this read has no steps left to count.
        let snapshot = journal.wait(|j| j.load_run(&record.run_id))?;
        let (done, journaled) = snapshot.map_or((0, 0), |s| {
            let done = s.steps.iter().filter(|e| e.output().is_some()).count();
            (done, s.steps.len())
        });
        lines.push([
            record.run_id,
            record.workflow,
            record.status.to_string(),
            utc(record.created_at),
            utc(record.updated_at),
            format!("{done}/{journaled}"),
        ]);
    }
    let mut text = String::new();
    // Writing to a String cannot fail.
    let right = [false, false, false, false, false, true];
    let _ = onex_runtime::__internal::write_columns(&mut text, &lines, &right);
    Ok(text)
}
